// Plain references of the selection kernels (see selection_reference.h): the oracles.
#include "engine/cpu/selection_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/error.h"

namespace sr::ref {

void uncertainty_scores(const float* x, int64_t n, int64_t c, const ScoreOptions& opt,
                        float* scores) {
  std::vector<double> u(static_cast<size_t>(c));
  const ScoreConsts<double> k = make_score_consts<double>(c, opt.scaling);
  for (int64_t r = 0; r < n; ++r) {
    const float* row = x + r * c;
    double scale = 1.0, logit_max = 0.0;
    if (opt.logits) {  // u_i = exp(x_i - max x), V = u / sum u
      logit_max = *std::max_element(row, row + c);
      double t = 0;
      for (int64_t i = 0; i < c; ++i) t += u[size_t(i)] = std::exp(double(row[i]) - logit_max);
      scale = 1.0 / t;
    } else {
      for (int64_t i = 0; i < c; ++i) u[size_t(i)] = row[i];
    }
    int64_t arg = 0;
    for (int64_t i = 1; i < c; ++i)
      if (u[size_t(i)] > u[size_t(arg)]) arg = i;
    double M = u[size_t(arg)], lo = *std::min_element(u.begin(), u.end());
    double T = std::accumulate(u.begin(), u.end(), 0.0);
    if (opt.kind == ScoreKind::entropy) {
      double H = 0;
      for (int64_t i = 0; i < c; ++i) {
        double v = u[size_t(i)] * scale;
        if (v > 0) H -= v * std::log(v);
      }
      scores[r] = entropy_score(k, M, lo, H);
      continue;
    }
    double mu = (T - M) / double(c - 1), E = 0;
    for (int64_t i = 0; i < c; ++i)
      if (i != arg) E += (u[size_t(i)] - mu) * (u[size_t(i)] - mu);
    scores[r] = opt.kind == ScoreKind::sd ? sd_score(k, M, lo, T, E, scale)
                                          : indicator_score(k, M, lo, T, E, scale);
  }
}

void spatial_mean_probs(const float* x, int64_t n, int64_t c, int64_t hw, bool logits, float* out) {
  std::vector<double> acc(static_cast<size_t>(c));
  for (int64_t s = 0; s < n; ++s) {
    const float* xs = x + s * c * hw;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t p = 0; p < hw; ++p) {
      if (!logits) {
        for (int64_t i = 0; i < c; ++i) acc[size_t(i)] += xs[i * hw + p];
        continue;
      }
      double mx = -std::numeric_limits<double>::infinity(), t = 0;
      for (int64_t i = 0; i < c; ++i) mx = std::max(mx, double(xs[i * hw + p]));
      for (int64_t i = 0; i < c; ++i) t += std::exp(double(xs[i * hw + p]) - mx);
      for (int64_t i = 0; i < c; ++i) acc[size_t(i)] += std::exp(double(xs[i * hw + p]) - mx) / t;
    }
    for (int64_t i = 0; i < c; ++i) out[s * c + i] = float(acc[size_t(i)] / double(hw));
  }
}

void pairwise_sq_dists(const float* a, int64_t m, const float* b, int64_t n, int64_t d,
                       float* out) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < n; ++k) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) {
        double t = double(a[i * d + j]) - double(b[k * d + j]);
        s += t * t;
      }
      out[i * n + k] = float(s);
    }
}

std::vector<int64_t> kcenter_greedy(const float* x, int64_t n, int64_t d,
                                    const std::vector<int64_t>& centers, int64_t k) {
  for (int64_t i = 0; i < n * d; ++i)
    SR_CHECK_VALUE(std::isfinite(x[i]), "kcenter_greedy: point {} has a non-finite coordinate",
                   i / d);
  const float inf = std::numeric_limits<float>::infinity();
  // Running squared distance to the nearest center; -inf marks the centers themselves.
  std::vector<float> dmin(static_cast<size_t>(n), inf);
  for (int64_t c : centers) dmin[size_t(c)] = -inf;
  auto add_center = [&](int64_t c) {
    for (int64_t i = 0; i < n; ++i) {
      float dd = sq_dist_canonical(x + i * d, x + c * d, d);
      if (dd < dmin[size_t(i)]) dmin[size_t(i)] = dd;
    }
  };
  for (int64_t c : centers) add_center(c);
  std::vector<int64_t> picks;
  for (int64_t p = 0; p < k; ++p) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
      if (farther(dmin[size_t(i)], i, dmin[size_t(best)], best)) best = i;
    picks.push_back(best);
    dmin[size_t(best)] = -inf;
    add_center(best);
  }
  return picks;
}

std::vector<int64_t> top_k(const float* s, int64_t n, int64_t k) {
  for (int64_t i = 0; i < n; ++i) SR_CHECK_VALUE(!std::isnan(s[i]), "top_k: score {} is NaN", i);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

}  // namespace sr::ref
