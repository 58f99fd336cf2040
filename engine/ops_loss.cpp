// Losses, the reparameterisation trick and random tensors.
//
// Gradient rules (mean reduction over n items, g = gradient of the scalar loss):
//   cross_entropy: g / n_valid * (softmax(x) - onehot(t)), 0 at ignored positions
//   binary_cross_entropy(p, t):            g / n * (p - t) / (p (1 - p))
//   binary_cross_entropy_with_logits(x, t): g / n * (sigmoid(x) - t)
//   mse_loss(x, t):                        g / n * 2 (x - t)
//   kl_normal(mu, lv):                     g * r * (mu, (exp(lv) - 1) / 2), r the reduction factor
//   reparameterize: composed of exp, mul and add (their rules apply)
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace sr {

namespace {

// Reduced point-wise loss: factor * sum(l(x, t)).
Tensor pointwise_loss(LossOp op, const char* name, const Tensor& x, const Tensor& t, float factor) {
  check_dtype(x, DType::f32, name, "input");
  check_dtype(t, DType::f32, name, "target");
  check_same_device(x, t, name);
  SR_CHECK_SHAPE(x.shape() == t.shape(), "{}: input {} and target {} differ in shape", name,
                 shape_str(x.shape()), shape_str(t.shape()));
  Tensor xc = x.contiguous(), tc = t.contiguous();
  Tensor terms = Tensor::empty(x.shape(), DType::f32, x.device());
  kernels::loss(x.device(), op, xc, tc, terms);
  Tensor out;
  {
    NoGradGuard ng;
    out = mul(sum(terms), factor);
  }
  record_op(name, {xc, tc}, {out}, [&] {
    bool need_x = xc.requires_grad(), need_t = tc.requires_grad();
    return
        [op, sx = save(xc), st = save(tc), factor, need_x, need_t](const std::vector<Tensor>& g) {
          float scale = g[0].item<float>() * factor;
          Tensor gx = need_x ? Tensor::empty(sx.shape(), DType::f32, sx.device()) : Tensor();
          Tensor gt = need_t ? Tensor::empty(st.shape(), DType::f32, st.device()) : Tensor();
          kernels::loss_backward(sx.device(), op, sx, st, scale, gx, gt);
          return std::vector<Tensor>{gx, gt};
        };
  });
  return out;
}

float inv_count(int64_t n) {
  return n ? 1.f / float(n) : 0.f;
}

}  // namespace

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target) {
  return pointwise_loss(LossOp::bce_prob, "binary_cross_entropy", probs, target,
                        inv_count(probs.numel()));
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target) {
  return pointwise_loss(LossOp::bce_logits, "binary_cross_entropy_with_logits", logits, target,
                        inv_count(logits.numel()));
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss(LossOp::squared, "mse_loss", input, target, inv_count(input.numel()));
}

Tensor kl_normal(const Tensor& mu, const Tensor& logvar, KlReduction red) {
  float factor = 1.f;
  if (red == KlReduction::batch_mean) factor = inv_count(mu.dim() ? mu.size(0) : 1);
  if (red == KlReduction::mean) factor = inv_count(mu.numel());
  return pointwise_loss(LossOp::kl_normal, "kl_normal", mu, logvar, factor);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  check_dtype(logits, DType::f32, "cross_entropy", "logits");
  check_dtype(target, DType::i64, "cross_entropy", "target");
  check_same_device(logits, target, "cross_entropy");
  SR_CHECK_SHAPE(logits.dim() >= 2, "cross_entropy: logits must be (N, C, ...), got {}",
                 shape_str(logits.shape()));
  Shape expect = logits.shape();
  expect.erase(expect.begin() + 1);
  SR_CHECK_SHAPE(target.shape() == expect,
                 "cross_entropy: target {} does not match logits {} (expected target {})",
                 shape_str(target.shape()), shape_str(logits.shape()), shape_str(expect));
  Tensor x = logits.contiguous(), t = target.contiguous();
  Tensor losses = Tensor::empty(expect, DType::f32, x.device());
  kernels::cross_entropy(x.device(), x, t, ignore_index, losses);
  // The non-ignored positions, counted where the target is (one number to the host, not the
  // target): clamp((t - ignore)^2, 0, 1) is 1 exactly where the integer class differs; the
  // float sum is exact below 2^24 positions, and within float rounding above.
  int64_t valid = 0;
  {
    NoGradGuard ng;
    Tensor d = add(t.to_dtype(DType::f32), -float(ignore_index));
    valid = int64_t(std::lround(sum(clamp(mul(d, d), 0.f, 1.f)).item<float>()));
  }
  // Mean over the non-ignored positions; 0 (not NaN) when every position is ignored.
  float factor = inv_count(valid);
  Tensor out;
  {
    NoGradGuard ng;
    out = mul(sum(losses), factor);
  }
  record_op("cross_entropy", {x}, {out}, [&] {
    return [sx = save(x), t, ignore_index, factor](const std::vector<Tensor>& g) {
      Tensor gx = Tensor::empty(sx.shape(), DType::f32, sx.device());
      kernels::cross_entropy_backward(sx.device(), sx, t, ignore_index, g[0].item<float>() * factor,
                                      gx);
      return std::vector<Tensor>{gx};
    };
  });
  return out;
}

Tensor reparameterize(const Tensor& mu, const Tensor& logvar, Generator& gen) {
  return reparameterize(mu, logvar, randn(mu.shape(), gen, mu.device()));
}

Tensor reparameterize(const Tensor& mu, const Tensor& logvar, const Tensor& eps) {
  SR_CHECK_SHAPE(mu.shape() == logvar.shape() && mu.shape() == eps.shape(),
                 "reparameterize: mu {}, logvar {} and eps {} differ", shape_str(mu.shape()),
                 shape_str(logvar.shape()), shape_str(eps.shape()));
  return add(mu, mul(eps, exp(mul(logvar, 0.5f))));
}

// ---------------------------------------------------------------- random tensors

void uniform_(Tensor& t, float lo, float hi, Generator& gen) {
  check_dtype(t, DType::f32, "uniform_", "tensor");
  Tensor dst = t.is_contiguous() ? t : Tensor::empty(t.shape(), DType::f32, t.device());
  kernels::random_uniform(t.device(), dst, lo, hi, gen.seed(), gen.next_stream());
  if (!dst.is_same(t)) t.copy_(dst);
  t.bump_version();
}

void normal_(Tensor& t, float mean, float std, Generator& gen) {
  check_dtype(t, DType::f32, "normal_", "tensor");
  Tensor dst = t.is_contiguous() ? t : Tensor::empty(t.shape(), DType::f32, t.device());
  kernels::random_normal(t.device(), dst, mean, std, gen.seed(), gen.next_stream());
  if (!dst.is_same(t)) t.copy_(dst);
  t.bump_version();
}

Tensor randn(const Shape& shape, Generator& gen, Device device) {
  Tensor t = Tensor::empty(shape, DType::f32, device);
  normal_(t, 0.f, 1.f, gen);
  return t;
}

Tensor rand(const Shape& shape, Generator& gen, Device device) {
  Tensor t = Tensor::empty(shape, DType::f32, device);
  uniform_(t, 0.f, 1.f, gen);
  return t;
}

}  // namespace sr
