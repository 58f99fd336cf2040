// Module: a layer or model with named parameters, buffers and child modules.
//
// Names follow PyTorch's state_dict convention ("layer1.0.conv1.weight", "bn1.running_mean"),
// so weights move between this engine and PyTorch through .safetensors files. Members of a
// module (e.g. Conv2d::weight) and its parameter list are the same tensors: loading a state
// dict or moving to a device changes them in place.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/serialize.h"
#include "engine/tensor.h"

namespace sr {

// "module.conv1.weight" -> "conv1.weight" when every name carries DataParallel's prefix
// (a state dict saved from torch.nn.DataParallel or DistributedDataParallel); else `sd`.
NamedTensors without_data_parallel_prefix(const NamedTensors& sd);

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Single-input forward; modules with other signatures define their own methods.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  virtual std::string type_name() const = 0;

  NamedTensors named_parameters() const;  // recursive, registration order
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  // Parameters then buffers of every module, in registration order (PyTorch's order).
  NamedTensors state_dict() const;
  // Copies values into this module's tensors. Accepts what PyTorch's load_state_dict accepts: a
  // state dict without BatchNorm's num_batches_tracked (the counters keep their values) and,
  // as torch.nn.modules.utils.consume_prefix_in_state_dict_if_present, DataParallel's
  // `module.` prefix on every name. Any other missing, unexpected or mis-shaped key is an
  // error counting each kind and naming the first few.
  void load_state_dict(const NamedTensors& sd);
  // Called on every module (with its name prefix, "up." say) once load_state_dict has copied
  // the values in: a module whose buffers must keep an invariant checks it here and throws a
  // ValueError naming the key.
  virtual void check_loaded(const std::string& /*prefix*/) const {}

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void to(Device device);
  void zero_grad();
  int64_t num_parameters() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

 protected:
  // Registers `t` as parameter `name` (requires grad) and returns the handle to keep.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  void check_loaded_tree(const std::string& prefix) const;

  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Runs children in order; children are named "0", "1", ... as in torch.nn.Sequential.
class Sequential : public Module {
 public:
  Sequential() = default;
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> m) {
    register_module(std::to_string(size_++), m);
    return m;
  }
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

}  // namespace sr
