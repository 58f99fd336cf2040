// Point-wise loss terms shared by the CPU and CUDA kernels. Each takes an input x and a target
// t of the same shape; the reduction (mean or sum) is done by the op on top.
//
//   bce_prob     l = -(t log p + (1-t) log(1-p)), logs clamped at -100 (as PyTorch)
//                dl/dp = (p - t) / max(p (1-p), 1e-12)
//   bce_logits   l = max(x,0) - x t + log(1 + e^-|x|)     (stable for any x)
//                dl/dx = sigmoid(x) - t,   dl/dt = -x
//   squared      l = (x - t)^2                             dl/dx = 2 (x - t), dl/dt = -2 (x - t)
//   kl_normal    x = mu, t = logvar of a diagonal Gaussian, l = KL(N(mu, e^t) || N(0, 1)) summed
//                per element: -0.5 (1 + t - mu^2 - e^t)
//                dl/dmu = mu,  dl/dt = 0.5 (e^t - 1)
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/hd.h"
#include "engine/math/elementwise_math.h"

namespace sr {

enum class LossOp : uint8_t { bce_prob, bce_logits, squared, kl_normal };

template <LossOp OP>
SR_HD float loss_forward(float x, float t) {
  if constexpr (OP == LossOp::bce_prob) {
    float lp = fmaxf(logf(x), -100.f);
    float l1p = fmaxf(logf(1.f - x), -100.f);
    return -(t * lp + (1.f - t) * l1p);
  }
  if constexpr (OP == LossOp::bce_logits) return fmaxf(x, 0.f) - x * t + log1pf(expf(-fabsf(x)));
  if constexpr (OP == LossOp::squared) return (x - t) * (x - t);
  if constexpr (OP == LossOp::kl_normal) return -0.5f * (1.f + t - x * x - expf(t));
  return 0.f;
}

// d loss / d x.
template <LossOp OP>
SR_HD float loss_grad_input(float x, float t) {
  if constexpr (OP == LossOp::bce_prob) return (x - t) / fmaxf(x * (1.f - x), 1e-12f);
  if constexpr (OP == LossOp::bce_logits) return sigmoidf(x) - t;
  if constexpr (OP == LossOp::squared) return 2.f * (x - t);
  if constexpr (OP == LossOp::kl_normal) return x;
  return 0.f;
}

// d loss / d t.
template <LossOp OP>
SR_HD float loss_grad_target(float x, float t) {
  if constexpr (OP == LossOp::bce_prob) {
    float lp = fmaxf(logf(x), -100.f);
    float l1p = fmaxf(logf(1.f - x), -100.f);
    return l1p - lp;
  }
  if constexpr (OP == LossOp::bce_logits) return -x;
  if constexpr (OP == LossOp::squared) return -2.f * (x - t);
  if constexpr (OP == LossOp::kl_normal) return 0.5f * (expf(t) - 1.f);
  return 0.f;
}

}  // namespace sr
