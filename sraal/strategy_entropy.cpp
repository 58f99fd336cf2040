// Entropy sampling: the `budget` items of D_U whose softmax output under the target model has
// the highest entropy H(p) = -sum_c p_c log p_c (computed as the normalised entropy
// H(p) / log C, the same ranking, by the engine's fused score kernel on the logits).
// Segmentation: the per-pixel entropy averaged over the pixels, in nats
// (sraal/segmentation_outputs.h).
#include "engine/selection.h"
#include "sraal/segmentation_outputs.h"

namespace sr {
namespace {

class EntropyStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    if (in.train.info().segmentation) {
      SegmentationOutputs out = segmentation_outputs(in.target, in.train, in.unlabeled, "entropy",
                                                     in.device, in.progress, in.group);
      return items_with_highest(in.unlabeled, out.mean_entropy, in.budget, in.scores);
    }
    TargetOutputs out = target_outputs(in.target, in.train, in.unlabeled, "entropy", in.device,
                                       in.progress, in.group);
    Tensor h = uncertainty_scores(out.logits, ScoreKind::entropy, true);
    return items_with_highest(in.unlabeled, h, in.budget, in.scores);
  }
};

StrategyInfo entropy_method(const char* summary, Task task) {
  return {"entropy",
          summary,
          {},
          [](const StrategyContext&) { return std::make_unique<EntropyStrategy>(); },
          {task}};
}

}  // namespace

static const bool kRegistered = [] {
  register_strategy(
      entropy_method("highest predictive entropy of the target model", Task::classification));
  register_strategy(entropy_method(
      "highest per-pixel entropy of the target, averaged over the pixels", Task::segmentation));
  return true;
}();

}  // namespace sr
