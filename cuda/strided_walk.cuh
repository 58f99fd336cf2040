// A strided walk for CUDA kernels over up to three tensors of one logical shape: logical
// (row-major) element i maps to an offset in each tensor through its strides, after size-1 dims
// are dropped and dims contiguous in every tensor merged. Used by copy (cuda/memory.cu) and
// broadcasting binary ops (cuda/elementwise.cu); a broadcast dim has stride 0.
#pragma once

#include <vector>

#include "cuda/context.h"
#include "engine/error.h"
#include "engine/tensor.h"

namespace sr::cuda {

constexpr int kMaxDims = 12;

// Shape and up to three stride sets of a strided walk (by value as a kernel argument).
struct Walk {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t st[3][kMaxDims];
};

// Offsets of logical element i in each of the K tensors of the walk.
template <int K>
__device__ __forceinline__ void walk_offsets(const Walk& w, int64_t i, int64_t* off) {
  for (int k = 0; k < K; ++k) off[k] = 0;
  for (int d = w.nd - 1; d >= 0; --d) {
    int64_t s = w.shape[d];
    int64_t idx = i % s;
    i /= s;
    for (int k = 0; k < K; ++k) off[k] += idx * w.st[k][d];
  }
}

// Drops size-1 dims and merges dims that are contiguous in every stride set.
inline Walk make_walk(const Shape& shape, std::vector<const Shape*> strides) {
  Walk w;
  const size_t K = strides.size();
  Shape s2;
  std::vector<Shape> t2(K);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    bool merge = !s2.empty();
    for (size_t k = 0; k < K && merge; ++k) merge = t2[k].back() == (*strides[k])[i] * shape[i];
    if (merge) {
      s2.back() *= shape[i];
      for (size_t k = 0; k < K; ++k) t2[k].back() = (*strides[k])[i];
    } else {
      s2.push_back(shape[i]);
      for (size_t k = 0; k < K; ++k) t2[k].push_back((*strides[k])[i]);
    }
  }
  SR_CHECK(s2.size() <= size_t(kMaxDims), "CUDA strided kernel: {} dims exceed the {} supported",
           s2.size(), kMaxDims);
  w.nd = int(s2.size());
  for (int d = 0; d < w.nd; ++d) {
    w.shape[d] = s2[size_t(d)];
    for (size_t k = 0; k < K; ++k) w.st[k][d] = t2[k][size_t(d)];
  }
  return w;
}

#define SR_GRID_STRIDE(i, n)                                                \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

}  // namespace sr::cuda
