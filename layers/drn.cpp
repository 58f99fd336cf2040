// DRN-D-22 for segmentation (see drn.h).
//
// The x8 upsampling: DRNSeg's transposed convolution (kernel 16, stride 8, padding 4) with the
// bilinear weights w(k) = 1 - |k/8 - 15/16| gives output pixel o the inputs n with weights
// 1 - |(o - 3.5)/8 - n|, zero outside the map; align_corners=False interpolation of the map
// padded by one zero pixel, at output o + 8, uses the same weights on n + 1 and never clamps.
// Gradients follow from concat, upsample_bilinear and narrow.
#include "layers/drn.h"

#include <cmath>

#include "engine/autograd.h"
#include "layers/resnet.h"

namespace sr {

namespace {

constexpr int64_t kUpKernel = 16;

// conv3x3 -> BN -> ReLU (fyu/drn _make_conv_layers with one conv).
std::shared_ptr<Sequential> conv_layer(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                       int64_t dilation, Generator& gen) {
  auto s = std::make_shared<Sequential>();
  s->add(kaiming_conv(in, out, kernel, stride, dilation * (kernel / 2), gen, dilation));
  s->add(std::make_shared<BatchNorm2d>(out));
  s->add(std::make_shared<ReLU>());
  return s;
}

// Two BasicBlocks (fyu/drn _make_layer with 2 blocks): the first strided or changing the width
// (with a 1x1 downsample), both at `dilation`. new_level = false throughout DRN-D-22's dilated
// stages, so the first block's first conv uses the full dilation too.
std::shared_ptr<Sequential> block_layer(int64_t in, int64_t out, int64_t stride, int64_t dilation,
                                        Generator& gen) {
  auto s = std::make_shared<Sequential>();
  s->add(std::make_shared<BasicBlock>(in, out, stride, gen, dilation, dilation));
  s->add(std::make_shared<BasicBlock>(out, out, 1, gen, dilation, dilation));
  return s;
}

}  // namespace

Tensor drn_up_weights(int64_t channels) {
  const double f = double(kUpKernel / 2), c = (2 * f - 1 - double(kUpKernel / 2 % 2)) / (2 * f);
  std::vector<float> w(size_t(channels * kUpKernel * kUpKernel));
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t i = 0; i < kUpKernel; ++i)
      for (int64_t j = 0; j < kUpKernel; ++j)
        w[size_t((ch * kUpKernel + i) * kUpKernel + j)] =
            float((1 - std::fabs(double(i) / f - c)) * (1 - std::fabs(double(j) / f - c)));
  return Tensor::from_vector(w, {channels, 1, kUpKernel, kUpKernel});
}

DrnUp::DrnUp(int64_t channels) {
  weight_ = register_buffer("weight", drn_up_weights(channels));
}

Tensor DrnUp::forward(const Tensor& x) {
  SR_CHECK_SHAPE(x.dim() == 4 && x.size(1) == weight_.size(0),
                 "DrnUp: expected input (N, {}, h, w), got {}", weight_.size(0),
                 shape_str(x.shape()));
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t s = DrnD22::kOutputStride;
  Tensor rows = Tensor::zeros({n, c, 1, w}, DType::f32, x.device());
  Tensor padded = concat({rows, x, rows}, 2);
  Tensor cols = Tensor::zeros({n, c, h + 2, 1}, DType::f32, x.device());
  padded = concat({cols, padded, cols}, 3);
  Tensor y = upsample_bilinear(padded, s * (h + 2), s * (w + 2), false);
  return y.narrow(2, s, s * h).narrow(3, s, s * w);
}

void DrnUp::check_loaded(const std::string& prefix) const {
  std::vector<float> have = weight_.to_vector();
  std::vector<float> want = drn_up_weights(weight_.size(0)).to_vector();
  for (size_t i = 0; i < have.size(); ++i)
    SR_CHECK_VALUE(std::fabs(have[i] - want[i]) <= 1e-5f,
                   "{}weight: element {} is {} but DRNSeg's frozen bilinear kernel has {} (a "
                   "trained upsampling is not supported)",
                   prefix, i, have[i], want[i]);
}

DrnD22::DrnD22(const DrnConfig& cfg, Generator& gen, std::shared_ptr<Generator> noise)
    : cfg_(cfg), noise_(std::move(noise)) {
  SR_CHECK_VALUE(cfg.width > 0.f && cfg.in_channels > 0 && cfg.num_classes > 0,
                 "DrnD22: width {}, in_channels {} and num_classes {} must be positive", cfg.width,
                 cfg.in_channels, cfg.num_classes);
  SR_CHECK_VALUE(cfg.dropout >= 0.f && cfg.dropout < 1.f, "DrnD22: dropout {} must lie in [0, 1)",
                 cfg.dropout);
  SR_CHECK_VALUE(cfg.dropout == 0.f || noise_, "DrnD22: dropout {} needs a noise generator",
                 cfg.dropout);
  const std::array<int64_t, 8> full = {16, 32, 64, 128, 256, 512, 512, 512};
  for (size_t i = 0; i < 8; ++i)
    channels_[i] = std::max<int64_t>(1, std::lround(double(full[i]) * cfg.width));
  const auto& c = channels_;
  base_ = register_module("base", std::make_shared<Sequential>());
  base_->add(conv_layer(cfg.in_channels, c[0], 7, 1, 1, gen));
  base_->add(conv_layer(c[0], c[0], 3, 1, 1, gen));
  base_->add(conv_layer(c[0], c[1], 3, 2, 1, gen));
  base_->add(block_layer(c[1], c[2], 2, 1, gen));
  base_->add(block_layer(c[2], c[3], 2, 1, gen));
  base_->add(block_layer(c[3], c[4], 1, 2, gen));
  base_->add(block_layer(c[4], c[5], 1, 4, gen));
  base_->add(conv_layer(c[5], c[6], 3, 1, 2, gen));
  base_->add(conv_layer(c[6], c[7], 3, 1, 1, gen));
  seg_ = register_module(
      "seg", std::make_shared<Conv2d>(Conv2dOptions{c[7], cfg.num_classes, 1, 1, 0, 1, true}, gen));
  init_kaiming_normal(seg_->weight, fan_out_of(seg_->weight), gen);
  {
    NoGradGuard ng;
    seg_->bias.copy_(Tensor::zeros({cfg.num_classes}));
  }
  up_ = register_module("up", std::make_shared<DrnUp>(cfg.num_classes));
}

Tensor DrnD22::features(const Tensor& x) {
  SR_CHECK_SHAPE(
      x.dim() == 4 && x.size(1) == cfg_.in_channels && x.size(2) % kOutputStride == 0 &&
          x.size(3) % kOutputStride == 0 && x.size(2) > 0 && x.size(3) > 0,
      "DrnD22: expected input (N, {}, H, W) with H and W positive multiples of {}, got {}",
      cfg_.in_channels, kOutputStride, shape_str(x.shape()));
  return base_->forward(x);
}

Tensor DrnD22::head(const Tensor& f) {
  return up_->forward(seg_->forward(f));
}

DrnOutput DrnD22::forward_all(const Tensor& x) {
  DrnOutput out;
  out.features = features(x);
  check_share(x.size(0), type_name());
  // Under a batch share (layers/batch_share.h), the share's rows of the whole batch's mask.
  out.logits = head(cfg_.dropout > 0 ? sr::dropout(out.features, cfg_.dropout, is_training(),
                                                   *noise_, share_offset())
                                     : out.features);
  return out;
}

}  // namespace sr
