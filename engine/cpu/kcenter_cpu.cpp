// Fast CPU greedy k-center (SPEC sections 4 and 5): the same picks as sr::ref::kcenter_greedy,
// with fewer bytes read per pick.
//
// State: dmin[i], the squared distance of point i to its nearest center in the canonical fp32
// order of selection_math.h (-inf for centers). Adding center s is one fused pass over the
// points: new distance, running minimum, and the farthest point (larger dmin, ties to the
// smaller index), so each pick costs one sweep; threads share a pass by claiming chunks.
//
// Plain pass (compact = false): every point's fp32 distance to s is computed (n d floats read).
//
// Compact pass (default): before the first pass each point is stored as 8-bit codes
//   x_i = mu + a_i q_i + r_i,   q_i in [-127, 127]^d,   a_i = max_j |x_ij - mu_j| / 127,
// with mu the mean point and e_i >= |r_i| (computed in double, rounded up). For a center s with
// code (b, q_s, e_s), the triangle inequality gives the exact lower bound
//   |x_i - s| >= |a_i q_i - b q_s| - e_i - e_s =: L,
// |a q - b q_s|^2 = a^2 |q|^2 + b^2 |q_s|^2 - 2 a b (q . q_s), the dot product being an exact
// int32 sum (AVX512-VNNI: 64 byte products per instruction). The fp32 distance the reference
// would compute is at least L^2 (1 - g) with g = (ceil(d/16) + 6) 2^-24 (rounding of the
// differences, the 16 fma chains and the 4 halving adds), so when dmin[i] <= L^2 (1 - g)
// (evaluated with slack for the bound's own float rounding) the reference would leave dmin[i]
// unchanged and the point is skipped; otherwise its fp32 distance is computed exactly as the
// reference does. A pass reads d + 16 bytes per point instead of 4 d (+ the few points whose
// bound fails). Skipping is exact, so picks are identical with and without it.
//
// Memory (from the engine's CPU allocator): dmin, a, |q|^2, e (16 bytes per point) and, when
// compact, the codes (d rounded up to 4 bytes per point). Points padded to blocks of 16.
#include <omp.h>

#include "engine/cpu/sq_dist_simd.h"  // immintrin.h where AVX-512 or AVX2 is compiled in

#if defined(__AVX512F__) && defined(__AVX512VNNI__)
#define SR_KCENTER_AVX512 1
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "engine/cpu/selection_cpu.h"
#include "engine/kernels.h"
#include "engine/parallel.h"
#include "engine/tensor.h"

namespace sr::cpu {
namespace {

constexpr int kB = 16;      // points per block
constexpr int kGroup = 32;  // blocks whose exact rows are prefetched together
constexpr float kInf = std::numeric_limits<float>::infinity();
// Slack of the bound evaluation (float): lb2 error <= 8 roundings of a^2|q|^2 + b^2|q_s|^2.
constexpr float kLb2Slack = 9.5367431640625e-7f;    // 2^-20
constexpr float kSqrtSlack = 4.76837158203125e-7f;  // 2^-21

struct Workspace {
  Tensor dmin_t, scale_t, qq_t, err_t, codes_t;
  float *dmin = nullptr, *scale = nullptr, *qq = nullptr, *err = nullptr;
  uint8_t* codes = nullptr;  // [blocks][d4][16][4]: q + 128
  int64_t blocks = 0, d4 = 0;
  size_t bytes = 0;
};

// The code of the current center, unpacked for the pass.
struct CenterCode {
  std::vector<int32_t> r4;   // 4 signed code bytes per group of 4 dims
  std::vector<int8_t> r;     // the same, one per dim (portable path)
  std::vector<int64_t> r16;  // the same 4 per group as int16 lanes (AVX2 path)
  int32_t sum_r = 0;
  float b = 0, bb_qq = 0, e = 0;  // scale, b^2 |q_s|^2, error bound
};

// A thread's farthest point so far.
struct Best {
  float v = -kInf;
  int64_t i = std::numeric_limits<int64_t>::max();
  void offer(float v2, int64_t i2) {
    if (farther(v2, i2, v, i)) v = v2, i = i2;
  }
};

// Throws ValueError naming the first point with a NaN or infinite coordinate.
void check_finite(const float* x, int64_t n, int64_t d) {
  std::atomic<int64_t> bad{n};
  parallel_for(n, d, [&](int64_t b, int64_t e) {
    const int64_t dd = d;
    for (int64_t i = b; i < e; ++i) {
      const float* r = x + i * dd;
      float z = 0.f;  // x * 0 is 0 for finite x and NaN for infinities and NaN
#pragma omp simd reduction(+ : z)
      for (int64_t j = 0; j < dd; ++j) z += r[j] * 0.f;
      if (z == 0.f) continue;
      int64_t cur = bad.load();
      while (i < cur && !bad.compare_exchange_weak(cur, i)) {
      }
      return;
    }
  });
  SR_CHECK_VALUE(bad.load() == n, "kcenter_greedy: point {} has a non-finite coordinate",
                 bad.load());
}

Tensor alloc_floats(int64_t count, size_t& bytes) {
  bytes += size_t(count) * 4;
  return Tensor::empty({count}, DType::f32);
}

// ---------------------------------------------------------------- compact codes

void build_codes(const float* x, int64_t n, int64_t d, Workspace& w) {
  // Mean point, from fixed chunks of rows combined in order (thread-count independent).
  constexpr int64_t kRows = 4096;
  int64_t chunks = (n + kRows - 1) / kRows;
  std::vector<double> part(static_cast<size_t>(chunks * d), 0.0);
  parallel_for(chunks, kRows * d, [&](int64_t b, int64_t e) {
    const int64_t dd = d;
    for (int64_t ch = b; ch < e; ++ch) {
      double* p = part.data() + ch * dd;
      for (int64_t i = ch * kRows; i < std::min(n, (ch + 1) * kRows); ++i) {
        const float* r = x + i * dd;
#pragma omp simd
        for (int64_t j = 0; j < dd; ++j) p[j] += double(r[j]);
      }
    }
  });
  std::vector<float> mu(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) {
    double s = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) s += part[size_t(ch * d + j)];
    mu[size_t(j)] = float(s / double(n));
  }
  parallel_for(w.blocks, kB * d * 4, [&](int64_t b, int64_t e) {
    // Raw pointers and locals: lets the compiler keep the loops below as plain vector loops.
    const int64_t dd = d, d4 = w.d4;
    const float* mup = mu.data();
    std::vector<float> yv(static_cast<size_t>(dd));
    std::vector<int32_t> qv(static_cast<size_t>(d4 * 4));
    float* y = yv.data();
    int32_t* q = qv.data();
    for (int64_t blk = b; blk < e; ++blk) {
      uint8_t* cb = w.codes + blk * d4 * kB * 4;
      for (int l = 0; l < kB; ++l) {
        const int64_t i = blk * kB + l;
        std::fill(q, q + d4 * 4, 0);
        float a = 0.f, err = 0.f, qqf = 0.f;
        if (i < n) {
          const float* xi = x + i * dd;
          float amax = 0.f;
#pragma omp simd reduction(max : amax)
          for (int64_t j = 0; j < dd; ++j) {
            float yj = xi[j] - mup[j];
            y[j] = yj;
            amax = std::max(amax, std::fabs(yj));
          }
          a = amax / 127.f;
          // Any integer codes are valid (the error bound is computed from them).
          const float inv = a > 0.f ? 1.f / a : 0.f;
          const double ad = a;
          double r2 = 0, y2 = 0;
          int32_t qq = 0;  // <= 127^2 d, d < 2^17 (checked by the caller)
#pragma omp simd reduction(+ : r2, y2, qq)
          for (int64_t j = 0; j < dd; ++j) {
            float qf = std::clamp(std::nearbyint(y[j] * inv), -127.f, 127.f);
            int32_t qj = int32_t(qf);
            q[j] = qj;
            qq += qj * qj;
            double yj = double(xi[j]) - double(mup[j]);
            double rj = yj - ad * double(qf);
            r2 += rj * rj, y2 += yj * yj;
          }
          // Rounding of the double sums: relative (d + 4) 2^-53, and 2^-52 |y| from x - mu.
          double eb = std::sqrt(r2 * (1 + double(dd + 8) * 0x1p-52)) + 0x1p-50 * std::sqrt(y2);
          err = float(eb);
          if (double(err) < eb) err = std::nextafter(err, kInf);
          qqf = float(qq);
        }
        w.qq[i] = qqf;
        w.scale[i] = a;
        w.err[i] = err;
        for (int64_t g = 0; g < d4; ++g) {
          uint8_t* dst = cb + (g * kB + l) * 4;
          for (int t = 0; t < 4; ++t) dst[t] = uint8_t(q[g * 4 + t] + 128);
        }
      }
    }
  });
}

void load_center(const Workspace& w, int64_t s, CenterCode& cc) {
  const uint8_t* cb = w.codes + (s / kB) * w.d4 * kB * 4;
  int l = int(s % kB);
  cc.r4.assign(size_t(w.d4), 0);
  cc.r.assign(size_t(w.d4 * 4), 0);
  cc.r16.assign(size_t(w.d4), 0);
  cc.sum_r = 0;
  for (int64_t g = 0; g < w.d4; ++g) {
    uint32_t packed = 0;
    uint64_t packed16 = 0;
    for (int t = 0; t < 4; ++t) {
      int8_t v = int8_t(int32_t(cb[(g * kB + l) * 4 + t]) - 128);
      cc.r[size_t(g * 4 + t)] = v;
      cc.sum_r += v;
      packed |= uint32_t(uint8_t(v)) << (8 * t);
      packed16 |= uint64_t(uint16_t(int16_t(v))) << (16 * t);
    }
    cc.r4[size_t(g)] = int32_t(packed);
    cc.r16[size_t(g)] = int64_t(packed16);
  }
  cc.b = w.scale[s];
  cc.bb_qq = cc.b * cc.b * w.qq[s];
  cc.e = w.err[s];
}

// ---------------------------------------------------------------- passes

// The 16 code dot products sum_j code[l][j] * r[j] of one block (codes u8, r s8; exact int32
// sums, so any order gives the same bound).
void block_dots(const uint8_t* cb, int64_t d4, const CenterCode& cc, int32_t* dot) {
#if defined(__AVX2__)
  // Per 4-dim group g: the block's 64 bytes are 16 points x 4 codes; widened to int16, four
  // points per vector, times the group's 4 r values (repeated), pairs summed by madd.
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256()};
  for (int64_t g = 0; g < d4; ++g) {
    const __m256i rv = _mm256_set1_epi64x(cc.r16[size_t(g)]);
    const uint8_t* c = cb + g * kB * 4;
    for (int q = 0; q < 4; ++q) {
      __m256i v =
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + 16 * q)));
      acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(v, rv));
    }
  }
  for (int q = 0; q < 4; ++q) {
    alignas(32) int32_t pairs[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(pairs), acc[q]);
    for (int p = 0; p < 4; ++p) dot[4 * q + p] = pairs[2 * p] + pairs[2 * p + 1];
  }
#else
  for (int l = 0; l < kB; ++l) {
    int32_t acc = 0;
    for (int64_t g = 0; g < d4; ++g)
      for (int t = 0; t < 4; ++t)
        acc += int32_t(cb[(g * kB + l) * 4 + t]) * int32_t(cc.r[size_t(g * 4 + t)]);
    dot[l] = acc;
  }
#endif
}

// Portable compact pass over blocks [b0, b1) (AVX2 where compiled in: block_dots and
// sq_dist_fast).
void pass_compact_portable(const float* x, int64_t d, const Workspace& w, int64_t s,
                           const CenterCode& cc, float keep, float tiny, int64_t b0, int64_t b1,
                           Best& best, int64_t& exact) {
  const float* xs = x + s * d;
  int32_t dots[kB];
  for (int64_t blk = b0; blk < b1; ++blk) {
    const uint8_t* cb = w.codes + blk * w.d4 * kB * 4;
    block_dots(cb, w.d4, cc, dots);
    for (int l = 0; l < kB; ++l) {
      int64_t i = blk * kB + l;
      float dm = w.dmin[i];
      if (dm > 0.f) {
        float P = float(dots[l] - 128 * cc.sum_r), a = w.scale[i];
        float AB = a * a * w.qq[i] + cc.bb_qq;
        float lb2 = AB - (2.f * cc.b * a) * P - kLb2Slack * AB;
        // Selects written so that NaN (float overflow of huge coordinates) gives 0: no skip.
        float lb = std::sqrt(lb2 > 0.f ? lb2 : 0.f) * (1.f - kSqrtSlack) -
                   (w.err[i] + cc.e) * (1.f + kSqrtSlack);
        lb = lb > 0.f ? lb : 0.f;
        float thr = lb * lb * keep - tiny;
        thr = thr > 0.f ? thr : 0.f;
        if (dm > thr) {
          ++exact;
          float dd = sq_dist_fast(x + i * d, xs, d);
          if (dd < dm) w.dmin[i] = dm = dd;
        }
      }
      best.offer(dm, i);
    }
  }
}

void pass_plain_portable(const float* x, int64_t n, int64_t d, const Workspace& w, int64_t s,
                         int64_t b0, int64_t b1, Best& best, int64_t& exact) {
  const float* xs = x + s * d;
  for (int64_t i = b0 * kB; i < std::min(n, b1 * kB); ++i) {
    float dm = w.dmin[i];
    if (dm > 0.f) {
      ++exact;
      float dd = sq_dist_fast(x + i * d, xs, d);
      if (dd < dm) w.dmin[i] = dm = dd;
    }
    best.offer(dm, i);
  }
}

#if defined(SR_KCENTER_AVX512)

struct BestVec {
  __m512 v = _mm512_set1_ps(-kInf);
  __m512i i = _mm512_set1_epi32(0x7fffffff);
  // Lanes see increasing indices, so strict > keeps the smallest index of a lane's maximum.
  void offer(__m512 v2, __m512i i2) {
    __mmask16 m = _mm512_cmp_ps_mask(v2, v, _CMP_GT_OQ);
    v = _mm512_mask_mov_ps(v, m, v2);
    i = _mm512_mask_mov_epi32(i, m, i2);
  }
  void fold_into(Best& b) const {
    alignas(64) float vs[kB];
    alignas(64) int32_t is[kB];
    _mm512_store_ps(vs, v);
    _mm512_store_si512(is, i);
    for (int l = 0; l < kB; ++l)
      if (vs[l] > -kInf) b.offer(vs[l], is[l]);
  }
};

void pass_compact_avx512(const float* x, int64_t d, const Workspace& w, int64_t s,
                         const CenterCode& cc, float keep, float tiny, int64_t b0, int64_t b1,
                         Best& best, int64_t& exact) {
  const float* xs = x + s * d;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i off = _mm512_set1_epi32(128 * cc.sum_r);
  const __m512 bb_qq = _mm512_set1_ps(cc.bb_qq), two_b = _mm512_set1_ps(2.f * cc.b);
  const __m512 es = _mm512_set1_ps(cc.e), zero = _mm512_setzero_ps();
  const __m512 slack = _mm512_set1_ps(kLb2Slack), down = _mm512_set1_ps(1.f - kSqrtSlack);
  const __m512 up = _mm512_set1_ps(1.f + kSqrtSlack), keepv = _mm512_set1_ps(keep);
  const __m512 tinyv = _mm512_set1_ps(tiny);
  const int32_t* r4 = cc.r4.data();
  BestVec bv;
  const int64_t row_bytes = d * 4;
  __mmask16 needs[kGroup];
  for (int64_t g0 = b0; g0 < b1; g0 += kGroup) {
    const int64_t g1 = std::min(b1, g0 + kGroup);
    // Bounds of a group of blocks; the rows that need an exact distance are prefetched, so
    // their random reads overlap the rest of the group's bounds.
    for (int64_t blk = g0; blk < g1; ++blk) {
      const uint8_t* cb = w.codes + blk * w.d4 * kB * 4;
      __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
      int64_t g = 0;
      for (; g + 2 <= w.d4; g += 2) {
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_load_si512(cb + g * 64), _mm512_set1_epi32(r4[g]));
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_load_si512(cb + g * 64 + 64),
                                   _mm512_set1_epi32(r4[g + 1]));
      }
      if (g < w.d4)
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_load_si512(cb + g * 64), _mm512_set1_epi32(r4[g]));
      __m512 P = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(acc0, acc1), off));
      const int64_t i0 = blk * kB;
      __m512 a = _mm512_load_ps(w.scale + i0);
      __m512 AB =
          _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(a, a), _mm512_load_ps(w.qq + i0)), bb_qq);
      // max_ps returns its second operand (0) for NaN: float overflow never skips a point.
      __m512 lb2 = _mm512_sub_ps(_mm512_sub_ps(AB, _mm512_mul_ps(_mm512_mul_ps(two_b, a), P)),
                                 _mm512_mul_ps(slack, AB));
      __m512 lb = _mm512_sub_ps(_mm512_mul_ps(_mm512_sqrt_ps(_mm512_max_ps(lb2, zero)), down),
                                _mm512_mul_ps(_mm512_add_ps(_mm512_load_ps(w.err + i0), es), up));
      lb = _mm512_max_ps(lb, zero);
      __m512 thr =
          _mm512_max_ps(_mm512_sub_ps(_mm512_mul_ps(_mm512_mul_ps(lb, lb), keepv), tinyv), zero);
      __mmask16 need = _mm512_cmp_ps_mask(_mm512_load_ps(w.dmin + i0), thr, _CMP_GT_OQ);
      needs[blk - g0] = need;
      for (unsigned m = need; m; m &= m - 1) {
        const char* row = reinterpret_cast<const char*>(x + (i0 + __builtin_ctz(m)) * d);
        for (int64_t o = 0; o < row_bytes; o += 64) _mm_prefetch(row + o, _MM_HINT_T0);
      }
    }
    for (int64_t blk = g0; blk < g1; ++blk) {
      const int64_t i0 = blk * kB;
      for (unsigned m = needs[blk - g0]; m; m &= m - 1) {
        int64_t i = i0 + __builtin_ctz(m);
        ++exact;
        float dd = sq_dist_fast(x + i * d, xs, d);
        if (dd < w.dmin[i]) w.dmin[i] = dd;
      }
      bv.offer(_mm512_load_ps(w.dmin + i0), _mm512_add_epi32(_mm512_set1_epi32(int32_t(i0)), lane));
    }
  }
  bv.fold_into(best);
}

void pass_plain_avx512(const float* x, int64_t n, int64_t d, const Workspace& w, int64_t s,
                       int64_t b0, int64_t b1, Best& best, int64_t& exact) {
  const float* xs = x + s * d;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  BestVec bv;
  for (int64_t blk = b0; blk < b1; ++blk) {
    const int64_t i0 = blk * kB;
    for (int l = 0; l < kB && i0 + l < n; ++l) {
      int64_t i = i0 + l;
      if (w.dmin[i] > 0.f) {
        ++exact;
        float dd = sq_dist_fast(x + i * d, xs, d);
        if (dd < w.dmin[i]) w.dmin[i] = dd;
      }
    }
    bv.offer(_mm512_load_ps(w.dmin + i0), _mm512_add_epi32(_mm512_set1_epi32(int32_t(i0)), lane));
  }
  bv.fold_into(best);
}

#endif  // SR_KCENTER_AVX512

}  // namespace

std::vector<int64_t> kcenter_greedy(const float* x, int64_t n, int64_t d,
                                    const std::vector<int64_t>& centers, int64_t k,
                                    const KCenterOptions& options, KCenterStats* stats) {
  KCenterOptions opt = options;
  opt.compact = opt.compact && d < (int64_t(1) << 17);  // int32 |q|^2 of the codes
  SR_CHECK_VALUE(n < (int64_t(1) << 31) - kB, "kcenter_greedy: {} points exceed 2^31", n);
  std::vector<int64_t> picks;
  if (k <= 0) return picks;
  auto t0 = std::chrono::steady_clock::now();
  check_finite(x, n, d);
  Workspace w;
  w.blocks = (n + kB - 1) / kB;
  w.d4 = (d + 3) / 4;
  int64_t padded = w.blocks * kB;
  w.dmin_t = alloc_floats(padded, w.bytes);
  w.dmin = w.dmin_t.data<float>();
  if (opt.compact) {
    w.scale_t = alloc_floats(padded, w.bytes);
    w.qq_t = alloc_floats(padded, w.bytes);
    w.err_t = alloc_floats(padded, w.bytes);
    w.codes_t = alloc_floats(w.blocks * w.d4 * kB, w.bytes);
    w.codes = reinterpret_cast<uint8_t*>(w.codes_t.data<float>());
    w.scale = w.scale_t.data<float>();
    w.qq = w.qq_t.data<float>();
    w.err = w.err_t.data<float>();
    build_codes(x, n, d, w);
  }
  for (int64_t i = 0; i < padded; ++i) w.dmin[i] = i < n ? kInf : -kInf;
  const double setup_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // The centers to add in turn; with none, the first pick is point 0 (all distances +inf).
  std::vector<int64_t> seq = centers;
  if (seq.empty()) {
    picks.push_back(0);
    seq.push_back(0);
  }
  for (int64_t c : seq) w.dmin[c] = -kInf;
  const int64_t initial = int64_t(seq.size());
  const int64_t passes = initial + (k - int64_t(picks.size())) - 1;
  // keep = 1 - g - slack; tiny covers subnormal rounding (absolute 2^-149 per operation).
  const float keep = float(1.0 - double((d + 15) / 16 + 6) * 0x1p-24 * 1.01 - 0x1p-20);
  const float tiny = float(double(d + 16) * 0x1p-149);
  const bool use_simd = opt.simd;
#if !defined(SR_KCENTER_AVX512)
  (void)use_simd;
#endif
  // Threads only when a pass is long enough (~1 MB of fp32 points per thread) to pay for the
  // two barriers per pick.
  int nt = int(std::clamp<int64_t>(n * d / (int64_t(1) << 18), 1, num_threads()));
  if (omp_in_parallel()) nt = 1;
  // Each pass is cut into chunks of blocks that threads claim from one atomic ticket counter
  // (ticket t: pass t / chunks, chunk t % chunks). The thread finishing a pass's last chunk
  // reduces the chunks' farthest points (in chunk order: thread-count independent), records
  // the pick and publishes the next center. No barrier: a thread descheduled by other work on
  // the machine delays a pass only while it holds an unfinished chunk.
  const int64_t chunk_blocks = std::max<int64_t>(1, w.blocks / (int64_t(nt) * 16));
  const int64_t chunks = (w.blocks + chunk_blocks - 1) / chunk_blocks;
  std::vector<Best> chunk_best(static_cast<size_t>(chunks));
  std::atomic<int64_t> ticket{0}, done{0}, published{0}, exact_total{0};
  CenterCode cc;
  int64_t center = seq[0];
  if (opt.compact) load_center(w, center, cc);

  auto finish_pass = [&](int64_t pass) {  // the thread that completed the pass's chunks
    if (pass + 1 < initial) {
      center = seq[size_t(pass + 1)];
    } else {
      Best all;
      for (const Best& b : chunk_best) all.offer(b.v, b.i);
      picks.push_back(all.i);
      w.dmin[all.i] = -kInf;
      center = all.i;
    }
    if (opt.compact) load_center(w, center, cc);
    published.store(pass + 1, std::memory_order_release);
  };

#pragma omp parallel num_threads(nt)
  {
    int64_t ex = 0;
    for (;;) {
      const int64_t t = ticket.fetch_add(1, std::memory_order_relaxed);
      const int64_t pass = t / chunks, c = t % chunks;
      if (pass >= passes) break;
      for (int spins = 0; published.load(std::memory_order_acquire) < pass; ++spins)
        if (spins > 64) std::this_thread::yield();  // let a descheduled thread finish
      const int64_t b0 = c * chunk_blocks, b1 = std::min(w.blocks, b0 + chunk_blocks);
      Best best;
#if defined(SR_KCENTER_AVX512)
      if (use_simd) {
        if (opt.compact)
          pass_compact_avx512(x, d, w, center, cc, keep, tiny, b0, b1, best, ex);
        else
          pass_plain_avx512(x, n, d, w, center, b0, b1, best, ex);
      } else
#endif
      {
        if (opt.compact)
          pass_compact_portable(x, d, w, center, cc, keep, tiny, b0, b1, best, ex);
        else
          pass_plain_portable(x, n, d, w, center, b0, b1, best, ex);
      }
      chunk_best[size_t(c)] = best;
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == (pass + 1) * chunks)
        finish_pass(pass);
    }
    exact_total.fetch_add(ex, std::memory_order_relaxed);
  }
  if (stats) {
    stats->passes = passes;
    stats->exact_distances = exact_total.load();
    stats->workspace_bytes = w.bytes;
    stats->setup_ms = setup_ms;
  }
  return picks;
}

namespace {

void kcenter_kernel(const Tensor& points, const std::vector<int64_t>& centers, int64_t k,
                    bool compact, std::vector<int64_t>& picks) {
  KCenterOptions opt;
  opt.compact = compact;
  picks = kcenter_greedy(points.data<float>(), points.size(0), points.size(1), centers, k, opt);
}

}  // namespace

SR_REGISTER_KERNEL(kcenter_greedy, cpu, kcenter_kernel);

}  // namespace sr::cpu
