// Fast CPU uncertainty scores (SPEC section 2; formulas in engine/math/selection_math.h).
//
// One pass over x (n, c) in memory; each row is then worked on in cache:
//   c <= kRowBlockMaxC  16 rows are transposed into a (c, 16) tile so that every statistic
//                       (max, min, sum, softmax, spread, entropy) and the score itself run as
//                       16-lane SIMD across rows; sums over classes use 4 interleaved partial
//                       sums per lane (shorter dependency chains, smaller rounding error);
//   larger c            one row at a time, SIMD across classes (faster and more accurate for
//                       about c > 500, see docs/KERNELS.md).
// Logits: u = exp(x - max x) (vec_math.h), stored in the tile, V = u / sum u. Statistics are
// float sums; the scores use the float form of the shared formulas.
//
// spatial_mean_probs: x (n, c, hw) -> (n, c). Pixels are cut into fixed chunks (independent of
// the thread count); a chunk's softmax runs SIMD across pixels, its class sums are combined in
// chunk order in double, so results do not depend on the number of threads.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/cpu/selection_cpu.h"
#include "engine/cpu/vec_math.h"
#include "engine/kernels.h"
#include "engine/parallel.h"

namespace sr::cpu {
namespace {

constexpr int kLanes = 16;

// Scores of the `rows` (<= 16) rows held transposed in t[i * 16 + l] (class i of row l).
// Partial sums over classes: kParts interleaved accumulators per lane (class i goes to i mod
// kParts), combined in a fixed order: shorter dependency chains and smaller rounding error.
constexpr int kParts = 4;

template <class F>  // f(i, l) -> the term of class i in lane l
inline void sum_classes(int64_t c, float* acc, F f) {
  alignas(64) float p[kParts][kLanes] = {};
  int64_t i = 0;
  for (; i + kParts <= c; i += kParts)
    for (int a = 0; a < kParts; ++a) {
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) p[a][l] += f(i + a, l);
    }
  for (; i < c; ++i) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) p[0][l] += f(i, l);
  }
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) acc[l] = (p[0][l] + p[1][l]) + (p[2][l] + p[3][l]);
}

// Scores of the `rows` (<= 16) rows held transposed in t[i * 16 + l] (class i of row l).
void tile_scores(float* t, int64_t c, const ScoreOptions& opt, const ScoreConsts<float>& k,
                 float* out, int rows) {
  const float inf = std::numeric_limits<float>::infinity();
  alignas(64) float M[kLanes], lo[kLanes], T[kLanes], H[kLanes], dev[kLanes];
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) M[l] = -inf, lo[l] = inf, H[l] = 0.f;
  for (int64_t i = 0; i < c; ++i) {
    const float* ti = t + i * kLanes;
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) M[l] = std::max(M[l], ti[l]), lo[l] = std::min(lo[l], ti[l]);
  }
  if (opt.logits) {  // u = exp(x - max) replaces x in the tile; H = sum u (x - max)
    for (int64_t i = 0; i < c; ++i) {
      float* ti = t + i * kLanes;
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) ti[l] -= M[l];
    }
    if (opt.kind == ScoreKind::entropy)
      sum_classes(
          c, H, [&](int64_t i, int l) { return vec::vexp(t[i * kLanes + l]) * t[i * kLanes + l]; });
    for (int64_t i = 0; i < c; ++i) {
      float* ti = t + i * kLanes;
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) ti[l] = vec::vexp(ti[l]);
    }
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) lo[l] = vec::vexp(lo[l] - M[l]), M[l] = 1.f;
  } else if (opt.kind == ScoreKind::entropy) {
    sum_classes(c, H, [&](int64_t i, int l) {
      float v = t[i * kLanes + l];
      return v >= std::numeric_limits<float>::min() ? -v * vec::vlog(v) : 0.f;
    });
  }
  sum_classes(c, T, [&](int64_t i, int l) { return t[i * kLanes + l]; });
  alignas(64) float res[kLanes];
  if (opt.kind == ScoreKind::entropy) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      float h = opt.logits ? std::log(T[l]) - H[l] / T[l] : H[l];
      res[l] = entropy_score(k, M[l], lo[l], h);
    }
  } else {
    alignas(64) float mu[kLanes];
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) mu[l] = (T[l] - M[l]) / (k.c - 1.f);
    sum_classes(c, dev, [&](int64_t i, int l) {
      float u = t[i * kLanes + l] - mu[l];
      return u * u;
    });
    bool sd = opt.kind == ScoreKind::sd;
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      float E = excess_from_all(dev[l], M[l], mu[l]);
      float scale = opt.logits ? 1.f / T[l] : 1.f;
      res[l] = sd ? sd_score(k, M[l], lo[l], T[l], E, scale)
                  : indicator_score(k, M[l], lo[l], T[l], E, scale);
    }
  }
  for (int l = 0; l < rows; ++l) out[l] = res[l];
}

void scores_row_tiles(const float* x, int64_t n, int64_t c, const ScoreOptions& opt,
                      float* scores) {
  const ScoreConsts<float> k = make_score_consts<float>(c, opt.scaling);
  int64_t tiles = (n + kLanes - 1) / kLanes;
  parallel_for(tiles, kLanes * c * (opt.logits ? 8 : 2), [&](int64_t b, int64_t e) {
    std::vector<float> buf(static_cast<size_t>(c * kLanes));
    float* t = buf.data();
    for (int64_t tile = b; tile < e; ++tile) {
      int64_t r0 = tile * kLanes;
      int rows = int(std::min<int64_t>(kLanes, n - r0));
      const float* src = x + r0 * c;
      for (int l = 0; l < rows; ++l)
        for (int64_t i = 0; i < c; ++i) t[i * kLanes + l] = src[l * c + i];
      for (int l = rows; l < kLanes; ++l)  // padding lanes: a harmless uniform row
        for (int64_t i = 0; i < c; ++i) t[i * kLanes + l] = 1.f;
      tile_scores(t, c, opt, k, scores + r0, rows);
    }
  });
}

// One wide row: SIMD across classes; `u` is scratch of c floats.
float row_score(const float* x, int64_t c, const ScoreOptions& opt, const ScoreConsts<float>& k,
                float* u) {
  const float inf = std::numeric_limits<float>::infinity();
  float M = -inf, lo = inf, T = 0.f, H = 0.f;
#pragma omp simd reduction(max : M) reduction(min : lo)
  for (int64_t i = 0; i < c; ++i) M = std::max(M, x[i]), lo = std::min(lo, x[i]);
  const float* v = x;
  if (opt.logits) {
    float xm = M;
#pragma omp simd reduction(+ : T, H)
    for (int64_t i = 0; i < c; ++i) {
      float y = x[i] - xm, e = vec::vexp(y);
      u[i] = e;
      T += e;
      H += e * y;
    }
    lo = vec::vexp(lo - xm), M = 1.f, v = u;
  } else if (opt.kind == ScoreKind::entropy) {
#pragma omp simd reduction(+ : T, H)
    for (int64_t i = 0; i < c; ++i) {
      T += x[i];
      H -= x[i] >= std::numeric_limits<float>::min() ? x[i] * vec::vlog(x[i]) : 0.f;
    }
  } else {
#pragma omp simd reduction(+ : T)
    for (int64_t i = 0; i < c; ++i) T += x[i];
  }
  if (opt.kind == ScoreKind::entropy)
    return entropy_score(k, M, lo, opt.logits ? std::log(T) - H / T : H);
  float mu = (T - M) / (k.c - 1.f), dev = 0.f;
#pragma omp simd reduction(+ : dev)
  for (int64_t i = 0; i < c; ++i) dev += (v[i] - mu) * (v[i] - mu);
  float E = excess_from_all(dev, M, mu), scale = opt.logits ? 1.f / T : 1.f;
  return opt.kind == ScoreKind::sd ? sd_score(k, M, lo, T, E, scale)
                                   : indicator_score(k, M, lo, T, E, scale);
}

}  // namespace

void uncertainty_scores(const float* x, int64_t n, int64_t c, const ScoreOptions& opt,
                        float* scores, ScoreLayout layout) {
  if (layout == ScoreLayout::tiles || (layout == ScoreLayout::automatic && c <= kRowBlockMaxC))
    return scores_row_tiles(x, n, c, opt, scores);
  const ScoreConsts<float> k = make_score_consts<float>(c, opt.scaling);
  parallel_for(n, c * (opt.logits ? 8 : 2), [&](int64_t b, int64_t e) {
    std::vector<float> u(static_cast<size_t>(c));
    for (int64_t r = b; r < e; ++r) scores[r] = row_score(x + r * c, c, opt, k, u.data());
  });
}

void spatial_mean_probs(const float* x, int64_t n, int64_t c, int64_t hw, bool logits, float* out) {
  constexpr int64_t kChunk = 4096;  // pixels per work item (fixed: results thread-independent)
  int64_t tile = std::clamp<int64_t>(16384 / c, 16, 256);  // pixels per tile held in cache
  int64_t chunks = (hw + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(n * chunks * c));
  parallel_for(n * chunks, kChunk * c * (logits ? 8 : 1), [&](int64_t b, int64_t e) {
    std::vector<float> ebuf(static_cast<size_t>(c * tile)), mx(static_cast<size_t>(tile)),
        inv(static_cast<size_t>(tile));
    for (int64_t w = b; w < e; ++w) {
      int64_t s = w / chunks, p0 = (w % chunks) * kChunk, p1 = std::min(hw, p0 + kChunk);
      const float* xs = x + s * c * hw;
      double* acc = part.data() + w * c;
      std::fill(acc, acc + c, 0.0);
      for (int64_t t0 = p0; t0 < p1; t0 += tile) {
        int64_t len = std::min(tile, p1 - t0);
        if (!logits) {
          for (int64_t i = 0; i < c; ++i) {
            const float* xi = xs + i * hw + t0;
            float sum = 0.f;
#pragma omp simd reduction(+ : sum)
            for (int64_t p = 0; p < len; ++p) sum += xi[p];
            acc[i] += sum;
          }
          continue;
        }
        std::fill(mx.begin(), mx.begin() + len, -std::numeric_limits<float>::infinity());
        std::fill(inv.begin(), inv.begin() + len, 0.f);
        for (int64_t i = 0; i < c; ++i) {
          const float* xi = xs + i * hw + t0;
#pragma omp simd
          for (int64_t p = 0; p < len; ++p) mx[p] = std::max(mx[p], xi[p]);
        }
        for (int64_t i = 0; i < c; ++i) {
          const float* xi = xs + i * hw + t0;
          float* ei = ebuf.data() + i * tile;
#pragma omp simd
          for (int64_t p = 0; p < len; ++p) {
            ei[p] = vec::vexp(xi[p] - mx[p]);
            inv[p] += ei[p];
          }
        }
#pragma omp simd
        for (int64_t p = 0; p < len; ++p) inv[p] = 1.f / inv[p];
        for (int64_t i = 0; i < c; ++i) {
          const float* ei = ebuf.data() + i * tile;
          float sum = 0.f;
#pragma omp simd reduction(+ : sum)
          for (int64_t p = 0; p < len; ++p) sum += ei[p] * inv[p];
          acc[i] += sum;
        }
      }
    }
  });
  parallel_for(n, chunks * c, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s)
      for (int64_t i = 0; i < c; ++i) {
        double sum = 0;
        for (int64_t ch = 0; ch < chunks; ++ch) sum += part[size_t((s * chunks + ch) * c + i)];
        out[s * c + i] = float(sum / double(hw));
      }
  });
}

namespace {

void uncertainty_scores_kernel(const Tensor& x, const ScoreOptions& opt, Tensor& scores) {
  uncertainty_scores(x.data<float>(), x.size(0), x.size(1), opt, scores.data<float>());
}

void spatial_mean_probs_kernel(const Tensor& x, bool logits, Tensor& out) {
  spatial_mean_probs(x.data<float>(), x.size(0), x.size(1), x.size(2) * x.size(3), logits,
                     out.data<float>());
}

}  // namespace

SR_REGISTER_KERNEL(uncertainty_scores, cpu, uncertainty_scores_kernel);
SR_REGISTER_KERNEL(spatial_mean_probs, cpu, spatial_mean_probs_kernel);

}  // namespace sr::cpu
