// MC-dropout (Gal et al. 2017) and BALD (Houlsby et al. 2011): the target model is trained with
// dropout p before its classifier; at selection, T stochastic passes through that dropout give
// per item the predictive entropy of the mean softmax H(pbar) (mc-dropout) or the mutual
// information H(pbar) - mean_t H(p_t) between prediction and weights (bald); the `budget`
// highest are chosen. Segmentation: the dropout acts on DRN-D-22's encoder map before `seg`,
// the passes go through `seg` and the upsampling, and both scores are per pixel, averaged over
// the item's pixels (sraal/segmentation_outputs.h). Options: passes (T, default 20), p
// (default 0.5).
#include "sraal/segmentation_outputs.h"

namespace sr {
namespace {

class DropoutStrategy : public Strategy {
 public:
  DropoutStrategy(const std::string& name, bool bald, const nlohmann::json& o)
      : name_(name),
        bald_(bald),
        passes_(o.at("passes").get<int64_t>()),
        p_(o.at("p").get<float>()) {
    SR_CHECK_VALUE(passes_ >= 1 && passes_ <= 10000, "method {}: passes {} must lie in [1, 10000]",
                   name_, passes_);
    SR_CHECK_VALUE(p_ > 0 && p_ < 1, "method {}: dropout p {} must lie in (0, 1)", name_, p_);
  }

  TargetRequirements target_requirements() const override { return {p_}; }

  std::vector<int64_t> select(const SelectionInput& in) override {
    const bool seg = in.train.info().segmentation;
    float trained = seg ? feature_segmenter(in.target, name_).dropout()
                        : feature_classifier(in.target, name_).dropout();
    SR_CHECK_VALUE(trained == p_,
                   "method {}: the target was trained with dropout {}, the method asks for {}",
                   name_, trained, p_);
    Generator gen(in.seed);
    DropoutScores s;
    if (seg) {
      s = segmentation_mc_dropout_scores(in.target, in.train, in.unlabeled, passes_, p_, gen,
                                         in.device, in.progress, in.group);
    } else {
      TargetOutputs out = target_outputs(in.target, in.train, in.unlabeled, name_, in.device,
                                         in.progress, in.group);
      if (in.progress) in.progress(fmt::format("{} dropout passes", passes_), 0, 1);
      s = mc_dropout_scores(feature_classifier(in.target, name_), out.features, passes_, p_, gen,
                            in.group);
    }
    return items_with_highest(in.unlabeled, bald_ ? s.bald : s.entropy, in.budget, in.scores);
  }

 private:
  std::string name_;
  bool bald_;
  int64_t passes_;
  float p_;
};

StrategyInfo dropout_method(const char* name, const char* summary, bool bald, Task task) {
  return {name,
          summary,
          {{"passes", 20}, {"p", 0.5}},
          [=](const StrategyContext& c) {
            return std::make_unique<DropoutStrategy>(name, bald, c.options);
          },
          {task}};
}

}  // namespace

static const bool kRegistered = [] {
  register_strategy(dropout_method(
      "mc-dropout", "highest entropy of the mean of T MC-dropout passes (Gal et al. 2017)", false,
      Task::classification));
  register_strategy(dropout_method(
      "bald", "highest mutual information over T MC-dropout passes (Houlsby et al. 2011)", true,
      Task::classification));
  register_strategy(dropout_method(
      "mc-dropout", "highest per-pixel entropy of the mean of T MC-dropout passes, averaged", false,
      Task::segmentation));
  register_strategy(dropout_method(
      "bald", "highest per-pixel mutual information over T MC-dropout passes, averaged", true,
      Task::segmentation));
  return true;
}();

}  // namespace sr
