// CUDA random fills and dropout with the counter-based Philox4x32-10 generator of
// engine/math/philox.h, the same function the CPU kernels call: element i of a tensor drawn with
// (seed, offset) is philox(counter = (i, offset), key = seed), so CUDA and CPU draw the same
// uniforms bit for bit (integer arithmetic and one exact int -> float conversion) and the same
// normals up to the last-bit differences of the device's logf / cosf / sqrtf.
//
//   random_uniform  t[i] = lo + (hi - lo) u_i            (t dense: filled in memory order)
//   random_normal   t[i] = mean + std * n_i               (Box-Muller on one Philox block)
//   dropout         y[i] = u_{first+i} >= p ? x[i] / (1 - p) : 0  (x, y dense with equal strides;
//                   first: where x starts in a larger draw, as a rank's share of a batch)
// The dropout gradient is the same mask applied to gy, regenerated from (seed, offset) by the
// op layer calling this slot again.
#include "cuda/context.h"
#include "engine/kernels.h"
#include "engine/math/philox.h"

namespace sr::cuda {
namespace {

#define SR_GRID_STRIDE(i, n)                                                \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

__global__ void uniform_kernel(float* __restrict__ p, int64_t n, float lo, float span,
                               uint64_t seed, uint64_t offset) {
  SR_GRID_STRIDE(i, n) p[i] = lo + span * philox_uniform(seed, offset, uint64_t(i));
}

__global__ void normal_kernel(float* __restrict__ p, int64_t n, float mean, float std,
                              uint64_t seed, uint64_t offset) {
  SR_GRID_STRIDE(i, n) p[i] = mean + std * philox_normal(seed, offset, uint64_t(i));
}

__global__ void dropout_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n,
                               float p, float scale, uint64_t seed, uint64_t offset,
                               uint64_t first) {
  SR_GRID_STRIDE(i, n) {
    y[i] = philox_uniform(seed, offset, first + uint64_t(i)) >= p ? x[i] * scale : 0.f;
  }
}

void random_uniform_cuda(Tensor& t, float lo, float hi, uint64_t seed, uint64_t offset) {
  if (t.numel() == 0) return;
  uniform_kernel<<<grid_for(t.numel()), kThreads, 0, stream()>>>(t.data<float>(), t.numel(), lo,
                                                                 hi - lo, seed, offset);
  CUDA_CHECK_LAUNCH();
}

void random_normal_cuda(Tensor& t, float mean, float std, uint64_t seed, uint64_t offset) {
  if (t.numel() == 0) return;
  normal_kernel<<<grid_for(t.numel()), kThreads, 0, stream()>>>(t.data<float>(), t.numel(), mean,
                                                                std, seed, offset);
  CUDA_CHECK_LAUNCH();
}

void dropout_cuda(const Tensor& x, float p, uint64_t seed, uint64_t offset, uint64_t first,
                  Tensor& y) {
  if (x.numel() == 0) return;
  dropout_kernel<<<grid_for(x.numel()), kThreads, 0, stream()>>>(
      x.data<float>(), y.data<float>(), x.numel(), p, 1.f / (1.f - p), seed, offset, first);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

SR_REGISTER_KERNEL(random_uniform, cuda, random_uniform_cuda);
SR_REGISTER_KERNEL(random_normal, cuda, random_normal_cuda);
SR_REGISTER_KERNEL(dropout, cuda, dropout_cuda);

}  // namespace sr::cuda
