// VAAL (Sinha et al., ICCV 2019): a VAE and a discriminator trained adversarially with binary
// states (labeled 0, unlabeled 1); the `budget` items of D_U the discriminator finds least
// likely to be labeled (highest unlabeled state) are selected. Same training loop as SRAAL
// (sraal/adversarial.h) with one latent, no STL and no relabeling, and VAAL's own generator
// loss as its released code: per batch MSE(recon, x) + beta KL summed over batch and latent, the
// adversarial BCE weighted by adversary_param, and a constant lr (no decay). Options: beta 1,
// recon_weight 1, adversary_param 1. Segmentation: the same, on the images (VAAL's own
// Cityscapes experiment).
#include <cmath>

#include "sraal/adversarial.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

class VaalStrategy : public Strategy {
 public:
  VaalStrategy(const AdversarialConfig& a, const nlohmann::json& o) : a_(a) {
    a_.recon_weight = o.at("recon_weight").get<float>();
    a_.kl_weight = o.at("beta").get<float>();
    a_.adv_weight = o.at("adversary_param").get<float>();
    a_.kl_reduction = KlReduction::sum;
    a_.stl_weight = 0;
    a_.lr_decay = 1;  // VAAL's released code keeps Adam's lr at 5e-4 throughout
    for (float v : {a_.recon_weight, a_.kl_weight, a_.adv_weight})
      SR_CHECK_VALUE(std::isfinite(v) && v >= 0,
                     "method vaal: loss weights must be finite and non-negative, got {}", v);
  }

  std::vector<int64_t> select(const SelectionInput& in) override {
    Tensor targets = Tensor::full({int64_t(in.unlabeled.size())}, 1.f, DType::f32, in.device);
    AdversarialSetup setup{false, false, a_.vaal_z_dim, a_.vaal_disc_width, a_.vaal_disc_depth};
    std::vector<AdversarialLogRow> log;
    AdversarialModels m = train_adversarial(in, a_, setup, targets, &log);
    if (in.write_log) in.write_log("adversarial", adversarial_log_csv(log));
    if (in.progress) in.progress("discriminator states", 0, 1);
    Tensor states = unlabeled_state(m, in.train, in.unlabeled, 256, in.device, in.group);
    return items_with_highest(in.unlabeled, states, in.budget, in.scores);
  }

 private:
  AdversarialConfig a_;
};

}  // namespace

REGISTER_STRATEGY({"vaal",
                   "VAAL: VAE and discriminator with binary states (Sinha et al. 2019)",
                   {{"beta", 1.0}, {"recon_weight", 1.0}, {"adversary_param", 1.0}},
                   [](const StrategyContext& c) {
                     return std::make_unique<VaalStrategy>(c.adversarial, c.options);
                   },
                   {Task::classification, Task::segmentation}});

}  // namespace sr
