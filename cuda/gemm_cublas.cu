// CUDA GEMM through cuBLAS: C (M, N) = alpha op(A) op(B) + beta C for row-major contiguous
// matrices (kernels.h). cuBLAS is column-major, so the row-major product is computed as its
// transpose, C^T = op(B)^T op(A)^T: B is passed first, then A, with M and N swapped.
//
// cublasGemmEx with CUBLAS_COMPUTE_32F (full float32 products, the CPU's rounding behaviour) or
// CUBLAS_COMPUTE_32F_FAST_TF32 when allow_tf32() (tensor cores, ~10-bit mantissa products).
// cuBLAS is bitwise reproducible run to run on one GPU with one stream, which is all
// deterministic() needs. The gradient rules (dA = dC B^T, dB = A^T dC) are the op layer's, which
// calls this slot with the transposes.
#include <limits>

#include "cuda/context.h"
#include "engine/backend.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

void gemm_cuda(bool ta, bool tb, float alpha, const Tensor& a, const Tensor& b, float beta,
               Tensor& c) {
  const int64_t M = c.size(0), N = c.size(1);
  const int64_t K = ta ? a.size(0) : a.size(1);
  if (M == 0 || N == 0) return;
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  SR_CHECK_VALUE(M <= kMax && N <= kMax && K <= kMax && a.size(1) <= kMax && b.size(1) <= kMax,
                 "gemm: ({}, {}, {}) exceeds cuBLAS's 32-bit dimensions", M, N, K);
  const cublasComputeType_t compute =
      allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  // lda/ldb are the row lengths of the row-major inputs (at least 1, as cuBLAS requires).
  const int lda = int(std::max<int64_t>(a.size(1), 1)), ldb = int(std::max<int64_t>(b.size(1), 1));
  CUBLAS_CHECK(cublasGemmEx(
      cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, int(N), int(M),
      int(K), &alpha, b.data<float>(), CUDA_R_32F, ldb, a.data<float>(), CUDA_R_32F, lda, &beta,
      c.data<float>(), CUDA_R_32F, int(N), compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

SR_REGISTER_KERNEL(gemm, cuda, gemm_cuda);

}  // namespace sr::cuda
