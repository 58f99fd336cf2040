// Measured ceilings of this machine that the kernel studies and `sraal bench --kernels` compare
// against: memory bandwidth (a parallel copy, and a parallel read-only sum, of 256 MiB buffers)
// and the single-precision GEMM rate of the engine's gemm (bench/steps.h).
//   copy_gbps  (bytes read + bytes written) / s of a copy, all threads, best of 5
//   read_gbps  bytes read / s of a sum, all threads, best of 5
#pragma once

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "bench/kernels/table.h"
#include "bench/steps.h"

namespace sr::study {

inline Ceilings measure_ceilings() {
  const size_t n = size_t(64) << 20;  // floats: 256 MiB per buffer
  std::vector<float> a(n), b(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < int64_t(n); ++i) a[size_t(i)] = float(i & 1023), b[size_t(i)] = 0.f;
  Ceilings c;
  volatile float sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      size_t lo = n * size_t(t) / size_t(nt), hi = n * size_t(t + 1) / size_t(nt);
      std::memcpy(b.data() + lo, a.data() + lo, (hi - lo) * sizeof(float));
    }
    auto t1 = std::chrono::steady_clock::now();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      size_t lo = n * size_t(t) / size_t(nt), hi = n * size_t(t + 1) / size_t(nt);
      const float* p = a.data();
      float acc[64] = {};  // 64 independent sums: vector registers, no add latency chain
      size_t i = lo;
      for (; i + 64 <= hi; i += 64)
#pragma omp simd
        for (int l = 0; l < 64; ++l) acc[l] += p[i + size_t(l)];
      for (; i < hi; ++i) acc[0] += p[i];
      for (float v : acc) total += v;
    }
    auto t2 = std::chrono::steady_clock::now();
    sink = sink + total + b[n / 2];
    double copy_s = std::chrono::duration<double>(t1 - t0).count();
    double read_s = std::chrono::duration<double>(t2 - t1).count();
    c.copy_gbps = std::max(c.copy_gbps, 2.0 * double(n) * 4 / copy_s / 1e9);
    c.read_gbps = std::max(c.read_gbps, double(n) * 4 / read_s / 1e9);
  }
  c.sgemm_gflops = measure_sgemm_gflops();
  return c;
}

}  // namespace sr::study
