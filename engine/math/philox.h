// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), shared by CPU and CUDA.
//
// Element i of a random tensor drawn with (seed, offset) is a pure function of (seed, offset, i):
// the same on every device and for any number of threads, so runs repeat exactly and dropout
// masks can be regenerated in backward instead of stored.
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/hd.h"

namespace sr {

struct Philox4 {
  uint32_t v[4];
};

SR_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = uint64_t(a) * uint64_t(b);
  *hi = uint32_t(p >> 32);
  return uint32_t(p);
}

SR_HD Philox4 philox4x32_10(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
  uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32);
  uint32_t c2 = uint32_t(counter_hi), c3 = uint32_t(counter_hi >> 32);
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0;
    uint32_t n1 = lo1;
    uint32_t n2 = hi0 ^ c3 ^ k1;
    uint32_t n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits.
SR_HD float uint_to_unit(uint32_t x) {
  return float(x >> 8) * (1.0f / 16777216.0f);
}

// Element `i` of stream (seed, offset): uniform in [0, 1).
SR_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  return uint_to_unit(philox4x32_10(i, offset, seed).v[0]);
}

// Element `i` of stream (seed, offset): standard normal (Box-Muller).
SR_HD float philox_normal(uint64_t seed, uint64_t offset, uint64_t i) {
  Philox4 r = philox4x32_10(i, offset, seed);
  float u1 = (float(r.v[0] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]
  float u2 = uint_to_unit(r.v[1]);
  return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

}  // namespace sr
