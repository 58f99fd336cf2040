// What the segmentation selection methods read from the trained target model (a
// FeatureSegmenter, DRN-D-22), per item of a list, in eval mode:
//   features            (N, d)  the encoder's map (N, d, h, w) averaged over its h*w positions
//   mean_probabilities  (N, C)  the per-pixel softmax averaged over the H*W pixels (SRAAL's
//                               prediction vector for segmentation, paper section 3.3)
//   mean_entropy        (N)     the per-pixel entropy H(softmax) averaged over the pixels
// and the per-pixel MC-dropout scores, averaged over the pixels of each item:
//   with p_t = softmax(head(dropout_p(f)))[:, :, y, x] for t = 1..T and pbar their mean,
//     entropy = mean_pixels H(pbar),   bald = mean_pixels (H(pbar) - mean_t H(p_t))
//   The encoder runs once per item (deterministic in eval mode); the T passes go through the
//   dropout, the 1x1 classifier and the upsampling at full resolution.
// Entropies in nats; 0 log 0 = 0.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/random.h"
#include "layers/feature_segmenter.h"
#include "sraal/strategy.h"
#include "sraal/target_outputs.h"

namespace sr {

// The target as a FeatureSegmenter; ValueError naming `method` and the model otherwise.
FeatureSegmenter& feature_segmenter(Module& target, const std::string& method);

// On the device the target ran on (only the selection's picks reach the host).
struct SegmentationOutputs {
  Tensor features;            // (N, d)
  Tensor mean_probabilities;  // (N, C)
  Tensor mean_entropy;        // (N)
};
// With a group: computed over its ranks, every rank gets all rows (over_shares).
SegmentationOutputs segmentation_outputs(Module& target, const Dataset& ds,
                                         const std::vector<int64_t>& items,
                                         const std::string& method, Device device,
                                         const ProgressFn& progress = {},
                                         const ProcessGroup* group = nullptr);

// Per-pixel entropy of probabilities (N, C, H, W) over C, averaged over the pixels: (N).
Tensor mean_pixel_entropy(const Tensor& probs);

// With a group of several ranks, each runs the encoder and the passes on its share of the items
// (whole batches), drawing the masks one process draws for them, and every rank gets all the
// scores (over_block_shares): the one-process scores up to the encoder's blocking.
DropoutScores segmentation_mc_dropout_scores(Module& target, const Dataset& ds,
                                             const std::vector<int64_t>& items, int64_t passes,
                                             float p, Generator& gen, Device device,
                                             const ProgressFn& progress = {},
                                             const ProcessGroup* group = nullptr);

}  // namespace sr
