// MC-dropout (Gal et al. 2017) and BALD (Houlsby et al. 2011): the target model is trained with
// dropout p before its classifier; at selection, T stochastic passes through that dropout give
// per item the predictive entropy of the mean softmax H(pbar) (mc-dropout) or the mutual
// information H(pbar) - mean_t H(p_t) between prediction and weights (bald); the `budget`
// highest are chosen. Options: passes (T, default 20), p (default 0.5).
#include "sraal/target_outputs.h"

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
    FeatureClassifier& model = feature_classifier(in.target, name_);
    SR_CHECK_VALUE(model.dropout() == p_,
                   "method {}: the target was trained with dropout {}, the method asks for {}",
                   name_, model.dropout(), p_);
    TargetOutputs out =
        target_outputs(in.target, in.train, in.unlabeled, name_, in.device, in.progress);
    if (in.progress) in.progress(fmt::format("{} dropout passes", passes_), 0, 1);
    Generator gen(in.seed);
    DropoutScores s = mc_dropout_scores(model, out.features, passes_, p_, gen);
    return items_with_highest(in.unlabeled, bald_ ? s.bald : s.entropy, in.budget);
  }

 private:
  std::string name_;
  bool bald_;
  int64_t passes_;
  float p_;
};

StrategyInfo dropout_method(const char* name, const char* summary, bool bald) {
  return {name, summary, {{"passes", 20}, {"p", 0.5}}, [=](const StrategyContext& c) {
            return std::make_unique<DropoutStrategy>(name, bald, c.options);
          }};
}

}  // namespace

static const bool kRegistered = [] {
  register_strategy(dropout_method(
      "mc-dropout", "highest entropy of the mean of T MC-dropout passes (Gal et al. 2017)", false));
  register_strategy(dropout_method(
      "bald", "highest mutual information over T MC-dropout passes (Houlsby et al. 2011)", true));
  return true;
}();

}  // namespace sr
