// VAAL (Sinha et al., ICCV 2019): a VAE and a discriminator trained adversarially with binary
// states (labeled 0, unlabeled 1); the `budget` items of D_U the discriminator finds least
// likely to be labeled (highest unlabeled state) are selected. Same training loop as SRAAL
// (sraal/adversarial.h) with one latent, no STL and no relabeling.
#include "sraal/adversarial.h"

namespace sr {
namespace {

class VaalStrategy : public Strategy {
 public:
  explicit VaalStrategy(const AdversarialConfig& a) : a_(a) {}

  std::vector<int64_t> select(const SelectionInput& in) override {
    std::vector<float> targets(in.unlabeled.size(), 1.f);
    AdversarialSetup setup{false, false, a_.vaal_z_dim, a_.vaal_disc_width, a_.vaal_disc_depth};
    AdversarialModels m = train_adversarial(in, a_, setup, targets);
    if (in.progress) in.progress("discriminator states", 0, 1);
    std::vector<float> states = unlabeled_state(m, in.train, in.unlabeled, 256, in.device);
    return select_highest(in.unlabeled, states, in.budget);
  }

 private:
  AdversarialConfig a_;
};

}  // namespace

REGISTER_STRATEGY({"vaal",
                   "VAAL: VAE and discriminator with binary states (Sinha et al. 2019)",
                   {},
                   [](const StrategyContext& c) {
                     return std::make_unique<VaalStrategy>(c.adversarial);
                   }});

}  // namespace sr
