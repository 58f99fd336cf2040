// The k-center initial labeled pool (SPEC section 4, the paper's Algorithm 1): a VAE (the UIR,
// no labels needed) trained on the whole pool, every item's latent mean, then greedy k-center
// from I random starts (I = max(1, M / 100) by default) until M items are chosen.
#pragma once

#include <vector>

#include "data/dataset.h"
#include "layers/vae.h"
#include "sraal/config.h"
#include "sraal/strategy.h"

namespace sr {

struct KCenterPool {
  std::vector<int64_t> items;      // the M chosen dataset indices, in the order picked
  std::vector<int64_t> positions;  // the same as positions in the pool
  Tensor latents;  // (pool size, z) on the device: the latent means the picks were made in
  int64_t random_starts = 0;  // the first picks, drawn at random
};

// With a group of several ranks (sraal run --distribute data): the VAE trains data-parallel
// (sraal/adversarial.cpp's scheme: equal shares of every batch, the gradients summed, rank 0's
// batch-norm buffers, its statistics over the group with sync_batch_norm), the latent means
// are computed in shares and gathered, and the k-center greedy runs sharded; every rank gets
// the same pool, the one-process one's up to the summation order of the training.
KCenterPool kcenter_initial_pool(const Dataset& ds, const std::vector<int64_t>& pool, int64_t m,
                                 const KCenterConfig& cfg, const AdversarialConfig& loss_weights,
                                 uint64_t seed, Device device, const ProgressFn& progress,
                                 const ProcessGroup* group = nullptr, bool sync_batch_norm = false);

// The latent means of `items` under `vae` (eval mode), (N, z) on the CPU.
Tensor latent_means(Vae& vae, const Dataset& ds, const std::vector<int64_t>& items, int64_t batch,
                    Device device);

}  // namespace sr
