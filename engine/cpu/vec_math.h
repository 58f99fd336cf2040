// exp and log of floats written so that `#pragma omp simd` loops vectorise them (glibc's expf
// and logf only vectorise under -ffast-math). Cephes-style: range reduction by powers of two
// and a degree-6 polynomial; about 2 ulp over the ranges used by the selection kernels.
//   vexp(x)  e^x; 0 below -87.3 (where e^x is subnormal), +inf above 88; vexp(0) = 1 exactly
//   vlog(x)  ln x for finite x > 0; vlog(1) = 0 exactly; callers never pass x <= 0
#pragma once

#include <cstdint>
#include <cstring>

namespace sr::vec {

#pragma omp declare simd notinbranch
inline float vexp(float x) {
  const float hi = 88.f, lo = -87.33654f;
  bool under = x<lo, over = x> hi;
  float xc = x < lo ? lo : (x > hi ? hi : x);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (|x / ln 2| < 2^22).
  float t = xc * 1.44269504088896341f + 12582912.f;
  float n = t - 12582912.f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.f;
  int32_t e = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof scale);
  y = y * scale;
  y = under ? 0.f : y;
  return over ? __builtin_inff() : y;
}

#pragma omp declare simd notinbranch
inline float vlog(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int32_t ex = ((bits >> 23) & 0xff) - 126;  // x = m * 2^ex with m in [0.5, 1)
  int32_t mb = (bits & 0x007fffff) | 0x3f000000;
  float m;
  std::memcpy(&m, &mb, sizeof m);
  // Move m into [sqrt(1/2), sqrt(2)).
  bool small = m < 0.707106781186547524f;
  float e = float(small ? ex - 1 : ex);
  float f = small ? m + m - 1.f : m - 1.f;
  float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  float y = f * z * p;
  y = y + e * -2.12194440e-4f;
  y = y - 0.5f * z;
  return (f + y) + e * 0.693359375f;
}

}  // namespace sr::vec
