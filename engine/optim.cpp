// Optimisers and schedules (see optim.h).
#include "engine/optim.h"

#include <algorithm>
#include <cmath>

#include "engine/backend.h"
#include "engine/kernels.h"

namespace sr {

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {
  for (const Tensor& p : params_) {
    check_dtype(p, DType::f32, "optimizer", "parameter");
    SR_CHECK_VALUE(p.is_contiguous(), "optimizer: parameter {} is not contiguous", p.str());
  }
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.set_grad(Tensor());
}

namespace {
// The parameter's gradient, in the parameter's layout (AccumulateGrad keeps it so).
Tensor grad_of(const Tensor& p) {
  Tensor g = p.grad();
  SR_CHECK_SHAPE(!g.defined() || g.shape() == p.shape(), "optimizer: gradient {} for parameter {}",
                 g.str(), p.str());
  return g.defined() && !g.is_contiguous() ? g.contiguous() : g;
}
}  // namespace

SGD::SGD(std::vector<Tensor> params, const SgdOptions& o) : Optimizer(std::move(params)), opt_(o) {
  SR_CHECK_VALUE(o.lr >= 0.f && o.momentum >= 0.f && o.weight_decay >= 0.f,
                 "SGD: negative lr {}, momentum {} or weight decay {}", o.lr, o.momentum,
                 o.weight_decay);
  SR_CHECK_VALUE(!o.nesterov || (o.momentum > 0.f && o.dampening == 0.f),
                 "SGD: Nesterov momentum needs momentum > 0 and no dampening");
  lr_ = o.lr;
  momentum_.resize(params_.size());
}

void SGD::step() {
  // Parameters whose momentum buffer exists and those updated for the first time go in two
  // calls (the first step initialises the buffer with the gradient).
  std::vector<Tensor> p_old, g_old, b_old, p_new, g_new, b_new;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = grad_of(params_[i]);
    if (!g.defined()) continue;
    bool fresh = opt_.momentum != 0.f && !momentum_[i].defined();
    if (fresh) momentum_[i] = Tensor::empty(params_[i].shape(), DType::f32, params_[i].device());
    auto& ps = fresh ? p_new : p_old;
    auto& gs = fresh ? g_new : g_old;
    auto& bs = fresh ? b_new : b_old;
    ps.push_back(params_[i]);
    gs.push_back(g);
    bs.push_back(momentum_[i]);
  }
  SgdHyper h{lr_, opt_.momentum, opt_.dampening, opt_.weight_decay, opt_.nesterov, false};
  for (int pass = 0; pass < 2; ++pass) {
    auto& ps = pass ? p_new : p_old;
    if (ps.empty()) continue;
    h.first_step = pass == 1;
    kernels::sgd_step(ps[0].device(), ps, pass ? g_new : g_old, pass ? b_new : b_old, h);
    for (Tensor& p : ps) p.bump_version();
  }
  ++steps_;
  adapt_threads();
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o)
    : Optimizer(std::move(params)), opt_(o) {
  SR_CHECK_VALUE(o.lr >= 0.f && o.eps >= 0.f && o.beta1 >= 0.f && o.beta1 < 1.f && o.beta2 >= 0.f &&
                     o.beta2 < 1.f && o.weight_decay >= 0.f,
                 "Adam: invalid options lr {}, betas ({}, {}), eps {}, weight decay {}", o.lr,
                 o.beta1, o.beta2, o.eps, o.weight_decay);
  lr_ = o.lr;
  m_.resize(params_.size());
  v_.resize(params_.size());
  t_.assign(params_.size(), 0);
}

void Adam::step() {
  // Parameters are grouped by their own step count (usually all equal: one kernel call).
  std::vector<size_t> live;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!grad_of(params_[i]).defined()) continue;
    if (!m_[i].defined()) {
      m_[i] = Tensor::zeros(params_[i].shape(), DType::f32, params_[i].device());
      v_[i] = Tensor::zeros(params_[i].shape(), DType::f32, params_[i].device());
    }
    ++t_[i];
    live.push_back(i);
  }
  std::stable_sort(live.begin(), live.end(), [&](size_t a, size_t b) { return t_[a] < t_[b]; });
  for (size_t s = 0; s < live.size();) {
    size_t e = s;
    std::vector<Tensor> ps, gs, ms, vs;
    while (e < live.size() && t_[live[e]] == t_[live[s]]) {
      size_t i = live[e++];
      ps.push_back(params_[i]);
      gs.push_back(grad_of(params_[i]));
      ms.push_back(m_[i]);
      vs.push_back(v_[i]);
    }
    double t = double(t_[live[s]]);
    AdamHyper h{lr_,
                opt_.beta1,
                opt_.beta2,
                opt_.eps,
                opt_.weight_decay,
                float(1.0 - std::pow(double(opt_.beta1), t)),
                float(1.0 - std::pow(double(opt_.beta2), t))};
    kernels::adam_step(ps[0].device(), ps, gs, ms, vs, h);
    for (Tensor& p : ps) p.bump_version();
    s = e;
  }
  ++steps_;
  adapt_threads();
}

MultiStepLR::MultiStepLR(float base_lr, std::vector<int64_t> milestones, float gamma)
    : base_(base_lr), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
}

float MultiStepLR::lr_at(int64_t step) const {
  int64_t k = std::upper_bound(milestones_.begin(), milestones_.end(), step) - milestones_.begin();
  return base_ * std::pow(gamma_, float(k));
}

StepLR::StepLR(float base_lr, int64_t step_size, float gamma)
    : base_(base_lr), size_(step_size), gamma_(gamma) {
  SR_CHECK_VALUE(step_size > 0, "StepLR: step size must be positive, got {}", step_size);
}

float StepLR::lr_at(int64_t step) const {
  return base_ * std::pow(gamma_, float(step / size_));
}

CosineLR::CosineLR(float base_lr, int64_t t_max, float eta_min)
    : base_(base_lr), t_max_(t_max), eta_min_(eta_min) {
  SR_CHECK_VALUE(t_max > 0, "CosineLR: t_max must be positive, got {}", t_max);
}

float CosineLR::lr_at(int64_t step) const {
  double s = double(std::min(step, t_max_));
  return float(eta_min_ + (base_ - eta_min_) * (1.0 + std::cos(M_PI * s / double(t_max_))) / 2.0);
}

PolyLR::PolyLR(float base_lr, int64_t total, float power)
    : base_(base_lr), total_(total), power_(power) {
  SR_CHECK_VALUE(total > 0 && power > 0, "PolyLR: total {} and power {} must be positive", total,
                 power);
}

float PolyLR::lr_at(int64_t step) const {
  double left = 1.0 - double(std::min(step, total_)) / double(total_);
  return float(double(base_) * std::pow(left, double(power_)));
}

}  // namespace sr
