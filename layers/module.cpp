// Module tree walking: named parameters and buffers, state dicts, modes, devices.
#include "layers/module.h"

#include <string_view>
#include <unordered_map>

#include <fmt/ranges.h>

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

namespace {

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

NamedTensors without_data_parallel_prefix(const NamedTensors& sd) {
  constexpr std::string_view kPrefix = "module.";
  bool all = !sd.empty();
  for (const auto& [n, t] : sd) all = all && n.rfind(kPrefix, 0) == 0;
  if (!all) return sd;
  NamedTensors out;
  for (const auto& [n, t] : sd) out.emplace_back(n.substr(kPrefix.size()), t);
  return out;
}

namespace {

// "N <what> (a, b, c, d and M more)": at most four items of a list, then how many more, so that
// a file of another model gives a message of a few lines, not a list of 10,000 names.
std::string count_and_some(const std::vector<std::string>& items, std::string_view what) {
  constexpr size_t kShown = 4;
  std::string out = fmt::format("{} {} (", items.size(), what);
  for (size_t i = 0; i < items.size() && i < kShown; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kShown) out += fmt::format(" and {} more", items.size() - kShown);
  return out + ")";
}

}  // namespace

void Module::load_state_dict(const NamedTensors& sd_in) {
  const NamedTensors sd = without_data_parallel_prefix(sd_in);
  NamedTensors mine = state_dict();
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& [n, t] : sd) given[n] = &t;
  std::vector<std::string> missing, unexpected, misshaped;
  for (auto& [n, t] : mine) {
    auto it = given.find(n);
    if (it == given.end()) {
      // PyTorch loads BatchNorm states saved before num_batches_tracked existed (it only
      // matters for momentum=None): the counter keeps its value.
      if (!ends_with(n, "num_batches_tracked")) missing.push_back("'" + n + "'");
      continue;
    }
    const Tensor& src = *it->second;
    if (src.shape() != t.shape())
      misshaped.push_back(
          fmt::format("'{}' {} (model {})", n, shape_str(src.shape()), shape_str(t.shape())));
    given.erase(it);
  }
  for (const auto& [n, t] : sd)
    if (given.count(n)) unexpected.push_back("'" + n + "'");
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back(count_and_some(missing, "missing"));
    if (!unexpected.empty()) parts.push_back(count_and_some(unexpected, "unexpected"));
    if (!misshaped.empty()) parts.push_back(count_and_some(misshaped, "of another shape"));
    throw ValueError(fmt::format("load_state_dict into {} (a state dict of {} tensors): keys {}",
                                 type_name(), mine.size(), fmt::join(parts, "; ")));
  }
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : sd) by_name[n] = &t;
  NoGradGuard ng;
  for (auto& [n, t] : mine)
    if (auto it = by_name.find(n); it != by_name.end()) t.copy_(*it->second);
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
