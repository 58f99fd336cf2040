// The canonical squared distance of engine/math/selection_math.h with one 16-lane AVX-512
// accumulator, or two 8-lane AVX2 ones (lanes 0-7 and 8-15), lane p holding partial sum p, and
// the halving tree on the lanes: bit-identical to sq_dist_canonical, which it falls back to
// where neither is compiled in.
#pragma once

#include <cstdint>

#include "engine/math/selection_math.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
// GCC 12 reports its own _mm512_undefined_* idiom (`__m512 __Y = __Y;`) as maybe-uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace sr::cpu {

inline float sq_dist_fast(const float* x, const float* y, int64_t d) {
#if defined(__AVX512F__)
  __m512 acc = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= d; j += 16) {
    __m512 t = _mm512_sub_ps(_mm512_loadu_ps(x + j), _mm512_loadu_ps(y + j));
    acc = _mm512_fmadd_ps(t, t, acc);
  }
  if (j < d) {  // zero lanes add fma(0, 0, p) = p exactly
    __mmask16 m = __mmask16((1u << (d - j)) - 1);
    __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), _mm512_maskz_loadu_ps(m, y + j));
    acc = _mm512_fmadd_ps(t, t, acc);
  }
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(acc),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
  return _mm_cvtss_f32(q);
#elif defined(__AVX2__) && defined(__FMA__)
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= d; j += 16) {
    __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j));
    __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), _mm256_loadu_ps(y + j + 8));
    lo = _mm256_fmadd_ps(t0, t0, lo);
    hi = _mm256_fmadd_ps(t1, t1, hi);
  }
  if (j < d) {  // the tail in lanes 0..d-j-1; zero lanes add fma(0, 0, p) = p exactly
    alignas(32) float tx[16] = {}, ty[16] = {};
    for (int64_t l = 0; l < d - j; ++l) tx[l] = x[j + l], ty[l] = y[j + l];
    __m256 t0 = _mm256_sub_ps(_mm256_load_ps(tx), _mm256_load_ps(ty));
    __m256 t1 = _mm256_sub_ps(_mm256_load_ps(tx + 8), _mm256_load_ps(ty + 8));
    lo = _mm256_fmadd_ps(t0, t0, lo);
    hi = _mm256_fmadd_ps(t1, t1, hi);
  }
  __m256 h = _mm256_add_ps(lo, hi);
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
  return _mm_cvtss_f32(q);
#else
  return sq_dist_canonical(x, y, d);
#endif
}

}  // namespace sr::cpu
