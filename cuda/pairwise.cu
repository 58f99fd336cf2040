// CUDA squared Euclidean distances out (M, N) between the rows of a (M, d) and b (N, d):
// row norms (one warp per row, cub::WarpReduce), cuBLAS sgemm writing -2 a.b into the output,
// then one epilogue pass adding |a_i|^2 + |b_k|^2 and clamping at 0. Extra memory: M + N norms.
// cuBLAS runs in its default FP32 math mode (no TF32), so results follow the CPU's error bound.
#include <cub/cub.cuh>

#include "cuda/context.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void row_norms_kernel(const float* __restrict__ x, int64_t rows, int64_t d,
                                 float* __restrict__ out) {
  using WarpReduce = cub::WarpReduce<float>;
  __shared__ typename WarpReduce::TempStorage tmp[kBlock / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t r = int64_t(blockIdx.x) * (kBlock / 32) + warp;
  if (r >= rows) return;
  float s = 0.f;
  for (int64_t j = lane; j < d; j += 32) s = fmaf(x[r * d + j], x[r * d + j], s);
  s = WarpReduce(tmp[warp]).Sum(s);
  if (lane == 0) out[r] = s;
}

__global__ void add_norms_kernel(float* __restrict__ out, int64_t m, int64_t n,
                                 const float* __restrict__ na, const float* __restrict__ nb) {
  const int64_t total = m * n;
  for (int64_t w = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; w < total;
       w += int64_t(gridDim.x) * blockDim.x)
    out[w] = fmaxf(out[w] + na[w / n] + nb[w % n], 0.f);
}

void pairwise_cuda(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t m = a.size(0), n = b.size(0), d = a.size(1);
  Tensor na = Tensor::empty({m}, DType::f32, Device::cuda);
  Tensor nb = Tensor::empty({n}, DType::f32, Device::cuda);
  row_norms_kernel<<<unsigned((m + 7) / 8), kBlock, 0, stream()>>>(a.data<float>(), m, d,
                                                                   na.data<float>());
  CUDA_CHECK_LAUNCH();
  row_norms_kernel<<<unsigned((n + 7) / 8), kBlock, 0, stream()>>>(b.data<float>(), n, d,
                                                                   nb.data<float>());
  CUDA_CHECK_LAUNCH();
  // Row-major out (m, n) is column-major (n, m) = -2 b a^T.
  const float alpha = -2.f, beta = 0.f;
  CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_T, CUBLAS_OP_N, int(n), int(m), int(d), &alpha,
                           b.data<float>(), int(d), a.data<float>(), int(d), &beta,
                           out.data<float>(), int(n)));
  const int64_t blocks = std::min<int64_t>((m * n + kBlock - 1) / kBlock, 65536);
  add_norms_kernel<<<unsigned(blocks), kBlock, 0, stream()>>>(out.data<float>(), m, n,
                                                              na.data<float>(), nb.data<float>());
  CUDA_CHECK_LAUNCH();
}

}  // namespace

SR_REGISTER_KERNEL(pairwise_sq_dists, cuda, pairwise_cuda);

}  // namespace sr::cuda
