// Optimisers (SGD with momentum / weight decay / Nesterov, Adam) and learning-rate schedules.
//
// Semantics are PyTorch's (torch.optim.SGD, torch.optim.Adam, MultiStepLR, StepLR,
// CosineAnnealingLR); the per-element updates live in engine/math/optim_math.h and run as one
// kernel call over all parameters. Parameters without a gradient are skipped, as in PyTorch.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/math/optim_math.h"
#include "engine/tensor.h"

namespace sr {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();  // drops the gradients (PyTorch's set_to_none)
  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t steps() const { return steps_; }
  const std::vector<Tensor>& params() const { return params_; }

 protected:
  std::vector<Tensor> params_;
  float lr_ = 0.f;
  int64_t steps_ = 0;
};

struct SgdOptions {
  float lr = 0.1f;
  float momentum = 0.f;
  float dampening = 0.f;
  float weight_decay = 0.f;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SgdOptions& o);
  void step() override;

 private:
  SgdOptions opt_;
  std::vector<Tensor> momentum_;  // per parameter; created at its first update
};

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& o);
  void step() override;

 private:
  AdamOptions opt_;
  std::vector<Tensor> m_, v_;
  std::vector<int64_t> t_;  // per-parameter step counts (a parameter may skip steps)
};

// Learning rate as a function of the number of completed scheduler steps.
class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual float lr_at(int64_t step) const = 0;
  // Advances one step and writes the new rate into the optimiser.
  void step(Optimizer& opt) { opt.set_lr(lr_at(++count_)); }
  int64_t count() const { return count_; }

 private:
  int64_t count_ = 0;
};

// lr * gamma^(number of milestones <= step)
class MultiStepLR : public LrSchedule {
 public:
  MultiStepLR(float base_lr, std::vector<int64_t> milestones, float gamma);
  float lr_at(int64_t step) const override;

 private:
  float base_;
  std::vector<int64_t> milestones_;
  float gamma_;
};

// lr * gamma^floor(step / step_size)
class StepLR : public LrSchedule {
 public:
  StepLR(float base_lr, int64_t step_size, float gamma);
  float lr_at(int64_t step) const override;

 private:
  float base_;
  int64_t size_;
  float gamma_;
};

// eta_min + (lr - eta_min) (1 + cos(pi step / t_max)) / 2
class CosineLR : public LrSchedule {
 public:
  CosineLR(float base_lr, int64_t t_max, float eta_min = 0.f);
  float lr_at(int64_t step) const override;

 private:
  float base_;
  int64_t t_max_;
  float eta_min_;
};

// lr * (1 - step / total)^power, 0 from `total` on (fyu/drn segment.py's 'poly' mode, per epoch).
class PolyLR : public LrSchedule {
 public:
  PolyLR(float base_lr, int64_t total, float power = 0.9f);
  float lr_at(int64_t step) const override;

 private:
  float base_;
  int64_t total_;
  float power_;
};

}  // namespace sr
