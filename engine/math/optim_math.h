// Optimiser updates for one parameter element, shared by the CPU and CUDA kernels. Semantics
// are PyTorch's (torch.optim.SGD and torch.optim.Adam, L2 weight decay added to the gradient).
//
//   SGD:  d = g + wd*p;  buf = first ? d : momentum*buf + (1-dampening)*d
//         d = nesterov ? d + momentum*buf : buf   (momentum 0: d unchanged, no buffer)
//         p -= lr*d
//   Adam: d = g + wd*p;  m = b1*m + (1-b1)*d;  v = b2*v + (1-b2)*d^2
//         p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
#pragma once

#include <cmath>

#include "engine/hd.h"

namespace sr {

struct SgdHyper {
  float lr = 0.01f;
  float momentum = 0.f;
  float dampening = 0.f;
  float weight_decay = 0.f;
  bool nesterov = false;
  bool first_step = true;  // momentum buffer is initialised with the first gradient
};

struct AdamHyper {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
  // Derived from the step count t by the optimiser: 1 - beta^t.
  float bias_correction1 = 1.f;
  float bias_correction2 = 1.f;
};

SR_HD void sgd_update(float* p, float g, float* buf, const SgdHyper& h) {
  float d = g + h.weight_decay * *p;
  if (h.momentum != 0.f) {
    float b = h.first_step ? d : h.momentum * *buf + (1.f - h.dampening) * d;
    *buf = b;
    d = h.nesterov ? d + h.momentum * b : b;
  }
  *p -= h.lr * d;
}

SR_HD void adam_update(float* p, float g, float* m, float* v, const AdamHyper& h) {
  float d = g + h.weight_decay * *p;
  float mm = h.beta1 * *m + (1.f - h.beta1) * d;
  float vv = h.beta2 * *v + (1.f - h.beta2) * d * d;
  *m = mm;
  *v = vv;
  float denom = sqrtf(vv) / sqrtf(h.bias_correction2) + h.eps;
  *p -= (h.lr / h.bias_correction1) * mm / denom;
}

}  // namespace sr
