// Fast CPU squared Euclidean distances: out (m, n) with out[i][k] = |a_i - b_k|^2 for a (m, d),
// b (n, d), all row-major float32.
//
// GEMM identity |a|^2 + |b|^2 - 2 a.b, clamped at 0 (rounding can push the difference of
// near-equal vectors below zero). Norms first (m + n floats: the only extra memory), then
//   fused_matmul  one oneDNN matmul [a, |a|^2] [b, -1/2]^T (K = d + 1) scaled by -2, whose
//                 post-ops add |b_k|^2 (a row broadcast) and clamp (relu) on each output block
//                 while it is in registers: the output is written once, never re-read. Extra
//                 memory: the two operands with the extra column, (m + n)(d + 1) floats.
//                 Threads: OpenMP, the pool of the other CPU kernels. Primitives cached by shape.
//   blas_tiles    OpenBLAS sgemm (alpha = -2) writes each rows x cols tile of the output, then
//                 the epilogue adds the norms and clamps while the tile is in cache. OpenBLAS
//                 has its own thread pool: the hand-over between the pools costs per tile
//                 (measured in docs/KERNELS.md), which is why fused_matmul is the default.
// Error: |out - exact| is within a few d 2^-24 (|a|^2 + |b|^2) (cancellation of the identity).
// Memory beyond the output: O((m + n) d).
#include <cblas.h>

#include <algorithm>

#include "engine/cpu/onednn_util.h"
#include "engine/cpu/selection_cpu.h"
#include "engine/error.h"
#include "engine/kernels.h"
#include "engine/parallel.h"
#include "engine/tensor.h"

namespace sr::cpu {
namespace {

void row_norms(const float* x, int64_t rows, int64_t d, float* out) {
  parallel_for(rows, d, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* r = x + i * d;
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < d; ++j) s += r[j] * r[j];
      out[i] = s;
    }
  });
}

struct FusedMatmul {
  dnnl::matmul prim;
};

// out = relu(-2 [a, na] [b, -1/2]^T + nb): one oneDNN matmul, K = d + 1. oneDNN 2.6's brgemm
// matmul broadcasts a binary post-op along rows ({1, n}) but not along columns ({m, 1}), so
// |a_i|^2 rides in the product as an extra column (exact: -2 * (-1/2) = 1).
void fused_matmul(const float* a, int64_t m, const float* b, int64_t n, int64_t d, const float* na,
                  const float* nb, float* out) {
  using dnnl::memory;
  static onednn::PrimitiveCache<FusedMatmul> cache;
  const int64_t k = d + 1;
  Tensor a1 = Tensor::empty({m, k}), b1 = Tensor::empty({n, k});
  float* ap = a1.data<float>();
  float* bp = b1.data<float>();
  parallel_for(m, d, [&](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      std::copy(a + i * d, a + (i + 1) * d, ap + i * k);
      ap[i * k + d] = na[i];
    }
  });
  parallel_for(n, d, [&](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      std::copy(b + i * d, b + (i + 1) * d, bp + i * k);
      bp[i * k + d] = -0.5f;
    }
  });
  const memory::desc a_md({m, k}, memory::data_type::f32, {k, 1});
  const memory::desc b_md({k, n}, memory::data_type::f32, {1, k});  // b1^T, no copy
  const memory::desc c_md({m, n}, memory::data_type::f32, {n, 1});
  const memory::desc nb_md({1, n}, memory::data_type::f32, {n, 1});
  auto prim = cache.get(fmt::format("{}x{}x{}", m, n, k), [&] {
    dnnl::post_ops po;
    po.append_binary(dnnl::algorithm::binary_add, nb_md);
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {-2.f});
    attr.set_post_ops(po);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, onednn::engine());
    return std::make_shared<FusedMatmul>(FusedMatmul{dnnl::matmul(pd)});
  });
  auto mem = [](const memory::desc& md, const float* p) {
    return memory(md, onednn::engine(), const_cast<float*>(p));
  };
  onednn::run(prim->prim, {{DNNL_ARG_SRC, mem(a_md, ap)},
                           {DNNL_ARG_WEIGHTS, mem(b_md, bp)},
                           {DNNL_ARG_DST, mem(c_md, out)},
                           {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, mem(nb_md, nb)}});
}

}  // namespace

void pairwise_sq_dists(const float* a, int64_t m, const float* b, int64_t n, int64_t d, float* out,
                       const PairwiseOptions& opt) {
  SR_CHECK_VALUE(opt.rows > 0 && opt.cols > 0, "pairwise_sq_dists: tile {}x{} is empty", opt.rows,
                 opt.cols);
  SR_CHECK_VALUE(m < (int64_t(1) << 31) && n < (int64_t(1) << 31) && d < (int64_t(1) << 31),
                 "pairwise_sq_dists: sizes {}, {}, {} exceed the BLAS int range", m, n, d);
  if (m == 0 || n == 0) return;
  std::vector<float> na(static_cast<size_t>(m)), nb(static_cast<size_t>(n));
  row_norms(a, m, d, na.data());
  row_norms(b, n, d, nb.data());
  if (opt.method == PairwiseOptions::Method::fused_matmul && d > 0)
    return fused_matmul(a, m, b, n, d, na.data(), nb.data(), out);
  for (int64_t i0 = 0; i0 < m; i0 += opt.rows) {
    int64_t mt = std::min(opt.rows, m - i0);
    for (int64_t k0 = 0; k0 < n; k0 += opt.cols) {
      int64_t nt = std::min(opt.cols, n - k0);
      float* c = out + i0 * n + k0;
      if (d > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(mt), int(nt), int(d), -2.f,
                    a + i0 * d, int(d), b + k0 * d, int(d), 0.f, c, int(n));
      else
        for (int64_t i = 0; i < mt; ++i) std::fill(c + i * n, c + i * n + nt, 0.f);
      const float* nbk = nb.data() + k0;
      parallel_for(mt, nt, [&](int64_t rb, int64_t re) {
        for (int64_t i = rb; i < re; ++i) {
          float* ci = c + i * n;
          float ni = na[size_t(i0 + i)];
#pragma omp simd
          for (int64_t k = 0; k < nt; ++k) ci[k] = std::max(ci[k] + ni + nbk[k], 0.f);
        }
      });
    }
  }
}

namespace {

void pairwise_kernel(const Tensor& a, const Tensor& b, Tensor& out) {
  pairwise_sq_dists(a.data<float>(), a.size(0), b.data<float>(), b.size(0), a.size(1),
                    out.data<float>());
}

}  // namespace

SR_REGISTER_KERNEL(pairwise_sq_dists, cpu, pairwise_kernel);

}  // namespace sr::cpu
