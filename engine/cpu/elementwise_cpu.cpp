// CPU kernels for element-wise ops: unary functions and their derivatives, broadcasting
// arithmetic and point-wise loss terms (CUDA twins: cuda/elementwise.cu). The formulas are the
// shared ones of engine/math/; these loops only walk memory (vectorised by the compiler, split
// over threads).
#include "engine/kernel_shapes.h"
#include "engine/kernels.h"
#include "engine/math/op_dispatch.h"
#include "engine/parallel.h"

namespace sr {
namespace {

// Rough cost of one element relative to an add, for the threading threshold.
constexpr int64_t kTranscendentalCost = 8;

// ---------------------------------------------------------------- unary

template <UnaryOp OP>
void unary_loop(const float* x, float* y, int64_t n, float a, float b) {
  parallel_for(n, kTranscendentalCost, [&](int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) y[i] = unary_forward<OP>(x[i], a, b);
  });
}

template <UnaryOp OP>
void unary_backward_loop(const float* x, const float* y, const float* gy, float* gx, int64_t n,
                         float a, float b) {
  parallel_for(n, kTranscendentalCost, [&](int64_t lo, int64_t hi) {
    if constexpr (unary_saves(OP) == SavedFor::output) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) gx[i] = unary_backward<OP>(0.f, y[i], gy[i], a, b);
    } else if constexpr (unary_saves(OP) == SavedFor::input) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) gx[i] = unary_backward<OP>(x[i], 0.f, gy[i], a, b);
    } else {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) gx[i] = unary_backward<OP>(0.f, 0.f, gy[i], a, b);
    }
  });
}

void unary_cpu(UnaryOp op, const Tensor& x, Tensor& y, float a, float b) {
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  int64_t n = x.numel();
  with_unary_op(op, [&]<UnaryOp OP>() { unary_loop<OP>(xp, yp, n, a, b); });
}

void unary_backward_cpu(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx,
                        float a, float b) {
  const float* xp = x.defined() ? x.data<float>() : nullptr;
  const float* yp = y.defined() ? y.data<float>() : nullptr;
  const float* gyp = gy.data<float>();
  float* gxp = gx.data<float>();
  int64_t n = gy.numel();
  with_unary_op(op, [&]<UnaryOp OP>() { unary_backward_loop<OP>(xp, yp, gyp, gxp, n, a, b); });
}

// ---------------------------------------------------------------- binary

template <BinaryOp OP>
void binary_flat(const float* a, const float* b, float* o, int64_t n, bool a_scalar,
                 bool b_scalar) {
  parallel_for(n, 1, [&](int64_t lo, int64_t hi) {
    if (b_scalar) {
      float bv = b[0];
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) o[i] = binary_forward<OP>(a[i], bv);
    } else if (a_scalar) {
      float av = a[0];
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) o[i] = binary_forward<OP>(av, b[i]);
    } else {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) o[i] = binary_forward<OP>(a[i], b[i]);
    }
  });
}

template <BinaryOp OP>
void binary_strided(const Tensor& a, const Tensor& b, Tensor& out) {
  const Shape& shape = out.shape();
  Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  const Shape& so = out.strides();
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* op = out.data<float>();
  int64_t nd = int64_t(shape.size());
  int64_t inner = nd ? shape[size_t(nd - 1)] : 1;
  int64_t ia = nd ? sa[size_t(nd - 1)] : 0, ib = nd ? sb[size_t(nd - 1)] : 0,
          io = nd ? so[size_t(nd - 1)] : 1;
  int64_t outer = inner ? out.numel() / inner : 0;
  parallel_for(outer, inner, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      int64_t pa = 0, pb = 0, po = 0, rem = o;
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t idx = rem % shape[size_t(d)];
        rem /= shape[size_t(d)];
        pa += idx * sa[size_t(d)];
        pb += idx * sb[size_t(d)];
        po += idx * so[size_t(d)];
      }
      for (int64_t i = 0; i < inner; ++i)
        op[po + i * io] = binary_forward<OP>(ap[pa + i * ia], bp[pb + i * ib]);
    }
  });
}

template <BinaryOp OP>
void binary_typed(const Tensor& a, const Tensor& b, Tensor& out) {
  bool same = a.shape() == out.shape() && b.shape() == out.shape() &&
              a.strides() == out.strides() && b.strides() == out.strides() && out.is_dense();
  bool b_scalar =
      b.numel() == 1 && a.shape() == out.shape() && a.strides() == out.strides() && out.is_dense();
  bool a_scalar =
      a.numel() == 1 && b.shape() == out.shape() && b.strides() == out.strides() && out.is_dense();
  if (same || b_scalar || a_scalar) {
    binary_flat<OP>(a.data<float>(), b.data<float>(), out.data<float>(), out.numel(),
                    a_scalar && !same, b_scalar && !same);
  } else {
    binary_strided<OP>(a, b, out);
  }
}

void binary_cpu(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  with_binary_op(op, [&]<BinaryOp OP>() { binary_typed<OP>(a, b, out); });
}

// ---------------------------------------------------------------- losses

void loss_cpu(LossOp op, const Tensor& x, const Tensor& t, Tensor& out) {
  const float* xp = x.data<float>();
  const float* tp = t.data<float>();
  float* op_ = out.data<float>();
  int64_t n = x.numel();
  with_loss_op(op, [&]<LossOp OP>() {
    parallel_for(n, kTranscendentalCost, [&](int64_t lo, int64_t hi) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) op_[i] = loss_forward<OP>(xp[i], tp[i]);
    });
  });
}

void loss_backward_cpu(LossOp op, const Tensor& x, const Tensor& t, float scale, Tensor& gx,
                       Tensor& gt) {
  const float* xp = x.data<float>();
  const float* tp = t.data<float>();
  float* gxp = gx.defined() ? gx.data<float>() : nullptr;
  float* gtp = gt.defined() ? gt.data<float>() : nullptr;
  int64_t n = x.numel();
  with_loss_op(op, [&]<LossOp OP>() {
    parallel_for(n, kTranscendentalCost, [&](int64_t lo, int64_t hi) {
      if (gxp)
        for (int64_t i = lo; i < hi; ++i) gxp[i] = scale * loss_grad_input<OP>(xp[i], tp[i]);
      if (gtp)
        for (int64_t i = lo; i < hi; ++i) gtp[i] = scale * loss_grad_target<OP>(xp[i], tp[i]);
    });
  });
}

}  // namespace

SR_REGISTER_KERNEL(unary, cpu, unary_cpu);
SR_REGISTER_KERNEL(unary_backward, cpu, unary_backward_cpu);
SR_REGISTER_KERNEL(binary, cpu, binary_cpu);
SR_REGISTER_KERNEL(loss, cpu, loss_cpu);
SR_REGISTER_KERNEL(loss_backward, cpu, loss_backward_cpu);

}  // namespace sr
