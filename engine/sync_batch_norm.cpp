// Synchronised batch norm on the batch-norm kernel slots and the process group (formulas and
// gradient rule in sync_batch_norm.h), the way PyTorch's SyncBatchNorm runs:
//   forward   the slot in training mode gives this rank's mean m_r and biased variance v_r over
//             its n_r values; one all-reduce of n_r m_r gives the global mean, a second of
//             n_r (v_r + (m_r - mean)^2) the global variance (Chan's combination, stable when
//             the mean is large against the spread); the slot in evaluation mode then normalises
//             with them;
//   backward  the slot with the statistics held fixed gives dx0 = dy w rstd and this rank's
//             sums Σdy and Σdy x̂ (its weight and bias gradients, which the gradient reducer
//             sums over ranks); one all-reduce of both gives the global sums, and
//             dx = dx0 - w rstd (Σdy + x̂ Σdy x̂) / M = dx0 - (alpha + beta x) per channel, with
//             beta = w rstd^2 Σdy x̂ / M and alpha = w rstd Σdy / M - beta mean.
#include "engine/sync_batch_norm.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/kernels.h"
#include "engine/ops.h"

namespace sr {

namespace {
// A (C) tensor of per-channel host values.
Tensor channels(const std::vector<float>& v, Device d) {
  return Tensor::from_vector(v, {int64_t(v.size())}, d);
}
}  // namespace

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor& running_mean, Tensor& running_var, bool training, float momentum,
                       float eps, const ProcessGroup& group) {
  if (!training || group.size() == 1)
    return batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
  check_dim(x, 4, "sync_batch_norm", "input");
  check_dtype(x, DType::f32, "sync_batch_norm", "input");
  const int64_t c = x.size(1);
  SR_CHECK_SHAPE(weight.shape() == Shape{c} && bias.shape() == Shape{c},
                 "sync_batch_norm: weight {} and bias {} must be ({}) for input {}", weight.str(),
                 bias.str(), c, x.str());
  const Device dev = x.device();
  const int64_t n = x.size(0) * x.size(2) * x.size(3);
  std::vector<int64_t> count{n};
  group.all_reduce_sum(count);
  const int64_t m = count[0];
  SR_CHECK_VALUE(m > 1,
                 "sync_batch_norm: {} value(s) per channel over all ranks for input {}; training "
                 "needs more than one",
                 m, x.str());
  const MemoryFormat fmt = x.suggest_memory_format();
  Tensor xin = x.contiguous(fmt);
  Tensor w = weight.contiguous(), b = bias.contiguous();

  // This rank's statistics (a rank without items contributes none).
  const size_t cs = static_cast<size_t>(c);
  std::vector<float> mean_r(cs, 0.f), var_r(cs, 0.f);
  if (n > 0) {
    Tensor scratch = Tensor::empty(x.shape(), DType::f32, dev, fmt), no_running;
    Tensor sm = Tensor::empty({c}, DType::f32, dev), sv = Tensor::empty({c}, DType::f32, dev);
    kernels::batch_norm_forward(dev, xin, w, b, no_running, no_running, true, 0.f, eps, scratch, sm,
                                sv);
    mean_r = sm.to_vector(), var_r = sv.to_vector();
  }
  std::vector<double> sums(cs);
  for (int64_t k = 0; k < c; ++k) sums[size_t(k)] = double(n) * mean_r[size_t(k)];
  group.all_reduce_sum(sums);
  std::vector<float> mean(cs), var(cs);
  for (int64_t k = 0; k < c; ++k) {
    mean[size_t(k)] = float(sums[size_t(k)] / double(m));
    double d = double(mean_r[size_t(k)]) - double(mean[size_t(k)]);
    sums[size_t(k)] = double(n) * (double(var_r[size_t(k)]) + d * d);
  }
  group.all_reduce_sum(sums);
  for (int64_t k = 0; k < c; ++k) var[size_t(k)] = float(sums[size_t(k)] / double(m));
  Tensor gmean = channels(mean, dev), gvar = channels(var, dev);

  Tensor y = Tensor::empty(x.shape(), DType::f32, dev, fmt), unused_mean, unused_var;
  if (n > 0)
    kernels::batch_norm_forward(dev, xin, w, b, gmean, gvar, false, 0.f, eps, y, unused_mean,
                                unused_var);
  {
    NoGradGuard ng;
    const float unbias = float(double(m) / double(m - 1));
    running_mean.copy_(running_mean * (1.f - momentum) + gmean * momentum);
    running_var.copy_(running_var * (1.f - momentum) + gvar * (momentum * unbias));
  }
  const ProcessGroup* g = &group;
  record_op("sync_batch_norm", {xin, weight, bias}, {y}, [&] {
    return [sx = save(xin), sw = save(w), gmean, gvar, mean, var, eps, fmt, m,
            g](const std::vector<Tensor>& grads) -> std::vector<Tensor> {
      const Device dev = sx.device();
      const int64_t c = sx.size(1);
      Tensor gy = grads[0].contiguous(fmt);
      Tensor gx0 = Tensor::empty(sx.shape(), DType::f32, dev, fmt);
      Tensor gw = Tensor::empty({c}, DType::f32, dev), gb = Tensor::empty({c}, DType::f32, dev);
      if (sx.numel() > 0) {
        kernels::batch_norm_backward(dev, sx, gy, sw, gmean, gvar, false, eps, gx0, gw, gb);
      } else {  // a rank without items still joins the all-reduce
        gw.zero_();
        gb.zero_();
      }
      std::vector<double> s;  // Σdy then Σdy x̂, per channel, over all ranks
      for (float v : gb.to_vector()) s.push_back(v);
      for (float v : gw.to_vector()) s.push_back(v);
      g->all_reduce_sum(s);
      const size_t cs = static_cast<size_t>(c);
      std::vector<float> w_host = sw.to_vector(), alpha(cs), beta(cs);
      for (int64_t k = 0; k < c; ++k) {
        double rstd = 1.0 / std::sqrt(double(var[size_t(k)]) + double(eps));
        double bt = double(w_host[size_t(k)]) * rstd * rstd * s[size_t(c + k)] / double(m);
        beta[size_t(k)] = float(bt);
        alpha[size_t(k)] = float(double(w_host[size_t(k)]) * rstd * s[size_t(k)] / double(m) -
                                 bt * double(mean[size_t(k)]));
      }
      const Shape per_channel{1, c, 1, 1};
      Tensor gx = gx0 - (sx * channels(beta, dev).reshape(per_channel) +
                         channels(alpha, dev).reshape(per_channel));
      return {gx, gw, gb};
    };
  });
  return y;
}

}  // namespace sr
