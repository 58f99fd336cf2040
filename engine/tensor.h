// Tensor: a shaped, strided, typed view of a reference-counted Storage on one device.
//
// Layout: logical shape with per-dimension strides in elements. 4-d image tensors are logically
// NCHW; their memory may be NCHW (contiguous) or NHWC (channels_last strides), as in PyTorch.
// Element-wise ops keep the layout of their inputs; ops that need a layout ask for it with
// contiguous(fmt). Views (reshape of a contiguous tensor, narrow/slice) share the Storage.
//
// Autograd metadata lives in the same TensorImpl: a leaf that requires grad owns `grad`; a
// result of a recorded op points to the Node that made it (`grad_fn`, `output_nr`).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/storage.h"
#include "engine/types.h"

namespace sr {

class Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;
  DType dtype = DType::f32;

  // Autograd.
  bool requires_grad = false;  // set on leaves by the user
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
  int output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;
  // Called with the leaf once backward has accumulated its gradient (autograd.h); keyed by id.
  std::vector<std::pair<uint64_t, std::function<void(const Tensor&)>>> post_accumulate_hooks;
};

// Bytes of tensor values brought to the host: item() and to_vector(_as) of a tensor on any
// device, and to(Device::cpu) of a tensor on another device. On a GPU these are the device ->
// host transfers; on the CPU, the values a computation takes out of tensors into host numbers
// — what the same code would move on a GPU (the tests prove with it that a selection moves
// O(budget) bytes, not the pool). A no-op to(Device::cpu) of a CPU tensor is not counted (it is
// also how host batches reach a CPU "device"). Monotonic, all threads.
uint64_t host_read_bytes();

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu,
                      MemoryFormat fmt = MemoryFormat::contiguous);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu);
  static Tensor scalar(float value, Device device = Device::cpu);
  // Copies host data of type T (float, int32_t, int64_t) into a new contiguous tensor.
  template <class T>
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape,
                            Device device = Device::cpu);
  static Tensor arange(int64_t n, DType dtype = DType::i64, Device device = Device::cpu);
  // Uninitialised tensor of the same shape, dtype and device; keeps a dense layout
  // (contiguous or channels_last), otherwise contiguous.
  Tensor empty_like() const;
  Tensor zeros_like() const;

  // ---- information ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t dim() const { return int64_t(impl_->shape.size()); }
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  int64_t numel() const { return shape_numel(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device(); }
  int64_t offset() const { return impl_->offset; }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }
  bool is_contiguous(MemoryFormat fmt = MemoryFormat::contiguous) const;
  // True when the elements fill a gap-free block of `numel()` elements in some order.
  bool is_dense() const;
  // channels_last when the tensor is 4-d and laid out NHWC (and not also contiguous).
  MemoryFormat suggest_memory_format() const;
  std::string str() const;  // "float32[2, 3] cpu"

  // ---- data access (CPU pointers only on CPU tensors; checks dtype) ----
  template <class T>
  T* data() const;
  void* raw_data() const;
  template <class T>
  T item() const;                        // one-element tensor, any device
  std::vector<float> to_vector() const;  // copy to host, logical (row-major) order, as float
  template <class T>
  std::vector<T> to_vector_as() const;

  // ---- layout, devices, views (recorded by autograd) ----
  Tensor contiguous(MemoryFormat fmt = MemoryFormat::contiguous) const;
  Tensor to(Device device) const;
  Tensor reshape(const Shape& shape) const;  // one dimension may be -1
  Tensor flatten(int64_t start_dim = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t index) const;  // row `index` of dim 0, that dim removed

  // ---- copies and in-place writes (never recorded by autograd) ----
  Tensor detach() const;  // shares storage, no history
  Tensor clone() const;   // new storage, same layout, no history
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // shapes equal; any layouts and devices
  Tensor to_dtype(DType dtype) const;
  // Rebinds this handle's TensorImpl to `other`'s storage, shape and strides, keeping its
  // identity (Module::to uses it so that members and parameter lists stay the same tensors).
  void set_data(const Tensor& other);
  void bump_version() const { impl_->storage->bump_version(); }

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& set_requires_grad(bool r);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor grad() const;
  void set_grad(const Tensor& g);
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  int output_nr() const { return impl_->output_nr; }
  // Back-propagates from this tensor: a scalar unless `grad` is given.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A tensor sharing `base`'s storage with another shape, strides and offset (no autograd).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

// `t` with the strides of `ref` (same shape; ref dense): t itself when they already match,
// otherwise a copy (not recorded by autograd). Kernels that walk two tensors in memory order
// (element-wise backward, dropout) use it to line up gradients with saved tensors.
Tensor with_layout_of(const Tensor& t, const Tensor& ref);

// Throws ShapeError/DTypeError/DeviceError naming `op` when `t` does not match.
void check_defined(const Tensor& t, const char* op, const char* what);
void check_dtype(const Tensor& t, DType dt, const char* op, const char* what);
void check_dim(const Tensor& t, int64_t ndim, const char* op, const char* what);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);

}  // namespace sr
