// LL4AL's loss-prediction module (Yoo & Kweon, CVPR 2019; names as the reference code's LossNet):
// each of the four ResNet stage outputs (N, C_i, H_i, W_i) is global-average-pooled and mapped by
// FC{i} (C_i -> hidden) and ReLU; the four are concatenated (N, 4 hidden) and `linear` maps them
// to the predicted loss (N). Gradients flow into the stages unless the caller detaches them.
//
// loss_ranking_loss(pred, loss, margin): the reference's LossPredLoss. Pairs (i, N-1-i) for
// i < N/2 (the batch against its reverse; the middle item of an odd batch is unpaired); with
// s = +1 when loss_i > loss_{N-1-i} and -1 otherwise,
//   mean over pairs of max(0, margin - s (pred_i - pred_{N-1-i}))
// `loss` is a target and gets no gradient; the gradient into pred is -s / pairs where the hinge
// is active.
#pragma once

#include <array>
#include <memory>

#include "layers/layers.h"

namespace sr {

class LossPredictionModule : public Module {
 public:
  LossPredictionModule(const std::array<int64_t, 4>& stage_channels, int64_t hidden,
                       Generator& gen);
  Tensor forward(const std::array<Tensor, 4>& stages);
  std::string type_name() const override { return "LossNet"; }

 private:
  std::array<std::shared_ptr<Linear>, 4> fc_;
  std::shared_ptr<Linear> linear_;
};

Tensor loss_ranking_loss(const Tensor& pred, const Tensor& loss, float margin = 1.f);

}  // namespace sr
