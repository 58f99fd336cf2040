// Adversarial representation learning of SRAAL and VAAL (SPEC section 3), and the state
// selection that follows it.
//
// One iteration: a labeled batch (x_L, y_L) and an unlabeled batch x_U, drawn independently and
// cyclically from D_L and D_U; `g_steps` generator updates on
//   recon_weight (MSE(x_L) + MSE(x_U)) + kl_weight (KL_L + KL_U)          (UIR, Eq. 1)
//   + stl_weight CE(classify(z_STL,L), y_L)                              (STL, Eq. 2; SRAAL)
//     (segmentation: per-pixel CE of the STL's dense decoder against the label maps, 255 ignored)
//   + adv_weight (BCE(D(mu_L), 0) + BCE(D(mu_U), 0))                      (Eq. 6)
// then `d_steps` discriminator updates on
//   BCE(D(mu_L), 0) + BCE(D(mu_U), t_U)                                   (Eq. 5)
// with mu detached and t_U the state label of each unlabeled sample: its uncertainty score
// (the OUI relabeling, SRAAL) or 1 (VAAL, and SRAAL without OUI). D outputs the probability of
// the unlabeled state (logits, with the numerically stable BCE). Adam for both, lr multiplied
// by lr_decay every iterations / lr_decay_steps iterations. Images enter the VAE scaled to
// [-1, 1].
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "layers/vae.h"
#include "sraal/strategy.h"

namespace sr {

struct AdversarialSetup {
  bool split_latent = true;  // SRAAL's generator (z_UIR | z_STL); VAAL: one latent
  bool use_stl = true;       // the STL classifier and its loss (SRAAL only)
  int64_t z_dim = 0, disc_width = 0, disc_depth = 0;
};

struct AdversarialModels {
  std::shared_ptr<Vae> generator;
  std::shared_ptr<Discriminator> discriminator;
};

// The generator objective (Eq. 7) on one labeled and one unlabeled batch, with its parts.
struct GeneratorLoss {
  Tensor total;  // recon_weight recon + kl_weight kl + stl_weight stl + adv_weight adv
  Tensor recon;  // MSE(x_L) + MSE(x_U)                       (Eq. 1)
  Tensor kl;     // KL_L + KL_U, each summed over the latent and averaged over the batch
  Tensor stl;    // CE(classify(z_STL,L), y_L), undefined without STL (Eq. 2)
  Tensor adv;    // BCE(D(mu_L), 0) + BCE(D(mu_U), 0)          (Eq. 6)
};
// Segmentation: yl holds label maps (N, H, W), the STL's logits are per pixel, and pixels
// labelled ignore_index add no loss. before_forward(false), (true): called before the labeled
// and the unlabeled batch go through g (data-parallel training sets each one's noise share).
GeneratorLoss generator_loss(Vae& g, Discriminator& d, const Tensor& xl, const Tensor& yl,
                             const Tensor& xu, const AdversarialConfig& w, bool use_stl,
                             int64_t ignore_index = -100,
                             const std::function<void(bool unlabeled)>& before_forward = {});

// The discriminator objective (Eq. 5): BCE(D(mu_L), 0) + BCE(D(mu_U), t_U), t_U (N, 1).
Tensor discriminator_loss(Discriminator& d, const Tensor& mu_l, const Tensor& mu_u,
                          const Tensor& target_u);

// The state targets of D_U (N = |D_U|, on in.device): the relabeler's uncertainty scores under
// the target model (the online uncertainty indicator, OUI) or, without OUI, 1 for every item.
// Computed where the target's probabilities are: nothing of size N reaches the host.
Tensor unlabeled_targets(const SelectionInput& in, bool oui, ScoreKind relabeler,
                         IndicatorScaling scaling);

// SRAAL's generator and discriminator shapes: the latent split into (z_UIR | z_STL) only with
// STL; without it the whole latent serves reconstruction and no classifier head is built.
AdversarialSetup sraal_setup(const AdversarialConfig& a, bool use_stl);

// The losses of an iteration's last generator and discriminator steps, every N iterations.
struct AdversarialLogRow {
  int64_t iteration = 0;
  float lr = 0;
  double generator = 0, recon = 0, kl = 0, stl = 0, adv = 0, discriminator = 0;
};
// CSV text of the rows (header iteration,lr,generator,recon,kl,stl,adv,discriminator).
std::string adversarial_log_csv(const std::vector<AdversarialLogRow>& rows);

// Trains the generator and discriminator on the pools of `in`. `unlabeled_targets` (N) holds
// the discriminator's target for each item of in.unlabeled (same order), on in.device: each
// batch's targets are gathered there (index_select). With `log`, a row every `log_every`
// iterations and at the last.
AdversarialModels train_adversarial(const SelectionInput& in, const AdversarialConfig& a,
                                    const AdversarialSetup& setup, const Tensor& unlabeled_targets,
                                    std::vector<AdversarialLogRow>* log = nullptr,
                                    int64_t log_every = 10);

// D(mu(x)) for `items` (N, on `device`), generator in eval mode: the probability of the
// unlabeled state; with a group, computed over its ranks (over_shares).
Tensor unlabeled_state(AdversarialModels& m, const Dataset& ds, const std::vector<int64_t>& items,
                       int64_t batch, Device device, const ProcessGroup* group = nullptr);

// A batch of images scaled to [-1, 1] (the VAE's input range), on `device`.
Tensor vae_input(const Dataset& ds, const std::vector<int64_t>& items, Device device);

}  // namespace sr
