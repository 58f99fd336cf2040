// Basic layers: construction (PyTorch's default initialisation) and forward.
#include "layers/layers.h"

#include <cmath>

#include "engine/sync_batch_norm.h"

namespace sr {

int64_t fan_in_of(const Tensor& w) {
  int64_t rf = 1;
  for (int64_t d = 2; d < w.dim(); ++d) rf *= w.size(d);
  return w.size(1) * rf;
}

int64_t fan_out_of(const Tensor& w) {
  int64_t rf = 1;
  for (int64_t d = 2; d < w.dim(); ++d) rf *= w.size(d);
  return w.size(0) * rf;
}

void init_default_uniform(Tensor& w, int64_t fan_in, Generator& gen) {
  float bound = fan_in > 0 ? 1.f / std::sqrt(float(fan_in)) : 0.f;
  uniform_(w, -bound, bound, gen);
}

void init_kaiming_normal(Tensor& w, int64_t fan, Generator& gen) {
  normal_(w, 0.f, std::sqrt(2.f / float(std::max<int64_t>(fan, 1))), gen);
}

Conv2d::Conv2d(const Conv2dOptions& o, Generator& gen) : opt(o) {
  SR_CHECK_VALUE(o.in > 0 && o.out > 0 && o.kernel > 0,
                 "Conv2d: sizes must be positive ({} -> {}, k {})", o.in, o.out, o.kernel);
  Tensor w = Tensor::empty({o.out, o.in, o.kernel, o.kernel});
  int64_t fan = fan_in_of(w);
  init_default_uniform(w, fan, gen);
  weight = register_parameter("weight", w);
  if (o.bias) {
    Tensor b = Tensor::empty({o.out});
    init_default_uniform(b, fan, gen);
    bias = register_parameter("bias", b);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, opt.stride, opt.padding, opt.dilation);
}

std::shared_ptr<Conv2d> kaiming_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                     int64_t padding, Generator& gen, int64_t dilation) {
  auto c = std::make_shared<Conv2d>(
      Conv2dOptions{in, out, kernel, stride, padding, dilation, false}, gen);
  init_kaiming_normal(c->weight, fan_out_of(c->weight), gen);
  return c;
}

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& o, Generator& gen) : opt(o) {
  SR_CHECK_VALUE(o.in > 0 && o.out > 0 && o.kernel > 0,
                 "ConvTranspose2d: sizes must be positive ({} -> {}, k {})", o.in, o.out, o.kernel);
  Tensor w = Tensor::empty({o.in, o.out, o.kernel, o.kernel});
  int64_t fan = fan_in_of(w);  // PyTorch uses size(1) = out channels here too
  init_default_uniform(w, fan, gen);
  weight = register_parameter("weight", w);
  if (o.bias) {
    Tensor b = Tensor::empty({o.out});
    init_default_uniform(b, fan, gen);
    bias = register_parameter("bias", b);
  }
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, weight, bias, opt.stride, opt.padding, opt.output_padding,
                          opt.dilation);
}

BatchNorm2d::BatchNorm2d(int64_t channels, float eps_, float momentum_)
    : eps(eps_), momentum(momentum_) {
  SR_CHECK_VALUE(channels > 0, "BatchNorm2d: channels must be positive, got {}", channels);
  weight = register_parameter("weight", Tensor::ones({channels}));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (is_training()) {
    // Counted on the host side of the buffer's device; cheap (one scalar).
    int64_t n = num_batches_tracked.item<int64_t>();
    num_batches_tracked.fill_(double(n + 1));
  }
  if (sync_group)
    return sync_batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps,
                           *sync_group);
  return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}

int64_t synchronise_batch_norm(Module& m, std::shared_ptr<const ProcessGroup> group) {
  int64_t n = 0;
  if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) bn->sync_group = group, ++n;
  for (auto& [name, child] : m.children()) n += synchronise_batch_norm(*child, group);
  return n;
}

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool with_bias) {
  SR_CHECK_VALUE(in > 0 && out > 0, "Linear: sizes must be positive ({} -> {})", in, out);
  Tensor w = Tensor::empty({out, in});
  init_default_uniform(w, in, gen);
  weight = register_parameter("weight", w);
  if (with_bias) {
    Tensor b = Tensor::empty({out});
    init_default_uniform(b, in, gen);
    bias = register_parameter("bias", b);
  }
}

Tensor Linear::forward(const Tensor& x) {
  return linear(x, weight, bias);
}

Tensor View::forward(const Tensor& x) {
  Shape s{x.size(0)};
  s.insert(s.end(), shape_.begin(), shape_.end());
  return x.reshape(s);
}

}  // namespace sr
