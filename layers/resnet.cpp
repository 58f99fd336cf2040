// ResNet-18, CIFAR and ImageNet forms (see resnet.h).
#include "layers/resnet.h"

#include <cmath>

namespace sr {

BasicBlock::BasicBlock(int64_t in, int64_t out, int64_t stride, Generator& gen, int64_t dilation1,
                       int64_t dilation2) {
  conv1_ = register_module("conv1", kaiming_conv(in, out, 3, stride, dilation1, gen, dilation1));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(out));
  conv2_ = register_module("conv2", kaiming_conv(out, out, 3, 1, dilation2, gen, dilation2));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(out));
  if (stride != 1 || in != out) {
    downsample_ = register_module("downsample", std::make_shared<Sequential>());
    downsample_->add(kaiming_conv(in, out, 1, stride, 0, gen));
    downsample_->add(std::make_shared<BatchNorm2d>(out));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor h = relu(bn1_->forward(conv1_->forward(x)));
  h = bn2_->forward(conv2_->forward(h));
  Tensor identity = downsample_ ? downsample_->forward(x) : x;
  return relu(add(h, identity));
}

ResNet18::ResNet18(const ResNetConfig& cfg, Generator& gen, std::shared_ptr<Generator> noise)
    : cfg_(cfg), noise_(std::move(noise)) {
  SR_CHECK_VALUE(cfg.width > 0.f && cfg.in_channels > 0 && cfg.num_classes > 0,
                 "ResNet18: width {}, in_channels {} and num_classes {} must be positive",
                 cfg.width, cfg.in_channels, cfg.num_classes);
  SR_CHECK_VALUE(cfg.dropout >= 0.f && cfg.dropout < 1.f, "ResNet18: dropout {} must lie in [0, 1)",
                 cfg.dropout);
  SR_CHECK_VALUE(cfg.dropout == 0.f || noise_, "ResNet18: dropout {} needs a noise generator",
                 cfg.dropout);
  for (int i = 0; i < 4; ++i)
    widths_[size_t(i)] = std::max<int64_t>(1, std::lround(double(64 << i) * cfg.width));
  if (cfg.form == ResNetForm::cifar)
    conv1_ = register_module("conv1", kaiming_conv(cfg.in_channels, widths_[0], 3, 1, 1, gen));
  else
    conv1_ = register_module("conv1", kaiming_conv(cfg.in_channels, widths_[0], 7, 2, 3, gen));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(widths_[0]));
  int64_t in = widths_[0];
  for (int i = 0; i < 4; ++i) {
    auto layer = std::make_shared<Sequential>();
    int64_t out = widths_[size_t(i)];
    layer->add(std::make_shared<BasicBlock>(in, out, i == 0 ? 1 : 2, gen));
    layer->add(std::make_shared<BasicBlock>(out, out, 1, gen));
    layers_[size_t(i)] = register_module("layer" + std::to_string(i + 1), layer);
    in = out;
  }
  fc_ = register_module("fc", std::make_shared<Linear>(widths_[3], cfg.num_classes, gen));
}

ResNetOutput ResNet18::forward_all(const Tensor& x) {
  return forward_all(x, true);
}

ResNetOutput ResNet18::forward_all(const Tensor& x, bool with_logits) {
  SR_CHECK_SHAPE(x.dim() == 4 && x.size(1) == cfg_.in_channels,
                 "ResNet18: expected input (N, {}, H, W), got {}", cfg_.in_channels,
                 shape_str(x.shape()));
  ResNetOutput out;
  Tensor h = relu(bn1_->forward(conv1_->forward(x)));
  if (cfg_.form == ResNetForm::imagenet) h = max_pool2d(h, 3, 2, 1);
  for (size_t i = 0; i < 4; ++i) {
    h = layers_[i]->forward(h);
    out.stages[i] = h;
  }
  out.embedding = global_avg_pool(h);
  if (!with_logits) return out;
  check_share(x.size(0), type_name());
  // Under a batch share (layers/batch_share.h), the share's rows of the whole batch's mask.
  Tensor f = cfg_.dropout > 0
                 ? sr::dropout(out.embedding, cfg_.dropout, is_training(), *noise_, share_offset())
                 : out.embedding;
  out.logits = fc_->forward(f);
  return out;
}

}  // namespace sr
