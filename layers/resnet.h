// ResNet-18 (He et al. 2016) with torchvision's parameter names, in two forms:
//   cifar:    3x3 stride-1 stem, no max-pool (for 28x28 / 32x32 inputs)
//   imagenet: 7x7 stride-2 stem and 3x3 stride-2 max-pool (Caltech-101 at 220x220)
// then BasicBlocks [2, 2, 2, 2] with widths 64/128/256/512 times `width`, global average pool
// and a linear classifier `fc` (optionally after dropout, as the MC-dropout baselines train it;
// no parameters, so the names stay torchvision's). Input (N, in_channels, H, W) -> logits
// (N, num_classes).
// Init as torchvision: convs kaiming_normal(fan_out, relu), BN weight 1 / bias 0, fc default.
#pragma once

#include <array>
#include <memory>

#include "layers/batch_share.h"
#include "layers/feature_classifier.h"
#include "layers/layers.h"

namespace sr {

enum class ResNetForm { cifar, imagenet };

struct ResNetConfig {
  ResNetForm form = ResNetForm::cifar;
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  float width = 1.f;    // multiplier of the stage widths 64/128/256/512
  float dropout = 0.f;  // before fc, in training mode (needs the noise generator)
};

// conv3x3(stride, dilation1) -> BN -> ReLU -> conv3x3(dilation2) -> BN, plus the identity (or a
// 1x1 conv + BN `downsample` when the shape changes), then ReLU. Padding equals the dilation
// (DRN's dilated blocks; ResNet's are 1/1).
class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in, int64_t out, int64_t stride, Generator& gen, int64_t dilation1 = 1,
             int64_t dilation2 = 1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<Sequential> downsample_;  // 1x1 conv + BN when the shape changes
};

struct ResNetOutput {
  Tensor logits;                 // (N, num_classes)
  Tensor embedding;              // (N, 512 * width): the pooled penultimate features
  std::array<Tensor, 4> stages;  // outputs of layer1..layer4
};

class ResNet18 : public Module, public FeatureClassifier, public BatchShare {
 public:
  // `noise` draws the dropout masks; required when cfg.dropout > 0.
  ResNet18(const ResNetConfig& cfg, Generator& gen, std::shared_ptr<Generator> noise = nullptr);
  Tensor forward(const Tensor& x) override { return forward_all(x).logits; }
  ResNetOutput forward_all(const Tensor& x);
  std::string type_name() const override { return "ResNet18"; }
  const ResNetConfig& config() const { return cfg_; }
  const std::array<int64_t, 4>& stage_widths() const { return widths_; }  // layer1..layer4

  Tensor features(const Tensor& x) override { return forward_all(x, false).embedding; }
  Tensor classifier(const Tensor& features) override { return fc_->forward(features); }
  int64_t feature_dim() const override { return widths_[3]; }
  float dropout() const override { return cfg_.dropout; }

 private:
  ResNetConfig cfg_;
  std::array<int64_t, 4> widths_;
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<BatchNorm2d> bn1_;
  std::array<std::shared_ptr<Sequential>, 4> layers_;
  std::shared_ptr<Linear> fc_;
  std::shared_ptr<Generator> noise_;

  ResNetOutput forward_all(const Tensor& x, bool with_logits);
};

}  // namespace sr
