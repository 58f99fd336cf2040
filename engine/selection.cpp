// Selection ops (see selection.h): argument checks, layouts and allocation, then the kernel slot
// of the inputs' device (engine/kernels.h).
#include "engine/selection.h"

#include <unordered_set>

#include "engine/backend.h"
#include "engine/kernels.h"
#include "engine/random.h"

namespace sr {
namespace {

// A contiguous float32 copy-free view where possible, detached from autograd.
Tensor dense_f32(const Tensor& t, const char* op, const char* what) {
  check_dtype(t, DType::f32, op, what);
  return t.detach().contiguous();
}

}  // namespace

Tensor spatial_mean_probs(const Tensor& x, bool logits) {
  const char* op = "spatial_mean_probs";
  check_dim(x, 4, op, "x");
  SR_CHECK_SHAPE(x.size(1) >= 1 && x.size(2) * x.size(3) >= 1,
                 "{}: x must have classes and pixels, got shape {}", op, shape_str(x.shape()));
  Tensor xc = dense_f32(x, op, "x");
  Tensor out = Tensor::empty({x.size(0), x.size(1)}, DType::f32, x.device());
  if (x.size(0) > 0) kernels::spatial_mean_probs(x.device(), xc, logits, out);
  return out;
}

Tensor uncertainty_scores(const Tensor& x, const ScoreOptions& opt) {
  const char* op = "uncertainty_scores";
  check_defined(x, op, "x");
  SR_CHECK_SHAPE(x.dim() == 2 || x.dim() == 4, "{}: x must be (N, C) or (N, C, H, W), got shape {}",
                 op, shape_str(x.shape()));
  SR_CHECK_SHAPE(x.size(1) >= 2, "{}: needs at least 2 classes, got shape {}", op,
                 shape_str(x.shape()));
  Tensor rows = dense_f32(x, op, "x");
  ScoreOptions o = opt;
  if (x.dim() == 4) {  // average the per-pixel probabilities first
    rows = spatial_mean_probs(rows, opt.logits);
    o.logits = false;
  }
  Tensor scores = Tensor::empty({x.size(0)}, DType::f32, x.device());
  if (x.size(0) > 0) kernels::uncertainty_scores(x.device(), rows, o, scores);
  return scores;
}

Tensor uncertainty_scores(const Tensor& x, ScoreKind kind, bool logits, IndicatorScaling scaling) {
  return uncertainty_scores(x, ScoreOptions{kind, logits, scaling});
}

Tensor pairwise_sq_dists(const Tensor& a, const Tensor& b) {
  const char* op = "pairwise_sq_dists";
  check_dim(a, 2, op, "a");
  check_dim(b, 2, op, "b");
  check_same_device(a, b, op);
  SR_CHECK_SHAPE(a.size(1) == b.size(1), "{}: a {} and b {} differ in dimension", op,
                 shape_str(a.shape()), shape_str(b.shape()));
  Tensor ac = dense_f32(a, op, "a"), bc = dense_f32(b, op, "b");
  Tensor out = Tensor::empty({a.size(0), b.size(0)}, DType::f32, a.device());
  if (out.numel() > 0) kernels::pairwise_sq_dists(a.device(), ac, bc, out);
  return out;
}

std::vector<int64_t> kcenter_starts(const char* op, int64_t n, const std::vector<int64_t>& initial,
                                    int64_t k, uint64_t seed, int64_t random_starts) {
  SR_CHECK_VALUE(k >= 0, "{}: k must be non-negative, got {}", op, k);
  std::unordered_set<int64_t> seen;
  for (int64_t c : initial) {
    SR_CHECK_VALUE(c >= 0 && c < n, "{}: initial center {} is out of range for {} points", op, c,
                   n);
    SR_CHECK_VALUE(seen.insert(c).second, "{}: initial center {} is listed twice", op, c);
  }
  const int64_t available = n - int64_t(initial.size());
  SR_CHECK_VALUE(k <= available,
                 "{}: k = {} exceeds the {} points that are not centers ({} points, {} "
                 "initial centers)",
                 op, k, available, n, initial.size());
  std::vector<int64_t> picks;
  if (initial.empty() && k > 0) {
    SR_CHECK_VALUE(random_starts >= 1,
                   "{}: random_starts must be at least 1 when there are no initial centers, "
                   "got {}",
                   op, random_starts);
    Generator gen(seed);
    while (int64_t(picks.size()) < std::min(random_starts, k)) {
      int64_t i = gen.randint(n);
      if (seen.insert(i).second) picks.push_back(i);
    }
  }
  return picks;
}

std::vector<int64_t> kcenter_greedy(const Tensor& points, const std::vector<int64_t>& initial,
                                    int64_t k, uint64_t seed, int64_t random_starts, bool compact) {
  const char* op = "kcenter_greedy";
  check_dim(points, 2, op, "points");
  const int64_t n = points.size(0);
  SR_CHECK_SHAPE(points.size(1) >= 1, "{}: points need at least one dimension, got shape {}", op,
                 shape_str(points.shape()));
  std::vector<int64_t> picks = kcenter_starts(op, n, initial, k, seed, random_starts);
  Tensor pc = dense_f32(points, op, "points");
  const std::vector<int64_t>& centers = initial.empty() ? picks : initial;
  std::vector<int64_t> more;
  if (k > int64_t(picks.size()))
    kernels::kcenter_greedy(points.device(), pc, centers, k - int64_t(picks.size()), compact, more);
  picks.insert(picks.end(), more.begin(), more.end());
  return picks;
}

std::vector<int64_t> top_k(const Tensor& scores, int64_t k) {
  const char* op = "top_k";
  check_dim(scores, 1, op, "scores");
  SR_CHECK_VALUE(k >= 0 && k <= scores.size(0), "{}: k = {} is outside [0, {}]", op, k,
                 scores.size(0));
  Tensor sc = dense_f32(scores, op, "scores");
  std::vector<int64_t> picks;
  if (k > 0) kernels::top_k(scores.device(), sc, k, picks);
  return picks;
}

ScoreKind parse_score_kind(const std::string& s) {
  if (s == "indicator") return ScoreKind::indicator;
  if (s == "entropy") return ScoreKind::entropy;
  if (s == "sd") return ScoreKind::sd;
  throw ValueError(fmt::format("unknown uncertainty score '{}' (indicator | entropy | sd)", s));
}

const char* score_kind_name(ScoreKind k) {
  switch (k) {
    case ScoreKind::indicator:
      return "indicator";
    case ScoreKind::entropy:
      return "entropy";
    case ScoreKind::sd:
      return "sd";
  }
  return "?";
}

}  // namespace sr
