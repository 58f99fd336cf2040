// BADGE (Ash et al. 2020): k-means++ seeding in the space of the last layer's gradient
// embeddings under the predicted label, g_i = (p_i - onehot(argmax p_i)) (x) h_i, with p_i the
// target's softmax and h_i its penultimate features (C d dimensions). The first pick is the item
// of largest ||g_i||, each later one is drawn with probability proportional to its squared
// distance from the nearest pick so far (D^2 sampling; uniformly among the rest when every
// distance is 0). Factorised, never the N x (C d) matrix:
//   ||g_i||^2 = ||a_i||^2 ||h_i||^2,  <g_i, g_j> = (a_i . a_j)(h_i . h_j),  a = p - onehot
// so a pick costs one product F h_j (N x d, on the features' device) and O(N C) on the host.
// ||h_i||^2 and h_i . h_j come from different float reductions, so the factorised distance of two
// equal embeddings is a rounding residue, not 0: distances below kRelTol (||g_i||^2 + ||g_j||^2)
// count as 0, so that a duplicate of a pick is never drawn while another item is left.
// Sharded over a group (sraal run --distribute data): each rank updates the distances of its
// contiguous share of the items (the product and the O(N C) loop), the shares are gathered, and
// every rank draws from the whole vector as one process does, with the same bits.
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/autograd.h"
#include "engine/distributed.h"
#include "engine/ops.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

constexpr double kRelTol = 1e-5;  // a few float roundings of the products above

class BadgeStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    TargetOutputs out = target_outputs(in.target, in.train, in.unlabeled, "badge", in.device,
                                       in.progress, in.group);
    std::vector<int64_t> picks =
        badge_picks(out.features, out.logits, in.budget, in.seed, in.group);
    std::vector<int64_t> chosen;
    for (int64_t p : picks) chosen.push_back(in.unlabeled[size_t(p)]);
    return chosen;
  }

  static std::vector<int64_t> badge_picks(const Tensor& features, const Tensor& logits,
                                          int64_t budget, uint64_t seed,
                                          const ProcessGroup* group) {
    NoGradGuard ng;
    int64_t n = features.size(0), c = logits.size(1);
    SR_CHECK_VALUE(budget >= 1 && budget <= n, "badge: budget {} for {} items", budget, n);
    std::vector<float> p = softmax(logits, 1).to(Device::cpu).to_vector();
    std::vector<float> h2 = sum(mul(features, features), {1}).to(Device::cpu).to_vector();
    std::vector<double> a(static_cast<size_t>(n * c)), g2(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const float* pi = p.data() + i * c;
      int64_t top = 0;
      for (int64_t k = 1; k < c; ++k)
        if (pi[k] > pi[top]) top = k;
      double a2 = 0;
      for (int64_t k = 0; k < c; ++k) {
        double v = double(pi[k]) - (k == top ? 1.0 : 0.0);
        a[size_t(i * c + k)] = v;
        a2 += v * v;
      }
      g2[size_t(i)] = a2 * double(h2[size_t(i)]);
    }
    int64_t first = 0;
    for (int64_t i = 1; i < n; ++i)
      if (g2[size_t(i)] > g2[size_t(first)]) first = i;

    // This rank's share [b, e) of the items (all of them in one process).
    const int ranks = group ? group->size() : 1, rank = group ? group->rank() : 0;
    const int64_t b = n * rank / ranks, e = n * (rank + 1) / ranks;
    Generator gen(seed);
    std::vector<double> d2(size_t(n), std::numeric_limits<double>::infinity());
    std::vector<char> taken(size_t(n), 0);
    std::vector<int64_t> picks = {first};
    for (int64_t j = first;;) {
      taken[size_t(j)] = 1;
      d2[size_t(j)] = 0;
      if (int64_t(picks.size()) == budget) break;
      Tensor hj = transpose2d(features.narrow(0, j, 1));
      std::vector<float> hh =
          e > b ? matmul(features.narrow(0, b, e - b), hj).to(Device::cpu).to_vector()
                : std::vector<float>{};
      const double* aj = a.data() + j * c;
      for (int64_t i = b; i < e; ++i) {
        if (taken[size_t(i)]) continue;
        const double* ai = a.data() + i * c;
        double dot = 0;
        for (int64_t k = 0; k < c; ++k) dot += ai[k] * aj[k];
        double scale = g2[size_t(i)] + g2[size_t(j)];
        double d = scale - 2 * dot * double(hh[size_t(i - b)]);
        if (d <= kRelTol * scale) d = 0;
        d2[size_t(i)] = std::min(d2[size_t(i)], d);
      }
      if (ranks > 1) gather_shares(*group, d2, b, e);
      double total = 0;  // in item order on every rank, as in one process
      for (int64_t i = 0; i < n; ++i)
        if (!taken[size_t(i)]) total += d2[size_t(i)];
      j = draw(d2, taken, total, gen);
      picks.push_back(j);
    }
    return picks;
  }

 private:
  // d2[b, e) of every rank into every rank's d2 (the shares in rank order tile [0, n)).
  static void gather_shares(const ProcessGroup& group, std::vector<double>& d2, int64_t b,
                            int64_t e) {
    std::string mine(reinterpret_cast<const char*>(d2.data() + b), size_t(e - b) * sizeof(double));
    size_t at = 0;
    for (const std::string& share : group.all_gather(mine)) {
      std::memcpy(d2.data() + at, share.data(), share.size());
      at += share.size() / sizeof(double);
    }
    SR_CHECK(at == d2.size(), "badge: the ranks' shares hold {} of {} items", at, d2.size());
  }

  // An untaken index with probability d2[i] / total; uniform over the untaken when total is 0.
  static int64_t draw(const std::vector<double>& d2, const std::vector<char>& taken, double total,
                      Generator& gen) {
    int64_t n = int64_t(d2.size()), last = -1;
    if (total > 0) {
      double u = gen.uniform() * total, cum = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (taken[size_t(i)] || d2[size_t(i)] <= 0) continue;
        cum += d2[size_t(i)];
        last = i;
        if (cum > u) return i;
      }
      return last;  // u within rounding of the total
    }
    int64_t left = 0;
    for (char t : taken) left += !t;
    int64_t k = gen.randint(left);
    for (int64_t i = 0; i < n; ++i)
      if (!taken[size_t(i)] && k-- == 0) return i;
    return last;
  }
};

}  // namespace

// For the tests: the positions BADGE picks among the rows of (features, logits).
std::vector<int64_t> badge_picks(const Tensor& features, const Tensor& logits, int64_t budget,
                                 uint64_t seed, const ProcessGroup* group) {
  return BadgeStrategy::badge_picks(features, logits, budget, seed, group);
}

REGISTER_STRATEGY({"badge",
                   "k-means++ on the last layer's gradient embeddings (Ash et al. 2020)",
                   {},
                   [](const StrategyContext&) { return std::make_unique<BadgeStrategy>(); }});

}  // namespace sr
