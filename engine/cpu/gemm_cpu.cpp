// CPU GEMM through OpenBLAS (cblas_sgemm, row-major).
#include <cblas.h>

#include "engine/cpu/cpu_backend.h"
#include "engine/kernels.h"

namespace sr {
namespace {

void gemm_cpu(bool ta, bool tb, float alpha, const Tensor& a, const Tensor& b, float beta,
              Tensor& c) {
  int64_t M = c.size(0), N = c.size(1);
  int64_t K = ta ? a.size(0) : a.size(1);
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M),
              int(N), int(K), alpha, a.data<float>(), int(a.size(1)), b.data<float>(),
              int(b.size(1)), beta, c.data<float>(), int(N));
}

}  // namespace

void set_blas_threads(int n) {
  openblas_set_num_threads(n);
}
std::string blas_version() {
  return openblas_get_config();
}

SR_REGISTER_KERNEL(gemm, cpu, gemm_cpu);

}  // namespace sr
