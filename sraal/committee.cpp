// Committees of segmentation models: training them and their vote entropy, bootstrap
// uncertainty and descriptors (see committee.h).
#include "sraal/committee.h"

#include <cmath>

#include "data/batch.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "sraal/segmentation_outputs.h"
#include "sraal/train_classifier.h"

namespace sr {

namespace {

constexpr int64_t kBatch = 32;  // images through the members at a time

// Runs fn(images, member probabilities (N, C, H, W) each) over `items` in eval mode.
template <class Fn>
void over_member_batches(const std::vector<Module*>& members, const Dataset& ds,
                         const std::vector<int64_t>& items, Device device, const char* what,
                         const ProgressFn& progress, Fn fn) {
  SR_CHECK_VALUE(!members.empty() && !items.empty(), "committee: {} members for {} items",
                 members.size(), items.size());
  NoGradGuard ng;
  for (Module* m : members) m->eval();
  int64_t done = 0;
  for (const auto& part : epoch_batches(items, kBatch, false, false, 0, 0)) {
    Tensor x = make_batch(ds, part, Augment{}, 0, 0).images.to(device);
    fn(x, part.size());
    done += int64_t(part.size());
    if (progress) progress(what, done, int64_t(items.size()));
  }
}

}  // namespace

std::vector<std::shared_ptr<Module>> train_committee(const SelectionInput& in,
                                                     const std::vector<std::vector<int64_t>>& pools,
                                                     const std::string& method) {
  SR_CHECK_VALUE(bool(in.train_model),
                 "method {} trains a committee and needs the experiment's "
                 "target training (SelectionInput::train_model)",
                 method);
  std::vector<std::shared_ptr<Module>> out;
  for (size_t k = 0; k < pools.size(); ++k) {
    if (in.progress)
      in.progress(fmt::format("training committee member {}", k + 1), int64_t(k),
                  int64_t(pools.size()));
    out.push_back(in.train_model(pools[k], derive_seed(in.seed, 100 + k)));
  }
  return out;
}

namespace {

Tensor vote_entropy_here(const std::vector<Module*>& members, const Dataset& ds,
                         const std::vector<int64_t>& items, Device device,
                         const ProgressFn& progress) {
  const int64_t m = int64_t(members.size());
  std::vector<float> scores;
  scores.reserve(items.size());
  over_member_batches(members, ds, items, device, "committee votes", progress,
                      [&](const Tensor& x, size_t n) {
                        std::vector<std::vector<float>> logits;  // per member (n, C, H, W)
                        Shape shape;
                        for (Module* mod : members) {
                          Tensor l = (*mod)(x);
                          shape = l.shape();
                          logits.push_back(l.to_vector());
                        }
                        const int64_t c = shape[1], hw = shape[2] * shape[3];
                        std::vector<int64_t> votes(static_cast<size_t>(c));
                        for (size_t i = 0; i < n; ++i) {
                          double total = 0;
                          for (int64_t px = 0; px < hw; ++px) {
                            std::fill(votes.begin(), votes.end(), 0);
                            for (const auto& l : logits) {
                              const float* v = l.data() + int64_t(i) * c * hw + px;
                              int64_t best = 0;  // argmax over classes, first on ties
                              for (int64_t k = 1; k < c; ++k)
                                if (v[k * hw] > v[best * hw]) best = k;
                              ++votes[size_t(best)];
                            }
                            for (int64_t k : votes)
                              if (k > 0) {
                                double f = double(k) / double(m);
                                total -= f * std::log(f);
                              }
                          }
                          scores.push_back(float(total / double(hw)));
                        }
                      });
  return Tensor::from_vector(scores, {int64_t(scores.size())});
}

EnsembleOutputs ensemble_outputs_here(const std::vector<Module*>& members, const Dataset& ds,
                                      const std::vector<int64_t>& items, Device device,
                                      const ProgressFn& progress) {
  std::vector<FeatureSegmenter*> segs;
  for (Module* m : members) segs.push_back(&feature_segmenter(*m, "sa"));
  const float inv = 1.f / float(members.size());
  std::vector<Tensor> unc;
  std::vector<std::vector<Tensor>> feats(members.size());
  over_member_batches(members, ds, items, device, "ensemble outputs", progress,
                      [&](const Tensor& x, size_t) {
                        Tensor s1, s2;  // sums of p and p^2 over the members
                        for (size_t k = 0; k < segs.size(); ++k) {
                          Tensor f = segs[k]->features(x);
                          Tensor p = softmax(segs[k]->head(f), 1);
                          s1 = k == 0 ? p : add(s1, p);
                          s2 = k == 0 ? mul(p, p) : add(s2, mul(p, p));
                          Tensor d = mean(f, {2, 3});
                          Tensor norm = sqrt(add(sum(mul(d, d), {1}, true), 1e-12f));
                          feats[k].push_back(div(d, norm).to(Device::cpu));
                        }
                        Tensor mu = mul(s1, inv);
                        Tensor var = clamp(sub(mul(s2, inv), mul(mu, mu)), 0.f, INFINITY);
                        unc.push_back(mean(sqrt(var), {1, 2, 3}).to(Device::cpu));
                      });
  std::vector<Tensor> per_member;
  for (auto& f : feats) per_member.push_back(concat(f, 0).reshape({1, -1, f.front().size(1)}));
  return {concat(unc, 0), concat(per_member, 0)};
}

}  // namespace

Tensor vote_entropy(const std::vector<Module*>& members, const Dataset& ds,
                    const std::vector<int64_t>& items, Device device, const ProgressFn& progress,
                    const ProcessGroup* group) {
  return over_shares(group, items, [&](const std::vector<int64_t>& mine) {
    return std::vector<Tensor>{vote_entropy_here(members, ds, mine, device, progress)};
  })[0];
}

EnsembleOutputs ensemble_outputs(const std::vector<Module*>& members, const Dataset& ds,
                                 const std::vector<int64_t>& items, Device device,
                                 const ProgressFn& progress, const ProcessGroup* group) {
  // Rows per item: the uncertainty, then each member's features (n, d).
  std::vector<Tensor> rows = over_shares(group, items, [&](const std::vector<int64_t>& mine) {
    EnsembleOutputs e = ensemble_outputs_here(members, ds, mine, device, progress);
    std::vector<Tensor> out{e.uncertainty};
    for (int64_t k = 0; k < e.features.size(0); ++k) out.push_back(e.features.select(k));
    return out;
  });
  std::vector<Tensor> per_member;
  for (size_t k = 1; k < rows.size(); ++k)
    per_member.push_back(rows[k].reshape({1, rows[k].size(0), rows[k].size(1)}));
  return {rows[0], concat(per_member, 0)};
}

}  // namespace sr
