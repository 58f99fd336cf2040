// Suggestive Annotation (Yang et al., MICCAI 2017) for segmentation:
//   1. `members` models trained with the target's recipe, each on a bootstrap sample of D_L
//      (|D_L| items drawn with replacement);
//   2. uncertainty of each item of D_U: the standard deviation over the members of the per-pixel
//      class probabilities, averaged over the classes and pixels (sraal/committee.h); the
//      `candidates` x budget most uncertain form the candidate set S_c;
//   3. representativeness: greedy maximum cover of D_U by S_c, choosing `budget` items S_a of
//      S_c that maximise F(S_a) = sum_{u in D_U} max_{s in S_a} sim(s, u), where sim is the
//      cosine similarity of the members' descriptors (each member's encoder map averaged over
//      its positions, as the paper's mean-pooled encoder output), averaged over the members
//      (their feature spaces are not aligned, so each compares in its own). Each step adds the
//      candidate of the largest gain sum_u max(0, sim(s, u) - cover(u)); ties to the more
//      uncertain. The paper's 1/2 ratio of annotated to candidate images is candidates = 2.
// Options: members (default 3, >= 2), candidates (default 2.0, >= 1).
#include <algorithm>
#include <cmath>

#include "engine/ops.h"
#include "engine/selection.h"
#include "sraal/committee.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

class SaStrategy : public Strategy {
 public:
  explicit SaStrategy(const nlohmann::json& o)
      : members_(o.at("members").get<int64_t>()), ratio_(o.at("candidates").get<double>()) {
    SR_CHECK_VALUE(members_ >= 2 && members_ <= 32, "method sa: members {} must lie in [2, 32]",
                   members_);
    SR_CHECK_VALUE(std::isfinite(ratio_) && ratio_ >= 1 && ratio_ <= 100,
                   "method sa: candidates {} (a multiple of the budget) must lie in [1, 100]",
                   ratio_);
  }

  std::vector<int64_t> select(const SelectionInput& in) override {
    Generator g(derive_seed(in.seed, 7));
    const int64_t l = int64_t(in.labeled.size());
    std::vector<std::vector<int64_t>> pools(static_cast<size_t>(members_));
    for (auto& p : pools)
      for (int64_t i = 0; i < l; ++i) p.push_back(in.labeled[size_t(g.randint(l))]);
    std::vector<std::shared_ptr<Module>> owned = train_committee(in, pools, "sa");
    std::vector<Module*> members;
    for (auto& m : owned) members.push_back(m.get());
    EnsembleOutputs e =
        ensemble_outputs(members, in.train, in.unlabeled, in.device, in.progress, in.group);

    const int64_t n = int64_t(in.unlabeled.size());
    int64_t k = std::min<int64_t>(
        n, std::max<int64_t>(in.budget, int64_t(std::llround(ratio_ * in.budget))));
    std::vector<int64_t> cand = top_k(e.uncertainty, k);         // positions, most uncertain first
    std::vector<float> sim = mean_similarity(e.features, cand);  // (k, n)
    std::vector<float> cover(size_t(n), -1.f);  // cosine >= -1: nothing covered yet
    std::vector<bool> taken(size_t(k), false);
    std::vector<int64_t> out;
    if (in.progress) in.progress("max-cover picks", 0, in.budget);
    for (int64_t step = 0; step < in.budget; ++step) {
      int64_t best = -1;
      double best_gain = -1;
      for (int64_t c = 0; c < k; ++c) {
        if (taken[size_t(c)]) continue;
        double gain = 0;
        const float* row = sim.data() + c * n;
        for (int64_t u = 0; u < n; ++u) gain += std::max(0.f, row[u] - cover[size_t(u)]);
        if (gain > best_gain) best_gain = gain, best = c;  // strict: ties keep the earlier
      }
      taken[size_t(best)] = true;
      const float* row = sim.data() + best * n;
      for (int64_t u = 0; u < n; ++u) cover[size_t(u)] = std::max(cover[size_t(u)], row[u]);
      out.push_back(in.unlabeled[size_t(cand[size_t(best)])]);
    }
    return out;
  }

 private:
  // sim[c][u] = mean over members of <f_m(cand c), f_m(u)> (unit rows: cosine similarity).
  static std::vector<float> mean_similarity(const Tensor& features,
                                            const std::vector<int64_t>& cand) {
    const int64_t m = features.size(0), n = features.size(1), d = features.size(2);
    const int64_t k = int64_t(cand.size());
    Tensor total;
    for (int64_t j = 0; j < m; ++j) {
      Tensor f = features.narrow(0, j, 1).reshape({n, d}).contiguous();
      std::vector<float> all = f.to_vector(), rows;
      rows.reserve(size_t(k * d));
      for (int64_t c : cand)
        rows.insert(rows.end(), all.begin() + c * d, all.begin() + (c + 1) * d);
      Tensor s = matmul(Tensor::from_vector(rows, {k, d}), transpose2d(f));
      total = j == 0 ? s : add(total, s);
    }
    return mul(total, 1.f / float(m)).to_vector();
  }

  int64_t members_;
  double ratio_;
};

}  // namespace

REGISTER_STRATEGY({"sa",
                   "Suggestive Annotation: bootstrap-ensemble uncertainty, then max-cover of "
                   "cosine similarity (Yang et al. 2017)",
                   {{"members", 3}, {"candidates", 2.0}},
                   [](const StrategyContext& c) { return std::make_unique<SaStrategy>(c.options); },
                   {Task::segmentation}});

}  // namespace sr
