// Pooled features, mean per-pixel softmax and entropy, per-pixel MC-dropout scores of a
// segmentation target (see segmentation_outputs.h), left on the device the target ran on.
#include "sraal/segmentation_outputs.h"

#include <cmath>

#include "data/batch.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "sraal/train_classifier.h"

namespace sr {

namespace {

constexpr int64_t kBatch = 32;  // images through the network at a time

// Runs `fn(images)` over `items` in eval mode, batch by batch, restoring the mode after.
template <class Fn>
void over_batches(Module& target, const Dataset& ds, const std::vector<int64_t>& items,
                  Device device, const std::string& what, const ProgressFn& progress, Fn fn) {
  NoGradGuard ng;
  bool was_training = target.is_training();
  target.eval();
  int64_t done = 0;
  for (const auto& part : epoch_batches(items, kBatch, false, false, 0, 0)) {
    fn(make_batch(ds, part, Augment{}, 0, 0).images.to(device));
    done += int64_t(part.size());
    if (progress) progress(what, done, int64_t(items.size()));
  }
  if (was_training) target.train();
}

}  // namespace

FeatureSegmenter& feature_segmenter(Module& target, const std::string& method) {
  auto* f = dynamic_cast<FeatureSegmenter*>(&target);
  SR_CHECK_VALUE(f != nullptr,
                 "method {} needs a segmentation target with an encoder map (DRN-D-22), got {}",
                 method, target.type_name());
  return *f;
}

Tensor mean_pixel_entropy(const Tensor& probs) {
  SR_CHECK_SHAPE(probs.dim() == 4, "mean_pixel_entropy: expected (N, C, H, W), got {}",
                 shape_str(probs.shape()));
  return mean(class_entropy(probs), {1, 2});
}

SegmentationOutputs segmentation_outputs(Module& target, const Dataset& ds,
                                         const std::vector<int64_t>& items,
                                         const std::string& method, Device device,
                                         const ProgressFn& progress, const ProcessGroup* group) {
  FeatureSegmenter& fs = feature_segmenter(target, method);
  SR_CHECK_VALUE(!items.empty(), "method {}: no items to score", method);
  std::vector<Tensor> out = over_shares(group, items, [&](const std::vector<int64_t>& mine) {
    std::vector<Tensor> feats, probs, entropy;
    over_batches(target, ds, mine, device, "target outputs", progress, [&](const Tensor& x) {
      Tensor f = fs.features(x);
      Tensor p = softmax(fs.head(f), 1);
      feats.push_back(mean(f, {2, 3}));
      probs.push_back(mean(p, {2, 3}));
      entropy.push_back(mean_pixel_entropy(p));
    });
    return std::vector<Tensor>{concat(feats, 0), concat(probs, 0), concat(entropy, 0)};
  });
  return {out[0], out[1], out[2]};
}

DropoutScores segmentation_mc_dropout_scores(Module& target, const Dataset& ds,
                                             const std::vector<int64_t>& items, int64_t passes,
                                             float p, Generator& gen, Device device,
                                             const ProgressFn& progress,
                                             const ProcessGroup* group) {
  SR_CHECK_VALUE(passes >= 1 && p >= 0 && p < 1,
                 "MC-dropout: {} passes with dropout {} (need passes >= 1, p in [0, 1))", passes,
                 p);
  FeatureSegmenter& fs = feature_segmenter(target, "mc-dropout");
  SR_CHECK_VALUE(!items.empty(), "method mc-dropout: no items to score");
  // Batch b's T passes take the generator's streams b*T .. b*T + T - 1 from where it stands; a
  // rank's share is whole batches, so it draws the one-process masks of its images.
  std::vector<Tensor> out =
      over_block_shares(group, items, kBatch, [&](const std::vector<int64_t>& mine, int64_t first) {
        Generator g = gen;
        g.skip_streams(uint64_t(first / kBatch * passes));
        std::vector<Tensor> entropy, bald;
        over_batches(target, ds, mine, device, "MC-dropout passes", progress, [&](const Tensor& x) {
          DropoutEntropies h = dropout_entropies([&](const Tensor& f) { return fs.head(f); },
                                                 fs.features(x), passes, p, g);
          entropy.push_back(mean(h.of_mean, {1, 2}));
          // >= 0 per pixel (Jensen); rounding below it clamped before the mean.
          bald.push_back(mean(clamp(sub(h.of_mean, h.mean), 0.f, INFINITY), {1, 2}));
        });
        return std::vector<Tensor>{concat(entropy, 0), concat(bald, 0)};
      });
  const int64_t batches = (int64_t(items.size()) + kBatch - 1) / kBatch;
  gen.skip_streams(uint64_t(batches * passes));  // where one process leaves it, on every rank
  return {out[0], out[1]};
}

}  // namespace sr
