// LL4AL's loss-prediction module and its ranking loss (see loss_prediction.h).
#include "layers/loss_prediction.h"

#include "engine/ops.h"

namespace sr {

LossPredictionModule::LossPredictionModule(const std::array<int64_t, 4>& stage_channels,
                                           int64_t hidden, Generator& gen) {
  SR_CHECK_VALUE(hidden >= 1, "LossNet: hidden size {} must be positive", hidden);
  for (size_t i = 0; i < 4; ++i)
    fc_[i] = register_module("FC" + std::to_string(i + 1),
                             std::make_shared<Linear>(stage_channels[i], hidden, gen));
  linear_ = register_module("linear", std::make_shared<Linear>(4 * hidden, 1, gen));
}

Tensor LossPredictionModule::forward(const std::array<Tensor, 4>& stages) {
  std::vector<Tensor> parts;
  for (size_t i = 0; i < 4; ++i) parts.push_back(relu(fc_[i]->forward(global_avg_pool(stages[i]))));
  Tensor out = linear_->forward(concat(parts, 1));  // (N, 1)
  return out.reshape({out.size(0)});
}

Tensor loss_ranking_loss(const Tensor& pred, const Tensor& loss, float margin) {
  SR_CHECK_SHAPE(pred.dim() == 1 && loss.dim() == 1 && pred.size(0) == loss.size(0),
                 "loss_ranking_loss: predictions {} and losses {} must be (N) alike",
                 shape_str(pred.shape()), shape_str(loss.shape()));
  const int64_t n = pred.size(0), pairs = n / 2;
  SR_CHECK_VALUE(pairs >= 1, "loss_ranking_loss: a batch of {} holds no pair", n);
  std::vector<float> l = loss.to(Device::cpu).to_vector();
  std::vector<int64_t> first, second;
  std::vector<float> sign;
  for (int64_t i = 0; i < pairs; ++i) {
    first.push_back(i);
    second.push_back(n - 1 - i);
    sign.push_back(l[size_t(i)] - l[size_t(n - 1 - i)] > 0 ? 1.f : -1.f);
  }
  Tensor diff = sub(index_select(pred, first), index_select(pred, second));
  Tensor s = Tensor::from_vector(sign, {pairs}).to(pred.device());
  return mean(relu(affine(mul(s, diff), -1.f, margin)));
}

}  // namespace sr
