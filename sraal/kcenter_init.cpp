// k-center initialisation (see kcenter_init.h).
#include "sraal/kcenter_init.h"

#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/distributed.h"
#include "engine/distributed_selection.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/reducer.h"
#include "engine/selection.h"
#include "layers/layers.h"
#include "sraal/adversarial.h"
#include "sraal/train_classifier.h"

namespace sr {

Tensor latent_means(Vae& vae, const Dataset& ds, const std::vector<int64_t>& items, int64_t batch,
                    Device device) {
  NoGradGuard ng;
  vae.eval();
  std::vector<Tensor> parts;
  for (size_t s = 0; s < items.size(); s += size_t(batch)) {
    std::vector<int64_t> part(items.begin() + long(s),
                              items.begin() + long(std::min(items.size(), s + size_t(batch))));
    parts.push_back(vae.encode(vae_input(ds, part, device)).first);  // stays on the device
  }
  vae.train();
  return concat(parts, 0);
}

KCenterPool kcenter_initial_pool(const Dataset& ds, const std::vector<int64_t>& pool, int64_t m,
                                 const KCenterConfig& cfg, const AdversarialConfig& w,
                                 uint64_t seed, Device device, const ProgressFn& progress,
                                 const ProcessGroup* group, bool sync_batch_norm) {
  SR_CHECK_VALUE(m >= 1 && m <= int64_t(pool.size()), "k-center: {} centers from a pool of {}", m,
                 pool.size());
  const DatasetInfo& info = ds.info();
  VaeConfig vc;
  vc.in_channels = info.channels, vc.height = info.height, vc.width = info.width;
  vc.z_dim = cfg.z_dim, vc.base_width = cfg.base_width;
  Generator init(derive_seed(seed, 1));
  Vae vae(vc, init, std::make_shared<Generator>(derive_seed(seed, 2)));
  vae.to(device);
  Adam opt(vae.parameters(), {cfg.lr});
  Generator pick(derive_seed(seed, 3));
  int64_t batch = std::min<int64_t>(cfg.batch, int64_t(pool.size()));
  const ProcessGroup* pg = group && group->size() > 1 ? group : nullptr;
  const int ranks = pg ? pg->size() : 1, rank = pg ? pg->rank() : 0;
  std::vector<Tensor> buffers;
  std::unique_ptr<GradientReducer> reducer;
  if (pg) {
    SR_CHECK_VALUE(batch % ranks == 0,
                   "k-center VAE over {} processes needs a batch they share evenly; it is {} (at "
                   "most the pool): choose a process count that divides it, or another "
                   "kcenter.batch (--config)",
                   ranks, batch);
    for (auto& [name, b] : vae.named_buffers()) buffers.push_back(b);
    broadcast_coalesced(vae.parameters(), *pg);
    if (sync_batch_norm) synchronise_batch_norm(vae, pg->duplicate());
    reducer = std::make_unique<GradientReducer>(vae.parameters(), *pg);
    vae.set_batch_share(rank * batch / ranks, batch);  // the whole batch's noise, this share's rows
  }
  std::vector<int64_t> order;
  size_t pos = 0;
  for (int64_t it = 0; it < cfg.iterations; ++it) {
    std::vector<int64_t> items;
    while (int64_t(items.size()) < batch) {
      if (pos == order.size()) order = pick.permutation(int64_t(pool.size())), pos = 0;
      items.push_back(pool[size_t(order[pos++])]);
    }
    if (pg) {
      broadcast_coalesced(buffers, *pg);
      items = rank_share(items, rank, ranks);
    }
    Tensor x = vae_input(ds, items, device);
    VaeOutput o = vae.forward_all(x);
    Tensor loss = add(mul(mse_loss(o.recon, x), w.recon_weight),
                      mul(kl_normal(o.mu, o.logvar, KlReduction::batch_mean), w.kl_weight));
    opt.zero_grad();
    if (pg) {  // means over equal shares, weighted 1/K: the global batch's gradient
      mul(loss, 1.f / float(ranks)).backward();
      reducer->synchronize();
    } else {
      loss.backward();
    }
    opt.step();
    checked_loss(loss, fmt::format("k-center VAE iteration {}", it + 1));
    fault_point();
    if (progress) progress("k-center VAE", it + 1, cfg.iterations);
  }
  if (pg) {
    broadcast_coalesced(buffers, *pg);
    vae.set_batch_share(0, 0);
    synchronise_batch_norm(vae, nullptr);
  }
  if (progress) progress("k-center selection", 0, 1);
  KCenterPool r;
  r.random_starts = cfg.random_starts > 0 ? cfg.random_starts : std::max<int64_t>(1, m / 100);
  if (pg) {
    std::vector<int64_t> positions(pool.size());
    for (size_t i = 0; i < positions.size(); ++i) positions[i] = int64_t(i);
    const std::vector<int64_t> mine = rank_share(positions, rank, ranks);
    std::vector<int64_t> items;
    for (int64_t p : mine) items.push_back(pool[size_t(p)]);
    int64_t offset = 0;  // the rows of the ranks before this one
    const std::vector<int64_t> sizes = pg->all_gather(int64_t(mine.size()));
    for (int q = 0; q < rank; ++q) offset += sizes[size_t(q)];
    Tensor shard = latent_means(vae, ds, items, 256, device);
    r.positions = kcenter_greedy_sharded(shard, offset, int64_t(pool.size()), {}, m,
                                         derive_seed(seed, 4), r.random_starts, *pg);
    r.latents = pg->all_gather_rows(shard);
  } else {
    r.latents = latent_means(vae, ds, pool, 256, device);
    r.positions = kcenter_greedy(r.latents, {}, m, derive_seed(seed, 4), r.random_starts);
  }
  for (int64_t p : r.positions) r.items.push_back(pool[size_t(p)]);
  return r;
}

}  // namespace sr
