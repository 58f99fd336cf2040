// Synchronised batch norm as a composite of recorded ops and a differentiable all-reduce (see
// sync_batch_norm.h for the formulas and the gradient rule).
#include "engine/sync_batch_norm.h"

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops.h"

namespace sr {

Tensor all_reduce_sum(const Tensor& x, const ProcessGroup& group) {
  Tensor y = x.contiguous().clone();
  group.all_reduce_sum(y);
  const ProcessGroup* g = &group;
  record_op("all_reduce_sum", {x}, {y}, [g] {
    return [g](const std::vector<Tensor>& grads) -> std::vector<Tensor> {
      Tensor d = grads[0].contiguous().clone();
      g->all_reduce_sum(d);
      return {d};
    };
  });
  return y;
}

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor& running_mean, Tensor& running_var, bool training, float momentum,
                       float eps, const ProcessGroup& group) {
  if (!training || group.size() == 1)
    return batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
  SR_CHECK_SHAPE(x.dim() == 4, "sync_batch_norm: input {} is not (N, C, H, W)", x.str());
  const int64_t c = x.size(1);
  SR_CHECK_SHAPE(weight.shape() == Shape{c} && bias.shape() == Shape{c},
                 "sync_batch_norm: weight {} and bias {} must be ({}) for input {}", weight.str(),
                 bias.str(), c, x.str());
  std::vector<int64_t> count{x.size(0) * x.size(2) * x.size(3)};
  group.all_reduce_sum(count);
  const int64_t m = count[0];
  SR_CHECK_VALUE(m > 1,
                 "sync_batch_norm: {} value(s) per channel over all ranks for input {}; "
                 "training needs more than one",
                 m, x.str());
  const Shape per_channel{1, c, 1, 1};
  Tensor mean = all_reduce_sum(sum(x, {0, 2, 3}), group) / float(m);
  Tensor centred = x - mean.reshape(per_channel);
  Tensor var = all_reduce_sum(sum(centred * centred, {0, 2, 3}), group) / float(m);
  Tensor scale = pow(var + eps, -0.5f) * weight;
  Tensor y = centred * scale.reshape(per_channel) + bias.reshape(per_channel);
  {
    NoGradGuard ng;
    const float unbias = float(double(m) / double(m - 1));
    running_mean.copy_(running_mean * (1.f - momentum) + mean.detach() * momentum);
    running_var.copy_(running_var * (1.f - momentum) + var.detach() * (momentum * unbias));
  }
  return y;
}

}  // namespace sr
