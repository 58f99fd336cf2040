// SRAAL (Zhang et al., CVPR 2020) and its ablations and relabelers:
//   sraal                 OUI (the uncertainty indicator, Eq. 3-4) relabels D_U's state; STL on
//   sraal-no-oui          unlabeled state fixed at 1
//   sraal-no-stl          no STL classifier (stl_weight 0, no head)
//   sraal-no-oui-no-stl   both removed
//   sraal-entropy/-sd     OUI replaced by normalised entropy / the SD score (paper, Table 1)
// One cycle: scores of D_U from the target model (step 2), adversarial training of the
// generator and discriminator on D_L and D_U (step 3), the `budget` items of D_U with the
// highest discriminator state (step 4).
#include <optional>

#include "sraal/adversarial.h"

namespace sr {
namespace {

class SraalStrategy : public Strategy {
 public:
  SraalStrategy(bool oui, bool stl, std::optional<ScoreKind> relabeler)
      : oui_(oui), stl_(stl), relabeler_(relabeler) {}

  std::vector<int64_t> select(const SelectionInput& in) override {
    const AdversarialConfig& a = in.config.adversarial;
    std::vector<float> targets =
        unlabeled_targets(in, oui_, relabeler_ ? *relabeler_ : a.relabeler);
    AdversarialSetup setup{true, stl_, a.z_dim, a.disc_width, a.disc_depth};
    AdversarialModels m = train_adversarial(in, setup, targets);
    if (in.progress) in.progress("discriminator states", 0, 1);
    std::vector<float> states = unlabeled_state(m, in.train, in.unlabeled, 256, in.device);
    return select_highest(in.unlabeled, states, in.budget);
  }

 private:
  bool oui_, stl_;
  std::optional<ScoreKind> relabeler_;
};

}  // namespace

REGISTER_STRATEGY("sraal", new SraalStrategy(true, true, std::nullopt));
REGISTER_STRATEGY("sraal-no-oui", new SraalStrategy(false, true, std::nullopt));
REGISTER_STRATEGY("sraal-no-stl", new SraalStrategy(true, false, std::nullopt));
REGISTER_STRATEGY("sraal-no-oui-no-stl", new SraalStrategy(false, false, std::nullopt));
REGISTER_STRATEGY("sraal-entropy", new SraalStrategy(true, true, ScoreKind::entropy));
REGISTER_STRATEGY("sraal-sd", new SraalStrategy(true, true, ScoreKind::sd));

}  // namespace sr
