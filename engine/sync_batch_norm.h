// Batch normalisation over the batch of every rank of a job (PyTorch's SyncBatchNorm).
//
// sync_batch_norm: x (N, C, H, W), weight/bias (C). In training, the statistics are those of the
// global batch (every rank's N items together): mean = sum x / M, var = sum (x - mean)^2 / M
// with M = the global N*H*W, y = (x - mean) / sqrt(var + eps) * weight + bias, and the running
// statistics move by `momentum` toward mean and the unbiased M/(M-1) var, the same on every
// rank. Gradients are those of one-process batch norm of the global batch:
//   dx = w rstd (dy - (Σdy + x̂ Σdy x̂) / M), the sums over all ranks (one all-reduce of 2C);
//   dweight = Σdy x̂ and dbias = Σdy over this rank's values (the gradient reducer sums them).
// How it is computed (the batch-norm kernel slots; three small all-reduces forward, one
// backward): sync_batch_norm.cpp.
// In evaluation it is batch_norm with the running statistics.
#pragma once

#include "engine/distributed.h"
#include "engine/tensor.h"

namespace sr {

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor& running_mean, Tensor& running_var, bool training, float momentum,
                       float eps, const ProcessGroup& group);

}  // namespace sr
