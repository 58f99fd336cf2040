// CUDA kernels for the element-wise slots: unary ops and their derivatives, broadcasting binary
// arithmetic, point-wise loss terms and their gradients (CPU twins:
// engine/cpu/elementwise_cpu.cpp).
//
// Shapes follow engine/kernel_slots.def: unary / loss tensors are dense with equal strides, so
// they are walked as flat arrays; binary walks a logical (row-major) index and maps it through
// each tensor's strides (cuda/strided_walk.cuh: dims merged first where possible, broadcast dims
// have stride 0).
// Formulas are the shared ones of engine/math/ (unary_forward / unary_backward, binary_forward,
// loss_forward / loss_grad_input / loss_grad_target), so the CPU tests prove this math.
// Gradient rules: unary_backward gx = f'(x or y) * gy; loss_backward gx = scale * dl/dx,
// gt = scale * dl/dt. All loops are grid-stride loops on the engine stream.
#include <vector>

#include "cuda/context.h"
#include "cuda/strided_walk.cuh"
#include "engine/kernel_shapes.h"
#include "engine/kernels.h"
#include "engine/math/op_dispatch.h"

namespace sr::cuda {
namespace {

// ---------------------------------------------------------------- unary

template <UnaryOp OP>
__global__ void unary_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n, float a,
                             float b) {
  SR_GRID_STRIDE(i, n) y[i] = unary_forward<OP>(x[i], a, b);
}

template <UnaryOp OP>
__global__ void unary_backward_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                      const float* __restrict__ gy, float* __restrict__ gx,
                                      int64_t n, float a, float b) {
  SR_GRID_STRIDE(i, n) {
    constexpr SavedFor kSaved = unary_saves(OP);
    const float xv = kSaved == SavedFor::input ? x[i] : 0.f;
    const float yv = kSaved == SavedFor::output ? y[i] : 0.f;
    gx[i] = unary_backward<OP>(xv, yv, gy[i], a, b);
  }
}

struct UnaryLaunch {
  const float* x;
  float* y;
  int64_t n;
  float a, b;
  template <UnaryOp OP>
  void operator()() const {
    unary_kernel<OP><<<grid_for(n), kThreads, 0, stream()>>>(x, y, n, a, b);
    CUDA_CHECK_LAUNCH();
  }
};

struct UnaryBackwardLaunch {
  const float *x, *y, *gy;
  float* gx;
  int64_t n;
  float a, b;
  template <UnaryOp OP>
  void operator()() const {
    unary_backward_kernel<OP><<<grid_for(n), kThreads, 0, stream()>>>(x, y, gy, gx, n, a, b);
    CUDA_CHECK_LAUNCH();
  }
};

void unary_cuda(UnaryOp op, const Tensor& x, Tensor& y, float a, float b) {
  if (x.numel() == 0) return;
  with_unary_op(op, UnaryLaunch{x.data<float>(), y.data<float>(), x.numel(), a, b});
}

void unary_backward_cuda(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx,
                         float a, float b) {
  if (gy.numel() == 0) return;
  with_unary_op(op, UnaryBackwardLaunch{x.defined() ? x.data<float>() : nullptr,
                                        y.defined() ? y.data<float>() : nullptr, gy.data<float>(),
                                        gx.data<float>(), gy.numel(), a, b});
}

// ---------------------------------------------------------------- binary

// Flat: a and b are either the output's layout or a single element (stride 0).
template <BinaryOp OP>
__global__ void binary_flat_kernel(const float* __restrict__ a, const float* __restrict__ b,
                                   float* __restrict__ o, int64_t n, int64_t sa, int64_t sb) {
  SR_GRID_STRIDE(i, n) o[i] = binary_forward<OP>(a[i * sa], b[i * sb]);
}

template <BinaryOp OP>
__global__ void binary_strided_kernel(const float* __restrict__ a, const float* __restrict__ b,
                                      float* __restrict__ o, int64_t n, Walk w) {
  SR_GRID_STRIDE(i, n) {
    int64_t off[3];
    walk_offsets<3>(w, i, off);
    o[off[2]] = binary_forward<OP>(a[off[0]], b[off[1]]);
  }
}

template <BinaryOp OP>
void binary_typed(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  const bool dense = out.is_dense();
  const bool a_like = a.shape() == out.shape() && a.strides() == out.strides();
  const bool b_like = b.shape() == out.shape() && b.strides() == out.strides();
  if (dense && (a_like || a.numel() == 1) && (b_like || b.numel() == 1)) {
    binary_flat_kernel<OP><<<grid_for(n), kThreads, 0, stream()>>>(
        a.data<float>(), b.data<float>(), out.data<float>(), n, a_like ? 1 : 0, b_like ? 1 : 0);
    CUDA_CHECK_LAUNCH();
    return;
  }
  Shape sa = broadcast_strides(a, out.shape()), sb = broadcast_strides(b, out.shape());
  Walk w = make_walk(out.shape(), {&sa, &sb, &out.strides()});
  binary_strided_kernel<OP><<<grid_for(n), kThreads, 0, stream()>>>(
      a.data<float>(), b.data<float>(), out.data<float>(), n, w);
  CUDA_CHECK_LAUNCH();
}

struct BinaryLaunch {
  const Tensor& a;
  const Tensor& b;
  Tensor& out;
  template <BinaryOp OP>
  void operator()() const {
    binary_typed<OP>(a, b, out);
  }
};

void binary_cuda(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  with_binary_op(op, BinaryLaunch{a, b, out});
}

// ---------------------------------------------------------------- losses

template <LossOp OP>
__global__ void loss_kernel(const float* __restrict__ x, const float* __restrict__ t,
                            float* __restrict__ out, int64_t n) {
  SR_GRID_STRIDE(i, n) out[i] = loss_forward<OP>(x[i], t[i]);
}

template <LossOp OP>
__global__ void loss_backward_kernel(const float* __restrict__ x, const float* __restrict__ t,
                                     float scale, float* __restrict__ gx, float* __restrict__ gt,
                                     int64_t n) {
  SR_GRID_STRIDE(i, n) {
    if (gx) gx[i] = scale * loss_grad_input<OP>(x[i], t[i]);
    if (gt) gt[i] = scale * loss_grad_target<OP>(x[i], t[i]);
  }
}

struct LossLaunch {
  const float *x, *t;
  float* out;
  int64_t n;
  template <LossOp OP>
  void operator()() const {
    loss_kernel<OP><<<grid_for(n), kThreads, 0, stream()>>>(x, t, out, n);
    CUDA_CHECK_LAUNCH();
  }
};

struct LossBackwardLaunch {
  const float *x, *t;
  float scale;
  float *gx, *gt;
  int64_t n;
  template <LossOp OP>
  void operator()() const {
    loss_backward_kernel<OP><<<grid_for(n), kThreads, 0, stream()>>>(x, t, scale, gx, gt, n);
    CUDA_CHECK_LAUNCH();
  }
};

void loss_cuda(LossOp op, const Tensor& x, const Tensor& t, Tensor& out) {
  if (x.numel() == 0) return;
  with_loss_op(op, LossLaunch{x.data<float>(), t.data<float>(), out.data<float>(), x.numel()});
}

void loss_backward_cuda(LossOp op, const Tensor& x, const Tensor& t, float scale, Tensor& gx,
                        Tensor& gt) {
  if (x.numel() == 0 || (!gx.defined() && !gt.defined())) return;
  with_loss_op(op, LossBackwardLaunch{x.data<float>(), t.data<float>(), scale,
                                      gx.defined() ? gx.data<float>() : nullptr,
                                      gt.defined() ? gt.data<float>() : nullptr, x.numel()});
}

}  // namespace

SR_REGISTER_KERNEL(unary, cuda, unary_cuda);
SR_REGISTER_KERNEL(unary_backward, cuda, unary_backward_cuda);
SR_REGISTER_KERNEL(binary, cuda, binary_cuda);
SR_REGISTER_KERNEL(loss, cuda, loss_cuda);
SR_REGISTER_KERNEL(loss_backward, cuda, loss_backward_cuda);

}  // namespace sr::cuda
