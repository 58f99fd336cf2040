// MC-dropout (Gal et al. 2017) and BALD for segmentation: the target DRN-D-22 is trained with
// dropout p on its encoder map before the 1x1 classifier; at selection, T stochastic passes
// through that dropout, the classifier and the upsampling give per pixel the predictive entropy
// of the mean softmax (mc-dropout) or the mutual information (bald), averaged over the item's
// pixels (sraal/segmentation_outputs.h); the `budget` highest are chosen. Options: passes (T,
// default 20), p (default 0.5), as for classification.
#include "sraal/segmentation_outputs.h"

namespace sr {
namespace {

class SegDropoutStrategy : public Strategy {
 public:
  SegDropoutStrategy(const std::string& name, bool bald, const nlohmann::json& o)
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
    FeatureSegmenter& model = feature_segmenter(in.target, name_);
    SR_CHECK_VALUE(model.dropout() == p_,
                   "method {}: the target was trained with dropout {}, the method asks for {}",
                   name_, model.dropout(), p_);
    Generator gen(in.seed);
    DropoutScores s = segmentation_mc_dropout_scores(in.target, in.train, in.unlabeled, passes_, p_,
                                                     gen, in.device, in.progress);
    return items_with_highest(in.unlabeled, bald_ ? s.bald : s.entropy, in.budget);
  }

 private:
  std::string name_;
  bool bald_;
  int64_t passes_;
  float p_;
};

StrategyInfo seg_dropout_method(const char* name, const char* summary, bool bald) {
  return {name,
          summary,
          {{"passes", 20}, {"p", 0.5}},
          [=](const StrategyContext& c) {
            return std::make_unique<SegDropoutStrategy>(name, bald, c.options);
          },
          {Task::segmentation}};
}

}  // namespace

static const bool kRegistered = [] {
  register_strategy(seg_dropout_method(
      "mc-dropout", "highest per-pixel entropy of the mean of T MC-dropout passes, averaged",
      false));
  register_strategy(seg_dropout_method(
      "bald", "highest per-pixel mutual information over T MC-dropout passes, averaged", true));
  return true;
}();

}  // namespace sr
