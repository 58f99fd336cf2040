// Formulas of the selection kernels shared by the CPU reference, the fast CPU kernels and CUDA.
//
// Uncertainty of one probability row V of C >= 2 classes (SPEC section 2), from row statistics
// of u = V / scale (u = V itself for probabilities; u_i = exp(x_i - max x) and scale = 1 / sum u
// for logits, so V = u * scale):
//   M = max u,  lo = min u,  T = sum u,  mu' = (T - M) / (C - 1)   (mean of the other entries)
//   D = C M - T                                  (C times the max's distance from the mean)
//   E = sum over i != argmax of (u_i - mu')^2    (spread of the other entries)
// For sum V = 1 the population variance splits exactly into Var = MINVar + E_V / C with
//   MINVar = ((1/C - m)^2 + (C-1)(1/C - (1-m)/(C-1))^2) / C = D_V^2 / (C^2 (C-1)),
// so MINVar / Var = D^2 / (D^2 + C (C-1) E): in [0, 1] by construction, 1 for one-hot rows
// (E = 0) and for C = 2 (V' = V: E is taken as 0), and independent of the scale of u.
//   indicator  1 - (MINVar / Var) m,  m = M scale; the `official` scaling (Var divided by C-1
//              as torch.var, MINVar by C) multiplies the ratio by (C-1)/C
//   sd         1 - sd(V) / sd(onehot_C) = 1 - sqrt(D_V^2 / (C-1)^2 + C E_V / (C-1))
//   entropy    H(V) / log C (natural logs; 0 log 0 = 0)
// A row is uniform when max - min <= kUniformRelTol * max (equal up to 4 float ulps; exactly
// equal rows have D = E = 0): then V' = V, the ratio is 1, and the scores are exactly 1 - 1/C
// (indicator; official scaling: 1 - (C-1)/C^2), 1 (entropy) and 1 (sd). Scores are clamped
// into [0, 1]. Higher = more uncertain for every kind.
//
// Greedy k-center compares squared Euclidean distances computed in one canonical order, so
// that every implementation makes the same picks: 16 partial sums, partial p accumulating
// fma(x_j - y_j, x_j - y_j, .) over j = p, p+16, p+32, ... in increasing j, then combined by
// halving (p[l] + p[l+8], then +4, +2, +1). Ties of the farthest-point search go to the smaller
// index.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/hd.h"

namespace sr {

enum class ScoreKind : uint8_t { indicator, entropy, sd };
// population: Var and MINVar both divided by C (SPEC default); official: Var divided by C-1
// (torch.var's default, as the authors' code) and MINVar by C.
enum class IndicatorScaling : uint8_t { population, official };

struct ScoreOptions {
  ScoreKind kind = ScoreKind::indicator;
  bool logits = false;  // rows are logits: softmax is applied in the same pass
  IndicatorScaling scaling = IndicatorScaling::population;
};

// Rows whose spread max - min is at most this fraction of the max are uniform.
constexpr float kUniformRelTol = 4.76837158e-7f;  // 2^-21

// Per-call constants of the score formulas in type R (float in the fast kernels, double in the
// reference); the uniform-row indicator value is rounded once from double, so every
// implementation returns the same float for it.
template <class R>
struct ScoreConsts {
  int64_t C;
  R c, c_c1, factor, inv_c1_sq, c_over_c1, inv_log_c;  // C, C(C-1), ratio factor, ...
  float uniform_indicator;                             // 1 - factor / C
};

template <class R>
inline ScoreConsts<R> make_score_consts(int64_t C, IndicatorScaling scaling) {
  double c = double(C), factor = scaling == IndicatorScaling::official ? (c - 1) / c : 1.0;
  return {C,
          R(c),
          R(c * (c - 1)),
          R(factor),
          R(1 / ((c - 1) * (c - 1))),
          R(c / (c - 1)),
          R(1 / std::log(c)),
          float(1.0 - factor / c)};
}

template <class R>
SR_HD bool row_is_uniform(R max, R min) {
  return max - min <= R(kUniformRelTol) * max;
}

// The statistics' E with the C = 2 rule (V' = V: E = 0) and negative rounding removed.
template <class R>
SR_HD R clean_excess(const ScoreConsts<R>& k, R E) {
  return (k.C == 2 || !(E > R(0))) ? R(0) : E;
}

// Written as selects (no early returns) so that SIMD loops over rows vectorise them.
template <class R>
SR_HD float indicator_score(const ScoreConsts<R>& k, R M, R lo, R T, R E, R scale) {
  R D = k.c * M - T;
  D = D > R(0) ? D : R(0);
  R D2 = D * D, den = D2 + k.c_c1 * clean_excess(k, E);
  R ratio = (den > R(0) ? D2 / den : R(1)) * k.factor;
  R s = R(1) - ratio * (M * scale);
  s = s < R(0) ? R(0) : (s > R(1) ? R(1) : s);
  return row_is_uniform(M, lo) ? k.uniform_indicator : float(s);
}

// Standard-deviation relabeler 1 - sd(V) / sd(onehot_C) from the same statistics.
template <class R>
SR_HD float sd_score(const ScoreConsts<R>& k, R M, R lo, R T, R E, R scale) {
  R D = (k.c * M - T) * scale;
  R q = D * D * k.inv_c1_sq + k.c_over_c1 * clean_excess(k, E) * scale * scale;
  R s = R(1) - std::sqrt(q);
  s = s < R(0) ? R(0) : (s > R(1) ? R(1) : s);
  return row_is_uniform(M, lo) ? 1.f : float(s);
}

// Entropy relabeler H / log C, H in nats.
template <class R>
SR_HD float entropy_score(const ScoreConsts<R>& k, R M, R lo, R H) {
  R s = H * k.inv_log_c;
  s = s < R(0) ? R(0) : (s > R(1) ? R(1) : s);
  return row_is_uniform(M, lo) ? 1.f : float(s);
}

// E from the spread about mu' of all C entries: sum_i (u_i - mu')^2 - (M - mu')^2 (the argmax
// term removed without knowing its index; relative error O(eps) in the ratio, see KERNELS.md).
template <class R>
SR_HD R excess_from_all(R dev2_all, R M, R mu_other) {
  R t = M - mu_other;
  R e = dev2_all - t * t;
  return e > R(0) ? e : R(0);
}

// ---------------------------------------------------------------- distances and k-center

constexpr int kDistLanes = 16;

// Combines 16 partial sums by halving: p[l] + p[l+8], then +4, +2, +1.
SR_HD float tree16(float* p) {
  for (int w = kDistLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) p[l] = p[l] + p[l + w];
  return p[0];
}

// Squared Euclidean distance in the canonical order (header comment).
SR_HD float sq_dist_canonical(const float* x, const float* y, int64_t d) {
  float p[kDistLanes] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f,
                         0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  for (int64_t j = 0; j < d; ++j) {
    float t = x[j] - y[j];
    p[j & (kDistLanes - 1)] = fmaf(t, t, p[j & (kDistLanes - 1)]);
  }
  return tree16(p);
}

// The farthest-point rule: (value a, index ia) beats (b, ib) when a > b, or a == b and ia < ib.
SR_HD bool farther(float a, int64_t ia, float b, int64_t ib) {
  return a > b || (a == b && ia < ib);
}

// ---------------------------------------------------------------- top-k

// Order-preserving map of a (non-NaN) float to an unsigned key: larger float, larger key;
// -0 and +0 share one key (they compare equal, so the index decides).
SR_HD uint32_t float_order_key(float v) {
  v = v + 0.f;  // -0 + 0 = +0; every other value unchanged
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  const uint32_t flip = uint32_t(int32_t(u) >> 31) | 0x80000000u;  // negative: all bits
  return u ^ flip;
}

}  // namespace sr
