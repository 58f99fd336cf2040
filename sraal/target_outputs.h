// What the selection baselines read from the trained target model: for a list of items, the
// penultimate features (N, d) and the logits (N, C), in eval mode, on the model's device, and
// the uncertainty of the mean of T stochastic passes through the dropout before the classifier.
//
//   mc_dropout_scores(model, features, passes, p, gen)
//     per item, with p_t = softmax(classifier(dropout_p(f))) for t = 1..T (inverted dropout,
//     masks from `gen`) and pbar = mean_t p_t:
//       entropy = H(pbar)                        (predictive entropy, natural log)
//       bald    = H(pbar) - mean_t H(p_t)        (mutual information, >= 0: rounding clamped)
//     The features are computed once: the backbone is deterministic in eval mode, so the T
//     passes through dropout and the classifier equal T passes of the whole network.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/random.h"
#include "layers/feature_classifier.h"
#include "sraal/strategy.h"

namespace sr {

// The target as a FeatureClassifier; ValueError naming `method` and the model otherwise.
FeatureClassifier& feature_classifier(Module& target, const std::string& method);

struct TargetOutputs {
  Tensor features;  // (N, d)
  Tensor logits;    // (N, C)
};
// With a group: computed over its ranks, every rank gets all rows (over_shares).
TargetOutputs target_outputs(Module& target, const Dataset& ds, const std::vector<int64_t>& items,
                             const std::string& method, Device device,
                             const ProgressFn& progress = {}, const ProcessGroup* group = nullptr);

struct DropoutScores {
  Tensor entropy, bald;  // (N) float32
};
// With a group of several ranks (every rank holding all the features), each computes the passes
// of its share of the rows, drawing the masks that one process draws for those rows, and every
// rank gets all the scores (over_block_shares): the one-process scores.
DropoutScores mc_dropout_scores(FeatureClassifier& model, const Tensor& features, int64_t passes,
                                float p, Generator& gen, const ProcessGroup* group = nullptr);

// H(p) = -sum_c p_c log p_c over dim 1 of probabilities (N, C, ...): (N, ...); 0 log 0 = 0.
Tensor class_entropy(const Tensor& p);

// The T passes of MC-dropout through `head` (logits, classes in dim 1): with
// p_t = softmax(head(dropout_p(f)), 1), H(pbar) and mean_t H(p_t), each (N, ...) per position.
// Both the classification and the per-pixel segmentation scores are built from these.
struct DropoutEntropies {
  Tensor of_mean, mean;  // H(pbar), mean_t H(p_t)
};
DropoutEntropies dropout_entropies(const std::function<Tensor(const Tensor&)>& head,
                                   const Tensor& f, int64_t passes, float p, Generator& gen);

// BADGE's k-means++ seeding (strategy_badge.cpp) on the rows of features (N, d) and logits
// (N, C): `budget` distinct row positions in the order picked. With a group of several ranks
// (every rank holding all the rows), each updates the distances of its contiguous share of the
// rows and the shares are gathered before each draw: the picks of one process, bit for bit.
std::vector<int64_t> badge_picks(const Tensor& features, const Tensor& logits, int64_t budget,
                                 uint64_t seed, const ProcessGroup* group = nullptr);

// The `budget` items of `items` with the highest `scores` (N), highest first, ties by position;
// their scores, in that order, into `chosen_scores` when given (SelectionInput::scores).
std::vector<int64_t> items_with_highest(const std::vector<int64_t>& items, const Tensor& scores,
                                        int64_t budget,
                                        std::vector<double>* chosen_scores = nullptr);

}  // namespace sr
