// Shared parts of the CUDA kernel studies (bench/kernels/*_cuda.cu): the GPU's measured
// ceilings (device-to-device copy bandwidth, cuBLAS sgemm rate), CUDA-event timing, and the
// "no GPU" exit. The result table is the CPU studies' (table.h).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

#include "bench/kernels/table.h"
#include "cuda/cuda_check.h"
#include "engine/backend.h"

namespace sr::study {

// Prints why and returns false when there is no usable GPU.
inline bool gpu_or_skip(const char* study) {
  if (cuda_available()) return true;
  std::printf("%s (CUDA): no GPU: skipped (%s)\n", study, cuda_info().reason.c_str());
  return false;
}

// Median / min / max of `repeats` runs of f after `warmup`, timed by CUDA events.
inline Timing time_gpu(const std::function<void()>& f, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) f();
  CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    CUDA_CHECK(cudaEventRecord(a));
    f();
    CUDA_CHECK(cudaEventRecord(b));
    CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  CUDA_CHECK(cudaEventDestroy(a));
  CUDA_CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.repeats = repeats;
  t.min_ms = ms.front();
  t.max_ms = ms.back();
  t.median_ms = ms[ms.size() / 2];
  return t;
}

// Device copy bandwidth (1 GiB, read + write) and cuBLAS sgemm rate (8192^3, FP32 math).
inline Ceilings gpu_ceilings() {
  Ceilings c;
  const size_t bytes = size_t(1) << 30;
  void *x = nullptr, *y = nullptr;
  CUDA_CHECK(cudaMalloc(&x, bytes));
  CUDA_CHECK(cudaMalloc(&y, bytes));
  Timing t = time_gpu([&] { CUDA_CHECK(cudaMemcpy(y, x, bytes, cudaMemcpyDeviceToDevice)); }, 1, 5);
  c.copy_gbps = c.read_gbps = 2.0 * double(bytes) / (t.min_ms * 1e-3) / 1e9;
  CUDA_CHECK(cudaFree(x));
  CUDA_CHECK(cudaFree(y));
  const int n = 8192;
  float *a = nullptr, *b = nullptr, *o = nullptr;
  CUDA_CHECK(cudaMalloc(&a, size_t(n) * n * 4));
  CUDA_CHECK(cudaMalloc(&b, size_t(n) * n * 4));
  CUDA_CHECK(cudaMalloc(&o, size_t(n) * n * 4));
  CUDA_CHECK(cudaMemset(a, 0, size_t(n) * n * 4));
  CUDA_CHECK(cudaMemset(b, 0, size_t(n) * n * 4));
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  const float one = 1.f, zero = 0.f;
  t = time_gpu(
      [&] {
        CUBLAS_CHECK(
            cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, o, n));
      },
      1, 5);
  c.sgemm_gflops = 2.0 * double(n) * n * n / (t.min_ms * 1e-3) / 1e9;
  CUBLAS_CHECK(cublasDestroy(h));
  CUDA_CHECK(cudaFree(a));
  CUDA_CHECK(cudaFree(b));
  CUDA_CHECK(cudaFree(o));
  std::printf("GPU: %s; copy %.0f GB/s (read + write), sgemm %.0f GFLOP/s\n",
              cuda_info().devices.empty() ? "?" : cuda_info().devices[0].c_str(), c.copy_gbps,
              c.sgemm_gflops);
  return c;
}

}  // namespace sr::study
