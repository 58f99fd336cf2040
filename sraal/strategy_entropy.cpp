// Entropy sampling: the `budget` items of D_U whose softmax output under the target model has
// the highest entropy H(p) = -sum_c p_c log p_c (computed as the normalised entropy
// H(p) / log C, the same ranking, by the engine's fused score kernel on the logits).
#include "engine/selection.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

class EntropyStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    TargetOutputs out =
        target_outputs(in.target, in.train, in.unlabeled, "entropy", in.device, in.progress);
    Tensor h = uncertainty_scores(out.logits, ScoreKind::entropy, true);
    return items_with_highest(in.unlabeled, h, in.budget);
  }
};

}  // namespace

REGISTER_STRATEGY({"entropy",
                   "highest predictive entropy of the target model",
                   {},
                   [](const StrategyContext&) { return std::make_unique<EntropyStrategy>(); }});

}  // namespace sr
