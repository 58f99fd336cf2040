// Batch normalisation over the batch of every rank of a job (PyTorch's SyncBatchNorm), and the
// differentiable all-reduce it is built from.
//
// all_reduce_sum(x, g): y = sum over ranks of x, on every rank. Since every rank's y depends on
// every rank's x, the gradient is the same all-reduce: dL/dx = sum over ranks of dL/dy.
//
// sync_batch_norm: x (N, C, H, W), weight/bias (C). In training, the statistics are those of the
// global batch (every rank's N items together): mean = sum x / M, var = sum (x - mean)^2 / M
// with M = the global N*H*W (two passes, each one all-reduce of C values), y = (x - mean) /
// sqrt(var + eps) * weight + bias, and the running statistics move by `momentum` toward mean
// and the unbiased M/(M-1) var, the same on every rank. The backward pass is autograd's through
// these ops, all-reduces included, so the gradients are those of the one-process batch norm of
// the global batch. In evaluation it is batch_norm with the running statistics.
#pragma once

#include "engine/distributed.h"
#include "engine/tensor.h"

namespace sr {

Tensor all_reduce_sum(const Tensor& x, const ProcessGroup& group);

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor& running_mean, Tensor& running_var, bool training, float momentum,
                       float eps, const ProcessGroup& group);

}  // namespace sr
