// CPU optimiser steps: SGD (momentum, dampening, Nesterov, L2 weight decay) and Adam over a list
// of parameter tensors, each element updated by the per-element rules of engine/math/optim_math.h
// (sgd_update / adam_update), which the CUDA twins in cuda/optim.cu share.
#include "engine/kernels.h"
#include "engine/parallel.h"

namespace sr {
namespace {

void sgd_step_cpu(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& bufs, const SgdHyper& h) {
  for (size_t k = 0; k < params.size(); ++k) {
    float* p = params[k].data<float>();
    const float* g = grads[k].data<float>();
    float* buf = bufs[k].defined() ? bufs[k].data<float>() : nullptr;
    parallel_for(params[k].numel(), 4, [&](int64_t b, int64_t e) {
      float dummy = 0.f;
      for (int64_t i = b; i < e; ++i) sgd_update(p + i, g[i], buf ? buf + i : &dummy, h);
    });
  }
}

void adam_step_cpu(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& m, const std::vector<Tensor>& v, const AdamHyper& h) {
  for (size_t k = 0; k < params.size(); ++k) {
    float* p = params[k].data<float>();
    const float* g = grads[k].data<float>();
    float* mp = m[k].data<float>();
    float* vp = v[k].data<float>();
    parallel_for(params[k].numel(), 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) adam_update(p + i, g[i], mp + i, vp + i, h);
    });
  }
}

}  // namespace

SR_REGISTER_KERNEL(sgd_step, cpu, sgd_step_cpu);
SR_REGISTER_KERNEL(adam_step, cpu, adam_step_cpu);

}  // namespace sr
