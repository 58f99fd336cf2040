// BADGE (Ash et al. 2020): k-means++ seeding in the space of the last layer's gradient
// embeddings under the predicted label, g_i = (p_i - onehot(argmax p_i)) (x) h_i, with p_i the
// target's softmax and h_i its penultimate features (C d dimensions). The first pick is the item
// of largest ||g_i||, each later one is drawn with probability proportional to its squared
// distance from the nearest pick so far (D^2 sampling; uniformly among the rest when every
// distance is 0). Factorised, never the N x (C d) matrix:
//   ||g_i||^2 = ||a_i||^2 ||h_i||^2,  <g_i, g_j> = (a_i . a_j)(h_i . h_j),  a = p - onehot
// Everything stays on the features' device as tensor ops: a pick costs two products A a_j and
// F h_j (N x C, N x d), an element-wise update of the distances and a running sum; the draw
// takes the first item whose running sum passes u * total, counted on the device, so that a
// pick moves 8 bytes to the host (the total and the count), not the pool.
// ||h_i||^2 and h_i . h_j come from different float reductions, so the factorised distance of two
// equal embeddings is a rounding residue, not 0: distances below kRelTol (||g_i||^2 + ||g_j||^2)
// count as 0, so that a duplicate of a pick is never drawn while another item is left.
// Sharded over a group (sraal run --distribute data): each rank updates the distances of its
// contiguous share of the items (the products and the update), the shares are gathered, and
// every rank draws from the whole vector as one process does, with the same bits.
#include <cmath>

#include "engine/autograd.h"
#include "engine/distributed.h"
#include "engine/ops.h"
#include "engine/selection.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

constexpr float kRelTol = 1e-5f;  // a few float roundings of the products above

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

  static std::vector<int64_t> badge_picks(const Tensor& features_in, const Tensor& logits,
                                          int64_t budget, uint64_t seed,
                                          const ProcessGroup* group) {
    NoGradGuard ng;
    const int64_t n = features_in.size(0), c = logits.size(1);
    SR_CHECK_VALUE(budget >= 1 && budget <= n, "badge: budget {} for {} items", budget, n);
    SR_CHECK_VALUE(n < (int64_t(1) << 24), "badge: {} items, more than a float32 count holds", n);
    const Tensor features = features_in.contiguous();
    // a = p - onehot(argmax p) (N, C); g2 = ||a||^2 ||h||^2 (N, 1).
    Tensor p = softmax(logits, 1);
    Tensor a = sub(p, one_hot(argmax(p), c));
    Tensor g2 = mul(sum(mul(a, a), {1}, true), sum(mul(features, features), {1}, true));
    const int64_t first = top_k(g2.reshape({n}), 1)[0];

    // This rank's share [b, e) of the items (all of them in one process).
    const int ranks = group ? group->size() : 1, rank = group ? group->rank() : 0;
    const int64_t b = n * rank / ranks, e = n * (rank + 1) / ranks;
    const Share mine{a.narrow(0, b, e - b), features.narrow(0, b, e - b), g2.narrow(0, b, e - b)};
    Generator gen(seed);
    std::vector<char> taken(size_t(n), 0);
    Tensor d2;  // (e - b, 1): the share's squared distances to the nearest pick so far
    std::vector<int64_t> picks = {first};
    for (int64_t j = first;;) {
      taken[size_t(j)] = 1;
      if (int64_t(picks.size()) == budget) break;
      Tensor d = mine.sq_dists_to(a.narrow(0, j, 1), features.narrow(0, j, 1), g2.narrow(0, j, 1));
      d2 = d2.defined() ? minimum(d2, d) : d;
      if (j >= b && j < e) d2.narrow(0, j - b, 1).fill_(0);  // a pick is its own nearest
      Tensor all = ranks > 1 ? group->all_gather_rows(d2.to(Device::cpu)).to(d2.device()) : d2;
      j = draw(all.reshape({n}), taken, gen);
      picks.push_back(j);
    }
    return picks;
  }

 private:
  // The factors of a share of the items' gradient embeddings.
  struct Share {
    Tensor a, h, g2;  // (m, C), (m, d), (m, 1)
    // (m, 1): ||g_i - g_j||^2 for the share's items i, 0 where below the rounding tolerance.
    Tensor sq_dists_to(const Tensor& aj, const Tensor& hj, const Tensor& g2j) const {
      if (a.size(0) == 0) return Tensor::zeros({0, 1}, DType::f32, a.device());
      Tensor dot = mul(matmul(a, transpose2d(aj)), matmul(h, transpose2d(hj)));
      Tensor scale = add(g2, g2j);
      Tensor d = sub(scale, mul(dot, 2.f));
      return mul(d, greater(d, mul(scale, kRelTol)));
    }
  };

  // An untaken index with probability d2[i] / total (d2 (N) >= 0, 0 at the picks); uniform over
  // the untaken when total is 0. The first index whose running sum passes u * total is N minus
  // the count of running sums above it (u * total rounded up to the total: the last positive).
  static int64_t draw(const Tensor& d2, const std::vector<char>& taken, Generator& gen) {
    const int64_t n = d2.numel();
    Tensor cum = cumsum(d2);
    Tensor total = cum.narrow(0, n - 1, 1);
    const float t = total.item<float>();
    SR_CHECK_VALUE(std::isfinite(t),
                   "badge: the squared distances sum to {} (non-finite gradient embeddings)", t);
    if (t > 0) {
      const float u = float(gen.uniform());
      const auto above = int64_t(sum(greater(cum, mul(total, u))).item<float>());
      return above > 0 ? n - above : argmax(cum).item<int64_t>();
    }
    int64_t left = 0;
    for (char k : taken) left += !k;
    int64_t k = gen.randint(left);
    for (int64_t i = 0; i < n; ++i)
      if (!taken[size_t(i)] && k-- == 0) return i;
    SR_CHECK(false, "badge: no item left to draw among {}", n);
    return -1;
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
