// Module tree walking: named parameters and buffers, state dicts, modes, devices.
#include "layers/module.h"

#include <unordered_map>

#include "engine/autograd.h"

namespace sr {

Tensor Module::forward(const Tensor&) {
  throw NotImplementedError(type_name() + " has no single-input forward()");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  if (t.defined()) t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, bool params, bool buffers,
                     NamedTensors& out) const {
  if (params)
    for (const auto& [n, t] : params_)
      if (t.defined()) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_)
      if (t.defined()) out.emplace_back(prefix + n, t);
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::state_dict() const {
  // PyTorch's order: each module's own parameters, then its buffers, then its children.
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

void Module::load_state_dict(const NamedTensors& sd) {
  NamedTensors mine = state_dict();
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& [n, t] : sd) given[n] = &t;
  std::vector<std::string> problems;
  for (auto& [n, t] : mine) {
    auto it = given.find(n);
    if (it == given.end()) {
      problems.push_back(fmt::format("missing key '{}'", n));
      continue;
    }
    const Tensor& src = *it->second;
    if (src.shape() != t.shape())
      problems.push_back(fmt::format("key '{}' has shape {} but the model expects {}", n,
                                     shape_str(src.shape()), shape_str(t.shape())));
    given.erase(it);
  }
  for (const auto& [n, t] : sd)
    if (given.count(n)) problems.push_back(fmt::format("unexpected key '{}'", n));
  if (!problems.empty()) {
    std::string msg = fmt::format("load_state_dict into {}: ", type_name());
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw ValueError(msg);
  }
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : sd) by_name[n] = &t;
  NoGradGuard ng;
  for (auto& [n, t] : mine) t.copy_(*by_name[n]);
  check_loaded_tree("");
}

void Module::check_loaded_tree(const std::string& prefix) const {
  check_loaded(prefix);
  for (const auto& [n, c] : children_) c->check_loaded_tree(prefix + n + ".");
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::to(Device device) {
  for (auto* list : {&params_, &buffers_})
    for (auto& [n, t] : *list)
      if (t.defined() && t.device() != device) {
        NoGradGuard ng;
        t.set_data(t.detach().to(device));
        if (t.grad().defined()) t.set_grad(t.grad().to(device));
      }
  for (auto& [n, c] : children_) c->to(device);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.set_grad(Tensor());
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& [n, m] : children()) h = m->forward(h);
  return h;
}

}  // namespace sr
