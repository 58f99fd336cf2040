// A committee of segmentation models for QBC and Suggestive Annotation: members trained by the
// experiment's SelectionInput::train_model on D_L (QBC, from different initial weights) or on
// bootstrap samples of D_L (SA), and their outputs per item of a list, in eval mode:
//   vote_entropy(members, items)   (N): per pixel, v_c = (members voting c by argmax) / M and
//                                  VE = -sum_c v_c log v_c; averaged over the pixels
//   ensemble_outputs(members, items):
//     uncertainty (N)      per pixel and class the standard deviation over the members of the
//                          softmax probability, averaged over the classes and pixels (SA's
//                          bootstrap uncertainty)
//     features    (M, N, d) each member's encoder map averaged over its positions, L2-normalised
// With a group of several ranks, each computes the outputs of its share of the items and every
// rank gets them all (over_shares), as with one process up to the shares' batch sizes.
#pragma once

#include <memory>
#include <vector>

#include "sraal/strategy.h"

namespace sr {

// `count` members trained on the given item lists; progress as "training member k/M".
std::vector<std::shared_ptr<Module>> train_committee(const SelectionInput& in,
                                                     const std::vector<std::vector<int64_t>>& pools,
                                                     const std::string& method);

Tensor vote_entropy(const std::vector<Module*>& members, const Dataset& ds,
                    const std::vector<int64_t>& items, Device device,
                    const ProgressFn& progress = {}, const ProcessGroup* group = nullptr);

struct EnsembleOutputs {
  Tensor uncertainty;  // (N)
  Tensor features;     // (M, N, d), rows of unit length
};
EnsembleOutputs ensemble_outputs(const std::vector<Module*>& members, const Dataset& ds,
                                 const std::vector<int64_t>& items, Device device,
                                 const ProgressFn& progress = {},
                                 const ProcessGroup* group = nullptr);

}  // namespace sr
