// Adversarial training of the generator and the state discriminator (see adversarial.h).
#include "sraal/adversarial.h"

#include <algorithm>

#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parallel.h"
#include "engine/reducer.h"
#include "engine/selection.h"
#include "layers/layers.h"
#include "sraal/segmentation_outputs.h"
#include "sraal/target_outputs.h"
#include "sraal/train_classifier.h"

namespace sr {

namespace {

// Batches drawn cyclically from a pool: a fresh seeded permutation at every pass.
class CyclicSampler {
 public:
  CyclicSampler(const std::vector<int64_t>& pool, int64_t batch, uint64_t seed)
      : pool_(pool), batch_(std::min<int64_t>(batch, int64_t(pool.size()))), gen_(seed) {}

  std::vector<int64_t> next() {
    std::vector<int64_t> out;
    while (int64_t(out.size()) < batch_) {
      if (pos_ == order_.size()) {
        order_ = gen_.permutation(int64_t(pool_.size()));
        pos_ = 0;
      }
      out.push_back(int64_t(order_[pos_++]));
    }
    return out;  // positions in the pool
  }
  int64_t batch() const { return batch_; }

 private:
  const std::vector<int64_t>& pool_;
  int64_t batch_;
  Generator gen_;
  std::vector<int64_t> order_;
  size_t pos_ = 0;
};

std::vector<int64_t> items_at(const std::vector<int64_t>& pool, const std::vector<int64_t>& pos) {
  std::vector<int64_t> out;
  for (int64_t p : pos) out.push_back(pool[size_t(p)]);
  return out;
}

// The STL's targets: classes (N) or, for segmentation, label maps (N, H, W).
Tensor labels_of(const Dataset& ds, const std::vector<int64_t>& items, Device device) {
  const DatasetInfo& info = ds.info();
  std::vector<int64_t> y;
  if (!info.segmentation) {
    for (int64_t i : items) y.push_back(ds.label(i));
    return Tensor::from_vector(y, {int64_t(y.size())}).to(device);
  }
  int64_t hw = info.height * info.width;
  std::vector<uint8_t> map(static_cast<size_t>(hw));
  y.reserve(items.size() * size_t(hw));
  for (int64_t i : items) {
    ds.read_label_map(i, map.data());
    y.insert(y.end(), map.begin(), map.end());
  }
  return Tensor::from_vector(y, {int64_t(items.size()), info.height, info.width}).to(device);
}

}  // namespace

Tensor vae_input(const Dataset& ds, const std::vector<int64_t>& items, Device device) {
  const DatasetInfo& info = ds.info();
  int64_t n = int64_t(items.size()), per = ds.item_bytes();
  Tensor x = Tensor::empty({n, info.channels, info.height, info.width});
  float* p = x.data<float>();
  parallel_for(n, per * 4, [&](int64_t b, int64_t e) {
    std::vector<uint8_t> px(static_cast<size_t>(per));
    for (int64_t i = b; i < e; ++i) {
      ds.read_pixels(items[size_t(i)], px.data());
      for (int64_t k = 0; k < per; ++k) p[i * per + k] = float(px[size_t(k)]) / 127.5f - 1.f;
    }
  });
  return x.to(device);
}

GeneratorLoss generator_loss(Vae& g, Discriminator& d, const Tensor& xl, const Tensor& yl,
                             const Tensor& xu, const AdversarialConfig& w, bool use_stl,
                             int64_t ignore_index,
                             const std::function<void(bool unlabeled)>& before_forward) {
  if (before_forward) before_forward(false);
  VaeOutput ol = g.forward_all(xl);
  if (before_forward) before_forward(true);
  VaeOutput ou = g.forward_all(xu);
  GeneratorLoss l;
  l.recon = add(mse_loss(ol.recon, xl), mse_loss(ou.recon, xu));
  l.kl =
      add(kl_normal(ol.mu, ol.logvar, w.kl_reduction), kl_normal(ou.mu, ou.logvar, w.kl_reduction));
  // The generator wants every sample to look labeled (target 0 for both batches, Eq. 6), or
  // with generator_target 1 unlabeled, as SRAAL's released code.
  Tensor target_l = Tensor::full({xl.size(0), 1}, w.generator_target, DType::f32, xl.device());
  Tensor target_u = Tensor::full({xu.size(0), 1}, w.generator_target, DType::f32, xu.device());
  l.adv = add(binary_cross_entropy_with_logits(d.logits(ol.mu), target_l),
              binary_cross_entropy_with_logits(d.logits(ou.mu), target_u));
  l.total =
      add(add(mul(l.recon, w.recon_weight), mul(l.kl, w.kl_weight)), mul(l.adv, w.adv_weight));
  if (use_stl) {
    l.stl = cross_entropy(ol.logits, yl, ignore_index);
    l.total = add(l.total, mul(l.stl, w.stl_weight));
  }
  return l;
}

Tensor discriminator_loss(Discriminator& d, const Tensor& mu_l, const Tensor& mu_u,
                          const Tensor& target_u) {
  Tensor zeros_l = Tensor::zeros({mu_l.size(0), 1}, DType::f32, mu_l.device());
  return add(binary_cross_entropy_with_logits(d.logits(mu_l), zeros_l),
             binary_cross_entropy_with_logits(d.logits(mu_u), target_u));
}

Tensor unlabeled_targets(const SelectionInput& in, bool oui, ScoreKind relabeler,
                         IndicatorScaling scaling) {
  if (!oui) return Tensor::full({int64_t(in.unlabeled.size())}, 1.f, DType::f32, in.device);
  if (in.progress) in.progress("uncertainty scores", 0, 1);
  // Segmentation: "the prediction vector is the mean of each [pixel's] probability vector".
  Tensor probs =
      in.train.info().segmentation
          ? segmentation_outputs(in.target, in.train, in.unlabeled, "sraal", in.device, {},
                                 in.group)
                .mean_probabilities
          : predict_probabilities(in.target, in.train, in.unlabeled, 256, in.device, in.group);
  return uncertainty_scores(probs, relabeler, false, scaling);
}

AdversarialSetup sraal_setup(const AdversarialConfig& a, bool use_stl) {
  return {use_stl, use_stl, a.z_dim, a.disc_width, a.disc_depth};
}

std::string adversarial_log_csv(const std::vector<AdversarialLogRow>& rows) {
  std::string s = "iteration,lr,generator,recon,kl,stl,adv,discriminator\n";
  for (const AdversarialLogRow& r : rows)
    s += fmt::format("{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}\n", r.iteration, r.lr,
                     r.generator, r.recon, r.kl, r.stl, r.adv, r.discriminator);
  return s;
}

namespace {
double value_of(const Tensor& t) {
  return t.defined() ? double(t.item<float>()) : 0.0;
}
AdversarialLogRow log_row(int64_t it, float lr, const GeneratorLoss& g, const Tensor& d) {
  return {it,
          lr,
          value_of(g.total),
          value_of(g.recon),
          value_of(g.kl),
          value_of(g.stl),
          value_of(g.adv),
          value_of(d)};
}
}  // namespace

AdversarialModels train_adversarial(const SelectionInput& in, const AdversarialConfig& a,
                                    const AdversarialSetup& setup, const Tensor& unlabeled_targets,
                                    std::vector<AdversarialLogRow>* log, int64_t log_every) {
  SR_CHECK_VALUE(log_every >= 1, "adversarial training: log every {} iterations", log_every);
  GeneratorLoss last_g;
  Tensor last_d;
  const DatasetInfo& info = in.train.info();
  SR_CHECK_VALUE(unlabeled_targets.dim() == 1 &&
                     unlabeled_targets.size(0) == int64_t(in.unlabeled.size()) &&
                     unlabeled_targets.device() == in.device,
                 "adversarial training: targets {} on {} for {} unlabeled items on {}",
                 shape_str(unlabeled_targets.shape()), device_name(unlabeled_targets.device()),
                 in.unlabeled.size(), device_name(in.device));
  SR_CHECK_VALUE(!in.labeled.empty() && !in.unlabeled.empty(),
                 "adversarial training needs labeled and unlabeled items ({} and {})",
                 in.labeled.size(), in.unlabeled.size());
  Generator init(derive_seed(in.seed, 1));
  auto noise = std::make_shared<Generator>(derive_seed(in.seed, 2));
  VaeConfig vc;
  vc.in_channels = info.channels, vc.height = info.height, vc.width = info.width;
  vc.z_dim = setup.z_dim, vc.base_width = a.base_width;
  vc.num_classes = setup.use_stl ? info.num_classes : 0;
  vc.classifier_hidden = a.stl_hidden;
  vc.dense_classifier = info.segmentation;
  AdversarialModels m;
  m.generator = std::make_shared<Vae>(vc, init, noise, setup.split_latent);
  m.discriminator =
      std::make_shared<Discriminator>(setup.z_dim, setup.disc_width, setup.disc_depth, init);
  m.generator->to(in.device);
  m.discriminator->to(in.device);
  const std::vector<Tensor> g_params = m.generator->parameters(),
                            d_params = m.discriminator->parameters();
  Adam g_opt(g_params, {a.lr});
  Adam d_opt(d_params, {a.lr});
  StepLR g_lr(a.lr, std::max<int64_t>(1, a.lr_decay_every), a.lr_decay);
  StepLR d_lr = g_lr;

  CyclicSampler lab(in.labeled, a.batch, derive_seed(in.seed, 3));
  CyclicSampler unl(in.unlabeled, a.batch, derive_seed(in.seed, 4));

  // Data-parallel (sraal/train_classifier.h's scheme): rank 0's weights, equal shares of every
  // batch (so that each loss term's mean over a share, weighted 1/K, sums to the global one),
  // gradients summed by a reducer per network, rank 0's batch-norm buffers at every iteration.
  const ProcessGroup* pg = in.group && in.group->size() > 1 ? in.group : nullptr;
  const int ranks = pg ? pg->size() : 1, rank = pg ? pg->rank() : 0;
  std::vector<Tensor> buffers;
  std::unique_ptr<GradientReducer> g_reducer, d_reducer;
  if (pg) {
    SR_CHECK_VALUE(lab.batch() % ranks == 0 && unl.batch() % ranks == 0,
                   "adversarial training over {} processes needs labeled and unlabeled batches "
                   "that they share evenly; the batches are {} and {} (the labeled one is at "
                   "most the labeled pool): choose a process count that divides both, or "
                   "another adversarial batch (--config)",
                   ranks, lab.batch(), unl.batch());
    for (auto* net :
         {static_cast<Module*>(m.generator.get()), static_cast<Module*>(m.discriminator.get())})
      for (auto& [name, b] : net->named_buffers()) buffers.push_back(b);
    broadcast_coalesced(g_params, *pg);
    broadcast_coalesced(d_params, *pg);
    if (in.sync_batch_norm) synchronise_batch_norm(*m.generator, pg->duplicate());
    g_reducer = std::make_unique<GradientReducer>(g_params, *pg);
    d_reducer = std::make_unique<GradientReducer>(d_params, *pg);
  }
  const float share = 1.f / float(ranks);
  // Each batch's reparameterisation noise is drawn whole and this rank takes its share's rows.
  std::function<void(bool)> share_noise;
  if (pg)
    share_noise = [&](bool unlabeled) {
      const int64_t n = unlabeled ? unl.batch() : lab.batch();
      m.generator->set_batch_share(rank * n / ranks, n);
    };
  // The discriminator is fixed during generator steps: no gradient for it (and no reduction).
  auto set_trainable = [](const std::vector<Tensor>& ps, bool on) {
    for (Tensor p : ps) p.set_requires_grad(on);
  };
  m.generator->train();
  m.discriminator->train();
  // One labeled and one unlabeled batch (with the labels and state targets of its items).
  struct Draw {
    Tensor xl, yl, xu, target_u;
  };
  auto draw = [&] {
    Draw b;
    std::vector<int64_t> items_l = items_at(in.labeled, lab.next());
    std::vector<int64_t> pos_u = unl.next();
    if (pg) {
      items_l = rank_share(items_l, rank, ranks);
      pos_u = rank_share(pos_u, rank, ranks);
    }
    b.xl = vae_input(in.train, items_l, in.device);
    b.xu = vae_input(in.train, items_at(in.unlabeled, pos_u), in.device);
    if (setup.use_stl) b.yl = labels_of(in.train, items_l, in.device);
    b.target_u = index_select(unlabeled_targets,
                              Tensor::from_vector(pos_u, {int64_t(pos_u.size())}).to(in.device))
                     .reshape({int64_t(pos_u.size()), 1});
    return b;
  };
  // As both released codes: every step after the iteration's first draws fresh batches, except
  // the first discriminator step, which reuses the last generator step's.
  for (int64_t it = 0; it < a.iterations; ++it) {
    if (pg) broadcast_coalesced(buffers, *pg);
    Draw b = draw();
    for (int64_t s = 0; s < a.g_steps; ++s) {
      if (s > 0) b = draw();
      set_trainable(d_params, false);
      GeneratorLoss loss =
          generator_loss(*m.generator, *m.discriminator, b.xl, b.yl, b.xu, a, setup.use_stl,
                         info.segmentation ? info.ignore_index : -100, share_noise);
      g_opt.zero_grad();
      if (pg) {
        // Each term is a mean over the share, weighted 1/K, except a KL summed over the batch
        // (VAAL's released form), whose shares add up as they are.
        Tensor scaled = mul(loss.total, share);
        if (a.kl_reduction == KlReduction::sum)
          scaled = add(scaled, mul(loss.kl, a.kl_weight * (1.f - share)));
        scaled.backward();
        g_reducer->synchronize();
      } else {
        loss.total.backward();
      }
      set_trainable(d_params, true);
      g_opt.step();
      checked_loss(loss.total, fmt::format("adversarial iteration {}: generator", it + 1));
      if (log && s + 1 == a.g_steps) last_g = loss;
    }
    for (int64_t s = 0; s < a.d_steps; ++s) {
      if (s > 0) b = draw();
      Tensor mu_l, mu_u;
      {
        NoGradGuard ng;
        mu_l = m.generator->encode(b.xl).first;
        mu_u = m.generator->encode(b.xu).first;
      }
      Tensor d_loss = discriminator_loss(*m.discriminator, mu_l, mu_u, b.target_u);
      d_opt.zero_grad();
      if (pg) {
        mul(d_loss, share).backward();
        d_reducer->synchronize();
      } else {
        d_loss.backward();
      }
      d_opt.step();
      checked_loss(d_loss, fmt::format("adversarial iteration {}: discriminator", it + 1));
      if (log && s + 1 == a.d_steps) last_d = d_loss;
    }
    if (log && ((it + 1) % log_every == 0 || it + 1 == a.iterations)) {
      AdversarialLogRow row = log_row(it + 1, g_opt.lr(), last_g, last_d);
      if (pg) {  // the means over the ranks' shares: the global batch's losses
        std::vector<double> v{row.generator, row.recon, row.kl,
                              row.stl,       row.adv,   row.discriminator};
        pg->all_reduce_sum(v);
        const double kl_ranks = a.kl_reduction == KlReduction::sum ? 1 : ranks;
        row.generator = (v[0] - v[2] * a.kl_weight) / ranks + v[2] * a.kl_weight / kl_ranks;
        row.recon = v[1] / ranks, row.kl = v[2] / kl_ranks;
        row.stl = v[3] / ranks, row.adv = v[4] / ranks, row.discriminator = v[5] / ranks;
      }
      log->push_back(row);
    }
    g_lr.step(g_opt);
    d_lr.step(d_opt);
    fault_point();
    if (in.progress) in.progress("adversarial training", it + 1, a.iterations);
  }
  if (pg) {
    broadcast_coalesced(buffers, *pg);
    m.generator->set_batch_share(0, 0);
    synchronise_batch_norm(*m.generator, nullptr);
  }
  return m;
}

Tensor unlabeled_state(AdversarialModels& m, const Dataset& ds, const std::vector<int64_t>& items,
                       int64_t batch, Device device, const ProcessGroup* group) {
  return over_shares(group, items, [&](const std::vector<int64_t>& mine) {
    NoGradGuard ng;
    m.generator->eval();
    m.discriminator->eval();
    std::vector<Tensor> parts;
    for (size_t s = 0; s < mine.size(); s += size_t(batch)) {
      std::vector<int64_t> part(mine.begin() + long(s),
                                mine.begin() + long(std::min(mine.size(), s + size_t(batch))));
      Tensor mu = m.generator->encode(vae_input(ds, part, device)).first;
      parts.push_back(m.discriminator->forward(mu).reshape({int64_t(part.size())}));
    }
    return std::vector<Tensor>{concat(parts, 0)};
  })[0];
}

}  // namespace sr
