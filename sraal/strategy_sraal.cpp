// SRAAL (Zhang et al., CVPR 2020) and its ablations and relabelers:
//   sraal                 OUI (the uncertainty indicator, Eq. 3-4) relabels D_U's state; STL on
//   sraal-no-oui          unlabeled state fixed at 1
//   sraal-no-stl          no STL classifier (no head; the whole latent serves reconstruction)
//   sraal-no-oui-no-stl   both removed
//   sraal-entropy/-sd     OUI replaced by normalised entropy / the SD score (paper, Table 1)
// One cycle: scores of D_U from the target model (step 2), adversarial training of the
// generator and discriminator on D_L and D_U (step 3), the `budget` items of D_U with the
// highest discriminator state (step 4).
// Option: generator_target, the state the generator's adversarial loss pushes samples towards:
// "labeled" (Eq. 6, the default) or "unlabeled" (the authors' released code, docs/SRAAL.md).
// Segmentation (paper section 3.2-3.3): the indicator reads the mean over pixels of the target's
// per-pixel softmax, and STL's decoder is a segmentation decoder from z_STL (layers/vae.h)
// trained by per-pixel cross-entropy ignoring 255 (sraal/adversarial.h).
#include <optional>

#include "sraal/adversarial.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

class SraalStrategy : public Strategy {
 public:
  SraalStrategy(const AdversarialConfig& a, const nlohmann::json& o, const std::string& name,
                bool oui, bool stl, std::optional<ScoreKind> relabeler)
      : a_(a), oui_(oui), stl_(stl), relabeler_(relabeler) {
    std::string target = o.at("generator_target").get<std::string>();
    SR_CHECK_VALUE(target == "labeled" || target == "unlabeled",
                   "method {}: generator_target '{}' (expected labeled or unlabeled)", name,
                   target);
    a_.generator_target = target == "labeled" ? 0.f : 1.f;
  }

  std::vector<int64_t> select(const SelectionInput& in) override {
    Tensor targets =
        unlabeled_targets(in, oui_, relabeler_ ? *relabeler_ : a_.relabeler, a_.scaling);
    std::vector<AdversarialLogRow> log;
    AdversarialModels m = train_adversarial(in, a_, sraal_setup(a_, stl_), targets, &log);
    if (in.write_log) in.write_log("adversarial", adversarial_log_csv(log));
    if (in.progress) in.progress("discriminator states", 0, 1);
    Tensor states = unlabeled_state(m, in.train, in.unlabeled, 256, in.device, in.group);
    return items_with_highest(in.unlabeled, states, in.budget, in.scores);
  }

 private:
  AdversarialConfig a_;
  bool oui_, stl_;
  std::optional<ScoreKind> relabeler_;
};

StrategyInfo sraal_variant(const char* name, const char* summary, bool oui, bool stl,
                           std::optional<ScoreKind> relabeler) {
  return {name,
          summary,
          {{"generator_target", "labeled"}},
          [=](const StrategyContext& c) {
            return std::make_unique<SraalStrategy>(c.adversarial, c.options, name, oui, stl,
                                                   relabeler);
          },
          {Task::classification, Task::segmentation}};
}

}  // namespace

static const bool kRegistered = [] {
  register_strategy(sraal_variant("sraal", "SRAAL: OUI relabeling and STL (the paper's method)",
                                  true, true, std::nullopt));
  register_strategy(sraal_variant("sraal-no-oui", "SRAAL without OUI (unlabeled state 1)", false,
                                  true, std::nullopt));
  register_strategy(
      sraal_variant("sraal-no-stl", "SRAAL without the STL classifier", true, false, std::nullopt));
  register_strategy(sraal_variant("sraal-no-oui-no-stl", "SRAAL without OUI and without STL", false,
                                  false, std::nullopt));
  register_strategy(sraal_variant("sraal-entropy", "SRAAL relabeling by normalised entropy", true,
                                  true, ScoreKind::entropy));
  register_strategy(
      sraal_variant("sraal-sd", "SRAAL relabeling by the SD score", true, true, ScoreKind::sd));
  return true;
}();

}  // namespace sr
