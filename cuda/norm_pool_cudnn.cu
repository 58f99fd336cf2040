// CUDA batch normalisation and 2-d pooling through cuDNN.
//
// Batch-norm (x, y, gx, gy: (N, C, H, W), NCHW or NHWC, sharing one layout; per-channel vectors
// (C)), CUDNN_BATCHNORM_SPATIAL:
//   training forward  cudnnBatchNormalizationForwardTraining writes y, the batch mean and
//                     1 / sqrt(var + eps); a small kernel turns the latter into the biased
//                     variance the slot saves (kernels.h) and updates the running statistics
//                     as the CPU does: r = (1 - m) r + m * batch, with the unbiased variance
//                     var * n / (n - 1) (cuDNN's own running update is not used).
//   eval forward      cudnnBatchNormalizationForwardInference with the running statistics.
//   training backward cudnnBatchNormalizationBackward with the saved mean and 1/sqrt(var + eps);
//                     gx = w invstd (gy - mean(gy) - xhat mean(gy xhat)), gw = sum gy xhat,
//                     gb = sum gy.
//   eval backward     the statistics are constants: gx = gy w invstd, gw = sum gy xhat,
//                     gb = sum gy (our kernels: one block per channel, fixed-order reductions).
// Pooling: cudnnPoolingForward / cudnnPoolingBackward (x, y, gy and gx as they are laid out).
// Max pooling needs no workspace tensor (cuDNN recomputes the arg-max from x and y), so the
// slot's workspace stays undefined; deterministic() selects CUDNN_POOLING_MAX_DETERMINISTIC.
// Average pooling follows count_include_pad.
#include <cub/cub.cuh>

#include "cuda/cudnn_util.h"
#include "engine/backend.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

#define SR_GRID_STRIDE(i, n)                                                \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

// save_var = 1 / invstd^2 - eps; running stats updated when given.
__global__ void bn_finish_stats_kernel(const float* __restrict__ mean,
                                       const float* __restrict__ invstd,
                                       float* __restrict__ save_var, float* __restrict__ rm,
                                       float* __restrict__ rv, int64_t C, float eps, float momentum,
                                       float unbias) {
  SR_GRID_STRIDE(c, C) {
    const float is = invstd[c];
    float v = 1.f / (is * is) - eps;
    v = v > 0.f ? v : 0.f;
    save_var[c] = v;
    if (rm) {
      rm[c] = (1.f - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (1.f - momentum) * rv[c] + momentum * v * unbias;
    }
  }
}

__global__ void bn_invstd_kernel(const float* __restrict__ var, float* __restrict__ invstd,
                                 int64_t C, float eps) {
  SR_GRID_STRIDE(c, C) invstd[c] = rsqrtf(var[c] + eps);
}

// Eval-mode backward, per channel c (one block): gb = sum gy, gw = sum gy (x - mean) invstd.
// Element (n, p) of channel c is at n s0 + c s1 + p sp (p = h W + w; dense H, W).
__global__ void bn_eval_param_grads_kernel(const float* __restrict__ x,
                                           const float* __restrict__ gy,
                                           const float* __restrict__ mean,
                                           const float* __restrict__ var, float eps, int64_t N,
                                           int64_t HW, int64_t s0, int64_t s1, int64_t sp,
                                           float* __restrict__ gw, float* __restrict__ gb) {
  using BlockReduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const int64_t c = blockIdx.x;
  const float m = mean[c], is = rsqrtf(var[c] + eps);
  float sg = 0.f, sgx = 0.f;
  for (int64_t e = threadIdx.x; e < N * HW; e += kThreads) {
    const int64_t off = (e / HW) * s0 + c * s1 + (e % HW) * sp;
    const float g = gy[off];
    sg += g;
    sgx += g * (x[off] - m);
  }
  sg = BlockReduce(tmp).Sum(sg);
  __syncthreads();
  sgx = BlockReduce(tmp).Sum(sgx);
  if (threadIdx.x == 0) {
    gb[c] = sg;
    gw[c] = sgx * is;
  }
}

// Eval-mode gx = gy w invstd over the dense block (channel of memory index i: (i / s1) % C).
__global__ void bn_eval_gx_kernel(const float* __restrict__ gy, const float* __restrict__ w,
                                  const float* __restrict__ var, float eps, int64_t n, int64_t C,
                                  int64_t s1, float* __restrict__ gx) {
  SR_GRID_STRIDE(i, n) {
    const int64_t c = (i / s1) % C;
    gx[i] = gy[i] * w[c] * rsqrtf(var[c] + eps);
  }
}

void batch_norm_forward_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias,
                             Tensor& running_mean, Tensor& running_var, bool training,
                             float momentum, float eps, Tensor& y, Tensor& save_mean,
                             Tensor& save_var) {
  if (x.numel() == 0) return;
  const int64_t C = x.size(1);
  TensorDesc xd, yd, cd;
  set_4d(xd, x);
  set_4d(yd, y);
  set_channels(cd, C);
  const float one = 1.f, zero = 0.f;
  if (!training) {
    CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
        cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, x.raw_data(), yd, y.raw_data(), cd,
        weight.raw_data(), bias.raw_data(), running_mean.raw_data(), running_var.raw_data(),
        double(eps)));
    return;
  }
  Tensor invstd = Tensor::empty({C}, DType::f32, Device::cuda);
  CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, x.raw_data(), yd, y.raw_data(), cd,
      weight.raw_data(), bias.raw_data(), double(momentum), nullptr, nullptr, double(eps),
      save_mean.raw_data(), invstd.raw_data()));
  const int64_t n = x.numel() / C;
  const float unbias = n > 1 ? float(n) / float(n - 1) : 1.f;
  const bool running = running_mean.defined();
  bn_finish_stats_kernel<<<grid_for(C), kThreads, 0, stream()>>>(
      save_mean.data<float>(), invstd.data<float>(), save_var.data<float>(),
      running ? running_mean.data<float>() : nullptr, running ? running_var.data<float>() : nullptr,
      C, eps, momentum, unbias);
  CUDA_CHECK_LAUNCH();
  if (running) {
    running_mean.bump_version();
    running_var.bump_version();
  }
}

void batch_norm_backward_cuda(const Tensor& x, const Tensor& gy, const Tensor& weight,
                              const Tensor& mean, const Tensor& var, bool training, float eps,
                              Tensor& gx, Tensor& gweight, Tensor& gbias) {
  const int64_t C = x.size(1);
  if (x.numel() == 0) {
    if (C > 0) {
      gweight.zero_();
      gbias.zero_();
    }
    return;
  }
  if (!training) {
    const int64_t N = x.size(0), HW = x.size(2) * x.size(3);
    bn_eval_param_grads_kernel<<<unsigned(C), kThreads, 0, stream()>>>(
        x.data<float>(), gy.data<float>(), mean.data<float>(), var.data<float>(), eps, N, HW,
        x.stride(0), x.stride(1), x.stride(3), gweight.data<float>(), gbias.data<float>());
    CUDA_CHECK_LAUNCH();
    bn_eval_gx_kernel<<<grid_for(gx.numel()), kThreads, 0, stream()>>>(
        gy.data<float>(), weight.data<float>(), var.data<float>(), eps, gx.numel(), C, gx.stride(1),
        gx.data<float>());
    CUDA_CHECK_LAUNCH();
    return;
  }
  Tensor invstd = Tensor::empty({C}, DType::f32, Device::cuda);
  bn_invstd_kernel<<<grid_for(C), kThreads, 0, stream()>>>(var.data<float>(), invstd.data<float>(),
                                                           C, eps);
  CUDA_CHECK_LAUNCH();
  TensorDesc xd, gyd, gxd, cd;
  set_4d(xd, x);
  set_4d(gyd, gy);
  set_4d(gxd, gx);
  set_channels(cd, C);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnBatchNormalizationBackward(
      cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, xd, x.raw_data(), gyd,
      gy.raw_data(), gxd, gx.raw_data(), cd, weight.raw_data(), gweight.raw_data(),
      gbias.raw_data(), double(eps), mean.raw_data(), invstd.raw_data()));
}

// ---------------------------------------------------------------- pooling

void set_pool(cudnnPoolingDescriptor_t d, const PoolParams& p) {
  cudnnPoolingMode_t mode;
  if (p.kind == PoolKind::max)
    mode = deterministic() ? CUDNN_POOLING_MAX_DETERMINISTIC : CUDNN_POOLING_MAX;
  else
    mode = p.count_include_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                               : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  CUDNN_CHECK(cudnnSetPooling2dDescriptor(
      d, mode, CUDNN_PROPAGATE_NAN, to_int(p.kernel[0], "kernel"), to_int(p.kernel[1], "kernel"),
      to_int(p.padding[0], "padding"), to_int(p.padding[1], "padding"),
      to_int(p.stride[0], "stride"), to_int(p.stride[1], "stride")));
}

void pool_forward_cuda(const Tensor& x, const PoolParams& p, bool /*training*/, Tensor& y,
                       Tensor& /*workspace*/) {
  if (y.numel() == 0) return;
  PoolDesc pd;
  TensorDesc xd, yd;
  set_pool(pd, p);
  set_4d(xd, x);
  set_4d(yd, y);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnPoolingForward(cudnn(), pd, &one, xd, x.raw_data(), &zero, yd, y.raw_data()));
}

void pool_backward_cuda(const Tensor& x, const Tensor& y, const Tensor& gy,
                        const Tensor& /*workspace*/, const PoolParams& p, Tensor& gx) {
  if (gx.numel() == 0) return;
  if (gy.numel() == 0) {
    gx.zero_();
    return;
  }
  PoolDesc pd;
  TensorDesc xd, yd, gyd, gxd;
  set_pool(pd, p);
  set_4d(xd, x);
  set_4d(yd, y);
  set_4d(gyd, gy);
  set_4d(gxd, gx);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnPoolingBackward(cudnn(), pd, &one, yd, y.raw_data(), gyd, gy.raw_data(), xd,
                                   x.raw_data(), &zero, gxd, gx.raw_data()));
}

}  // namespace

SR_REGISTER_KERNEL(batch_norm_forward, cuda, batch_norm_forward_cuda);
SR_REGISTER_KERNEL(batch_norm_backward, cuda, batch_norm_backward_cuda);
SR_REGISTER_KERNEL(pool_forward, cuda, pool_forward_cuda);
SR_REGISTER_KERNEL(pool_backward, cuda, pool_backward_cuda);

}  // namespace sr::cuda
