// LL4AL, learning loss for active learning (Yoo & Kweon, CVPR 2019): a loss-prediction module on
// the target's four ResNet stages (layers/loss_prediction.h) is trained jointly with the target,
//   loss = mean CE + weight * ranking_loss(predicted loss, per-item CE, margin)
// with the stage outputs detached from round(detach_after * epochs) on (0-based epochs; the
// reference detaches after epoch 120 of 200), so that late in training the module no longer
// shapes the backbone. Selection: a seeded random subset of D_U (`subset` items, at least the
// budget, all of D_U when smaller), the `budget` with the highest predicted loss.
// Options: subset 10000, margin 1, weight 1, detach_after 0.6, hidden 128.
#include <cmath>

#include "data/batch.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "layers/loss_prediction.h"
#include "layers/resnet.h"
#include "sraal/target_outputs.h"
#include "sraal/train_classifier.h"

namespace sr {
namespace {

ResNet18& resnet_target(Module& target) {
  auto* r = dynamic_cast<ResNet18*>(&target);
  SR_CHECK_VALUE(r != nullptr, "method ll4al needs a ResNet-18 target (its four stages), got {}",
                 target.type_name());
  return *r;
}

// Per-item cross-entropy (N) of logits (N, C) against labels (N): -log softmax at the label.
Tensor per_item_cross_entropy(const Tensor& logits, const Tensor& y) {
  return neg(sum(mul(log_softmax(logits, 1), one_hot(y, logits.size(1))), {1}));
}

struct Ll4alOptions {
  int64_t subset, hidden;
  float margin, weight, detach_after;
};

class LossPredictionJoint : public JointObjective {
 public:
  LossPredictionJoint(ResNet18& target, const Ll4alOptions& o, uint64_t seed) : o_(o) {
    Generator gen(seed);
    module = std::make_shared<LossPredictionModule>(target.stage_widths(), o.hidden, gen);
  }
  std::vector<Tensor> parameters() override { return module->parameters(); }
  void to(Device device) override { module->to(device); }

  Step step(Module& target, const Tensor& x, const Tensor& y, int64_t epoch,
            int64_t epochs) override {
    ResNetOutput out = resnet_target(target).forward_all(x);
    module->train();
    std::array<Tensor, 4> stages = out.stages;
    if (epoch >= int64_t(std::lround(o_.detach_after * double(epochs))))
      for (Tensor& s : stages) s = s.detach();
    Tensor pred = module->forward(stages);
    if (x.size(0) < 2) return {out.logits, mul(sum(pred), 0.f)};  // no pair in a batch of one
    Tensor ce = per_item_cross_entropy(out.logits.detach(), y);
    return {out.logits, mul(loss_ranking_loss(pred, ce, o_.margin), o_.weight)};
  }

  std::shared_ptr<LossPredictionModule> module;

 private:
  Ll4alOptions o_;
};

class Ll4alStrategy : public Strategy {
 public:
  explicit Ll4alStrategy(const nlohmann::json& j)
      : o_{j.at("subset").get<int64_t>(), j.at("hidden").get<int64_t>(),
           j.at("margin").get<float>(), j.at("weight").get<float>(),
           j.at("detach_after").get<float>()} {
    SR_CHECK_VALUE(o_.subset >= 1, "method ll4al: subset {} must be positive", o_.subset);
    SR_CHECK_VALUE(o_.hidden >= 1 && o_.hidden <= 65536,
                   "method ll4al: hidden {} must lie in "
                   "[1, 65536]",
                   o_.hidden);
    SR_CHECK_VALUE(
        std::isfinite(o_.margin) && o_.margin >= 0 && std::isfinite(o_.weight) && o_.weight >= 0,
        "method ll4al: margin {} and weight {} must be finite and non-negative", o_.margin,
        o_.weight);
    SR_CHECK_VALUE(o_.detach_after >= 0 && o_.detach_after <= 1,
                   "method ll4al: detach_after {} must lie in [0, 1]", o_.detach_after);
  }

  std::shared_ptr<JointObjective> joint_objective(Module& target, uint64_t seed) override {
    joint_ = std::make_shared<LossPredictionJoint>(resnet_target(target), o_, seed);
    return joint_;
  }

  std::vector<int64_t> select(const SelectionInput& in) override {
    SR_CHECK_VALUE(joint_ != nullptr,
                   "method ll4al: the target was not trained with a loss-prediction module");
    ResNet18& target = resnet_target(in.target);
    // The scored subset: a seeded random part of D_U.
    int64_t m = std::min<int64_t>(int64_t(in.unlabeled.size()), std::max(o_.subset, in.budget));
    std::vector<int64_t> perm = Generator(in.seed).permutation(int64_t(in.unlabeled.size()));
    std::vector<int64_t> subset;
    for (int64_t i = 0; i < m; ++i) subset.push_back(in.unlabeled[size_t(perm[size_t(i)])]);

    NoGradGuard ng;
    target.eval();
    joint_->module->eval();
    std::vector<Tensor> preds;
    int64_t done = 0;
    for (const auto& part : epoch_batches(subset, 256, false, false, 0, 0)) {
      Tensor x = make_batch(in.train, part, Augment{}, 0, 0).images.to(in.device);
      preds.push_back(joint_->module->forward(target.forward_all(x).stages));
      done += int64_t(part.size());
      if (in.progress) in.progress("predicted losses", done, m);
    }
    target.train();
    joint_->module->train();
    return items_with_highest(subset, concat(preds, 0), in.budget, in.scores);
  }

 private:
  Ll4alOptions o_;
  std::shared_ptr<LossPredictionJoint> joint_;
};

}  // namespace

REGISTER_STRATEGY(
    {"ll4al",
     "highest loss predicted by a module trained with the target (Yoo & Kweon 2019)",
     {{"subset", 10000}, {"hidden", 128}, {"margin", 1.0}, {"weight", 1.0}, {"detach_after", 0.6}},
     [](const StrategyContext& c) { return std::make_unique<Ll4alStrategy>(c.options); }});

}  // namespace sr
