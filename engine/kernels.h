// The kernel slots of every engine op, one per op (see dispatch.h).
//
// Kernels are the device layer: they compute into outputs the op layer (engine/ops_*.cpp) has
// already checked, shaped and allocated, and never record autograd. Each slot states the
// layouts it accepts; the op layer converts inputs to them.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/dispatch.h"
#include "engine/math/elementwise_math.h"
#include "engine/math/loss_math.h"
#include "engine/math/optim_math.h"
#include "engine/tensor.h"

namespace sr {

// Convolution geometry, PyTorch conventions (dilation 1 = dense). For a transposed convolution
// the weight is (in, out, kh, kw) and output_padding enlarges the output on one side.
struct ConvParams {
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  int64_t dilation[2] = {1, 1};
  int64_t output_padding[2] = {0, 0};
  bool transposed = false;
};

enum class PoolKind : uint8_t { max, avg };

struct PoolParams {
  PoolKind kind = PoolKind::max;
  int64_t kernel[2] = {2, 2};
  int64_t stride[2] = {2, 2};
  int64_t padding[2] = {0, 0};
  bool count_include_pad = true;  // average pooling divisor, as PyTorch's default
};

namespace kernels {

// ---- memory ----
// t = value, any dense layout.
extern KernelSlot<void(Tensor& t, double value)> fill;
// dst = src: same shape, same device, any strides, any dtypes (converted).
extern KernelSlot<void(const Tensor& src, Tensor& dst)> copy;

// ---- element-wise ----
// y = op(x): x and y dense with equal strides.
extern KernelSlot<void(UnaryOp op, const Tensor& x, Tensor& y, float a, float b)> unary;
// gx = d op / dx * gy: gy, gx dense with equal strides; x or y (per unary_saves) likewise.
extern KernelSlot<void(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx,
                       float a, float b)>
    unary_backward;
// out = a op b with numpy broadcasting; out has the broadcast shape (any dense layout when
// a, b, out share one; contiguous otherwise).
extern KernelSlot<void(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out)> binary;
// Point-wise loss terms (loss_math.h): out = l(x, t); x, t, out contiguous, same shape.
extern KernelSlot<void(LossOp op, const Tensor& x, const Tensor& t, Tensor& out)> loss;
// gx = scale * dl/dx, gt = scale * dl/dt (either may be undefined).
extern KernelSlot<void(LossOp op, const Tensor& x, const Tensor& t, float scale, Tensor& gx,
                       Tensor& gt)>
    loss_backward;

// ---- reductions ----
// out = sum of x over `dims` (sorted, unique); x contiguous; out contiguous with the reduced
// dims of size 1.
extern KernelSlot<void(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out)> sum;
// out[i] = argmax over the last dim of contiguous x viewed as (rows, cols); out int64.
extern KernelSlot<void(const Tensor& x, Tensor& out)> argmax_lastdim;

// ---- softmax and cross-entropy (x contiguous, viewed as (outer, C, inner) around `dim`) ----
extern KernelSlot<void(const Tensor& x, int64_t dim, bool log, Tensor& y)> softmax;
extern KernelSlot<void(const Tensor& y, const Tensor& gy, int64_t dim, bool log, Tensor& gx)>
    softmax_backward;
// logits (N, C) or (N, C, d...), target int64 (N) or (N, d...). losses[i] = -log softmax at the
// target class, 0 where target == ignore_index; throws ValueError for a target out of range.
extern KernelSlot<void(const Tensor& logits, const Tensor& target, int64_t ignore_index,
                       Tensor& losses)>
    cross_entropy;
// glogits = scale * (softmax - onehot(target)), 0 at ignored positions.
extern KernelSlot<void(const Tensor& logits, const Tensor& target, int64_t ignore_index,
                       float scale, Tensor& glogits)>
    cross_entropy_backward;

// ---- linear algebra ----
// C = alpha * op(A) op(B) + beta * C, row-major contiguous 2-d matrices.
extern KernelSlot<void(bool trans_a, bool trans_b, float alpha, const Tensor& a, const Tensor& b,
                       float beta, Tensor& c)>
    gemm;

// ---- convolution (x, y: NCHW or NHWC strides; w: PyTorch layout, contiguous) ----
extern KernelSlot<void(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                       Tensor& y)>
    conv_forward;
extern KernelSlot<void(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx)>
    conv_backward_data;
// gw = d/dw; gb = d/db when defined.
extern KernelSlot<void(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                       Tensor& gb)>
    conv_backward_weights;

// ---- batch normalisation over (N, H, W) per channel; x, y, gx, gy share one layout ----
// Training: normalises with batch statistics, writes them (mean, biased variance) to
// save_mean/save_var and updates running stats (unbiased variance) with `momentum`.
// Eval: normalises with running_mean/running_var.
extern KernelSlot<void(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor& running_mean, Tensor& running_var, bool training, float momentum,
                       float eps, Tensor& y, Tensor& save_mean, Tensor& save_var)>
    batch_norm_forward;
extern KernelSlot<void(const Tensor& x, const Tensor& gy, const Tensor& weight, const Tensor& mean,
                       const Tensor& var, bool training, float eps, Tensor& gx, Tensor& gweight,
                       Tensor& gbias)>
    batch_norm_backward;

// ---- pooling (x, y share a layout) ----
// `workspace` is the kernel's own record for max-pool backward (opaque to callers; allocated
// by the kernel when training).
extern KernelSlot<void(const Tensor& x, const PoolParams& p, bool training, Tensor& y,
                       Tensor& workspace)>
    pool_forward;
extern KernelSlot<void(const Tensor& x, const Tensor& y, const Tensor& gy, const Tensor& workspace,
                       const PoolParams& p, Tensor& gx)>
    pool_backward;
// y (N, C) = mean of x over H, W; x NCHW or NHWC.
extern KernelSlot<void(const Tensor& x, Tensor& y)> global_avg_pool;
// gx (N, C, H, W, layout of gx) = gy / (H W) broadcast.
extern KernelSlot<void(const Tensor& gy, Tensor& gx)> global_avg_pool_backward;

// ---- resampling and indexing (contiguous) ----
// Bilinear resize of (N, C, H, W) to y's H, W, PyTorch's align_corners semantics.
extern KernelSlot<void(const Tensor& x, bool align_corners, Tensor& y)> upsample_bilinear;
extern KernelSlot<void(const Tensor& gy, bool align_corners, Tensor& gx)>
    upsample_bilinear_backward;
// out[i] = x[index[i]] along dim 0; index int64.
extern KernelSlot<void(const Tensor& x, const Tensor& index, Tensor& out)> index_select;
// gx[index[i]] += gy[i] along dim 0 (gx is zeroed by the caller).
extern KernelSlot<void(const Tensor& gy, const Tensor& index, Tensor& gx)> index_add;

// ---- randomness (element i depends only on seed, offset, i) ----
extern KernelSlot<void(Tensor& t, float lo, float hi, uint64_t seed, uint64_t offset)>
    random_uniform;
extern KernelSlot<void(Tensor& t, float mean, float std, uint64_t seed, uint64_t offset)>
    random_normal;
// y = x * keep / (1 - p) with keep = uniform(seed, offset, i) >= p; x, y dense, equal strides.
extern KernelSlot<void(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& y)>
    dropout;

// ---- optimiser updates over lists of parameters (one launch on CUDA) ----
extern KernelSlot<void(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                       const std::vector<Tensor>& momentum_bufs, const SgdHyper& h)>
    sgd_step;
extern KernelSlot<void(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                       const std::vector<Tensor>& exp_avg, const std::vector<Tensor>& exp_avg_sq,
                       const AdamHyper& h)>
    adam_step;

}  // namespace kernels
}  // namespace sr
