// DRN-D-22 (Yu, Koltun, Funkhouser, "Dilated Residual Networks", CVPR 2017) as a semantic
// segmentation network, with the parameter names of the reference implementation (fyu/drn
// segment.py DRNSeg around drn.py drn_d_22), so that its state_dicts load as they are:
//
//   base.0   conv7x7(in -> c0) BN ReLU                          (layer0)
//   base.1   conv3x3(c0 -> c0) BN ReLU                          (layer1)
//   base.2   conv3x3/2(c0 -> c1) BN ReLU                        (layer2, stride 2)
//   base.3   2 BasicBlocks c1 -> c2, the first stride 2         (layer3, stride 4)
//   base.4   2 BasicBlocks c2 -> c3, the first stride 2         (layer4, output stride 8)
//   base.5   2 BasicBlocks c3 -> c4, dilation 2                 (layer5)
//   base.6   2 BasicBlocks c4 -> c5, dilation 4                 (layer6)
//   base.7   conv3x3 dilation 2 (c5 -> c6) BN ReLU, no residual (layer7, de-gridding)
//   base.8   conv3x3 (c6 -> c7) BN ReLU, no residual            (layer8, de-gridding)
//   (dropout before seg, in training mode, when cfg.dropout > 0: the MC-dropout baselines)
//   seg      conv1x1(c7 -> classes) with bias
//   up       x8 bilinear upsampling: DRNSeg's fixed depthwise ConvTranspose2d(k 16, stride 8,
//            padding 4) with bilinear weights (a buffer `up.weight` (classes, 1, 16, 16), never
//            trained). It equals align_corners=False bilinear interpolation of the map padded
//            by one zero pixel on each side, cropped back (how forward computes it).
//
// Channels c0..c7 = 16/32/64/128/256/512/512/512 times `width`. Input (N, in, H, W) with H and
// W multiples of 8 -> logits (N, classes, H, W); the encoder's map is (N, c7, H/8, W/8).
// Init as fyu/drn: convs normal(0, sqrt(2 / (k*k*out))), BN weight 1 / bias 0, seg bias 0.
#pragma once

#include <array>
#include <memory>

#include "layers/batch_share.h"
#include "layers/feature_segmenter.h"
#include "layers/layers.h"

namespace sr {

struct DrnConfig {
  int64_t in_channels = 3;
  int64_t num_classes = 19;
  float width = 1.f;    // multiplier of the channels 16/32/64/128/256/512/512/512
  float dropout = 0.f;  // before seg, in training mode (needs the noise generator)
};

struct DrnOutput {
  Tensor logits;    // (N, classes, H, W)
  Tensor features;  // (N, c7, H/8, W/8): the encoder's output, before `seg`
};

// The bilinear weights fyu/drn's fill_up_weights writes into a (C, 1, 16, 16) kernel.
Tensor drn_up_weights(int64_t channels);

// DRNSeg's `up`: x8 bilinear upsampling, (N, C, h, w) -> (N, C, 8h, 8w), its weight a buffer.
class DrnUp : public Module {
 public:
  explicit DrnUp(int64_t channels);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DrnUp"; }
  // ValueError unless `up.weight` still holds the bilinear kernel after a load (DRNSeg freezes
  // it; forward computes the bilinear map, so another kernel would be silently ignored).
  void check_loaded(const std::string& prefix) const override;

 private:
  Tensor weight_;
};

class DrnD22 : public Module, public FeatureSegmenter, public BatchShare {
 public:
  static constexpr int64_t kOutputStride = 8;

  // `noise` draws the dropout masks; required when cfg.dropout > 0.
  DrnD22(const DrnConfig& cfg, Generator& gen, std::shared_ptr<Generator> noise = nullptr);
  Tensor forward(const Tensor& x) override { return forward_all(x).logits; }
  DrnOutput forward_all(const Tensor& x);
  Tensor features(const Tensor& x) override;
  Tensor head(const Tensor& features) override;
  int64_t feature_dim() const override { return channels_[7]; }
  float dropout() const override { return cfg_.dropout; }
  std::string type_name() const override { return "DrnD22"; }
  const DrnConfig& config() const { return cfg_; }
  const std::array<int64_t, 8>& channels() const { return channels_; }

 private:
  DrnConfig cfg_;
  std::shared_ptr<Generator> noise_;
  std::array<int64_t, 8> channels_;
  std::shared_ptr<Sequential> base_;
  std::shared_ptr<Conv2d> seg_;
  std::shared_ptr<DrnUp> up_;
};

}  // namespace sr
