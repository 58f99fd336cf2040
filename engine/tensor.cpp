// Tensor: factories, layout queries, data access, copies, and the differentiable view ops
// (contiguous, to, reshape, narrow).
//
// Gradient rules: contiguous and to(device) pass the gradient through (converted back to the
// input's device); reshape reshapes it back; narrow scatters it into zeros of the input's shape.
#include "engine/tensor.h"

#include <algorithm>
#include <atomic>
#include <numeric>

#include "engine/autograd.h"
#include "engine/kernels.h"

namespace sr {

namespace {

std::shared_ptr<TensorImpl> new_impl(const Shape& shape, const Shape& strides, DType dtype,
                                     Device device) {
  for (int64_t d : shape)
    SR_CHECK_SHAPE(d >= 0, "tensor shape {} has a negative size", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = dtype;
  return impl;
}

bool strides_match(const Shape& shape, const Shape& strides, const Shape& expected) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1 && strides[i] != expected[i]) return false;
  return true;
}

}  // namespace

// ---------------------------------------------------------------- factories

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, MemoryFormat fmt) {
  Shape strides = fmt == MemoryFormat::channels_last && shape.size() == 4
                      ? channels_last_strides(shape)
                      : contiguous_strides(shape);
  return Tensor(new_impl(shape, strides, dtype, device));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(float value, Device device) {
  return full({}, value, DType::f32, device);
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& v, const Shape& shape, Device device) {
  SR_CHECK_SHAPE(int64_t(v.size()) == shape_numel(shape),
                 "from_vector: {} values do not fill shape {}", v.size(), shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), device);
  copy_bytes(t.raw_data(), device, v.data(), Device::cpu, v.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<int32_t>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&, Device);

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  std::vector<int64_t> v(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(v.begin(), v.end(), 0);
  return from_vector(v, {int64_t(v.size())}, Device::cpu).to_dtype(dtype).to(device);
}

Tensor Tensor::empty_like() const {
  Shape strides = is_dense() ? impl_->strides : contiguous_strides(impl_->shape);
  return Tensor(new_impl(impl_->shape, strides, impl_->dtype, device()));
}

Tensor Tensor::zeros_like() const {
  Tensor t = empty_like();
  t.fill_(0.0);
  return t;
}

// ---------------------------------------------------------------- information

int64_t Tensor::size(int64_t d) const {
  return impl_->shape[size_t(wrap_dim(d, dim(), "size"))];
}

int64_t Tensor::stride(int64_t d) const {
  return impl_->strides[size_t(wrap_dim(d, dim(), "stride"))];
}

bool Tensor::is_contiguous(MemoryFormat fmt) const {
  const Shape& s = impl_->shape;
  if (fmt == MemoryFormat::channels_last) {
    if (s.size() != 4) return false;
    return strides_match(s, impl_->strides, channels_last_strides(s));
  }
  return strides_match(s, impl_->strides, contiguous_strides(s));
}

bool Tensor::is_dense() const {
  const Shape& s = impl_->shape;
  std::vector<size_t> order;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != 1) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return impl_->strides[a] < impl_->strides[b]; });
  int64_t expected = 1;
  for (size_t i : order) {
    if (impl_->strides[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

MemoryFormat Tensor::suggest_memory_format() const {
  if (dim() == 4 && !is_contiguous() && is_contiguous(MemoryFormat::channels_last))
    return MemoryFormat::channels_last;
  return MemoryFormat::contiguous;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  return fmt::format("{}{} {}", dtype_name(dtype()), shape_str(shape()), device_name(device()));
}

// ---------------------------------------------------------------- data access

void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * int64_t(dtype_size(dtype()));
}

template <class T>
T* Tensor::data() const {
  SR_CHECK_DTYPE(dtype() == dtype_of<T>(), "data<{}>() on a {} tensor", dtype_name(dtype_of<T>()),
                 dtype_name(dtype()));
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template int32_t* Tensor::data<int32_t>() const;
template int64_t* Tensor::data<int64_t>() const;

namespace {
std::atomic<uint64_t> g_host_read_bytes{0};
}

uint64_t host_read_bytes() {
  return g_host_read_bytes.load(std::memory_order_relaxed);
}

template <class T>
T Tensor::item() const {
  SR_CHECK_SHAPE(numel() == 1, "item() needs a one-element tensor, got {}", str());
  if (device() == Device::cpu) g_host_read_bytes += sizeof(T);  // else counted by to()
  Tensor c = to_dtype(dtype_of<T>()).to(Device::cpu);
  return *c.data<T>();
}
template float Tensor::item<float>() const;
template int32_t Tensor::item<int32_t>() const;
template int64_t Tensor::item<int64_t>() const;

template <class T>
std::vector<T> Tensor::to_vector_as() const {
  if (device() == Device::cpu) g_host_read_bytes += uint64_t(numel()) * sizeof(T);  // else: to()
  Tensor c = to(Device::cpu).to_dtype(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector_as<float>() const;
template std::vector<int32_t> Tensor::to_vector_as<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector_as<int64_t>() const;

std::vector<float> Tensor::to_vector() const {
  return to_vector_as<float>();
}

// ---------------------------------------------------------------- copies

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

Tensor Tensor::clone() const {
  Tensor t = empty_like();
  t.copy_(*this);
  return t;
}

Tensor& Tensor::fill_(double value) {
  kernels::fill(device(), *this, value);
  bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_defined(src, "copy_", "source");
  SR_CHECK_SHAPE(src.shape() == shape(), "copy_: source shape {} != destination shape {}",
                 shape_str(src.shape()), shape_str(shape()));
  if (src.device() == device()) {
    kernels::copy(device(), src, *this);
  } else if (src.dtype() == dtype() && src.is_contiguous() && is_contiguous()) {
    copy_bytes(raw_data(), device(), src.raw_data(), src.device(), nbytes());
  } else {
    // Cross-device with a layout or type change: convert on the source side first.
    Tensor staged = Tensor::empty(shape(), dtype(), src.device());
    kernels::copy(src.device(), src, staged);
    Tensor here = Tensor::empty(shape(), dtype(), device());
    copy_bytes(here.raw_data(), device(), staged.raw_data(), src.device(), nbytes());
    kernels::copy(device(), here, *this);
  }
  bump_version();
  return *this;
}

Tensor Tensor::to_dtype(DType dt) const {
  if (dt == dtype()) return *this;
  Tensor t = Tensor(new_impl(shape(), contiguous_strides(shape()), dt, device()));
  t.copy_(*this);
  return t;
}

void Tensor::set_data(const Tensor& other) {
  impl_->storage = other.impl_->storage;
  impl_->offset = other.impl_->offset;
  impl_->shape = other.impl_->shape;
  impl_->strides = other.impl_->strides;
  impl_->dtype = other.impl_->dtype;
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = base.dtype();
  return Tensor(impl);
}

Tensor with_layout_of(const Tensor& t, const Tensor& ref) {
  if (t.strides() == ref.strides() && t.is_dense()) return t;
  Tensor out = ref.empty_like();
  kernels::copy(t.device(), t, out);
  return out;
}

// ---------------------------------------------------------------- differentiable views

Tensor Tensor::contiguous(MemoryFormat fmt) const {
  if (is_contiguous(fmt)) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), device(), fmt);
  kernels::copy(device(), *this, out);
  record_op("contiguous", {*this}, {out},
            [] { return [](const std::vector<Tensor>& g) { return std::vector<Tensor>{g[0]}; }; });
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  if (d == Device::cpu) g_host_read_bytes += uint64_t(nbytes());
  Tensor out = Tensor(new_impl(shape(), contiguous_strides(shape()), dtype(), d));
  out.copy_(*this);
  Device src = device();
  record_op("to", {*this}, {out}, [src] {
    return [src](const std::vector<Tensor>& g) { return std::vector<Tensor>{g[0].to(src)}; };
  });
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  Shape s = new_shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      SR_CHECK_SHAPE(infer < 0, "reshape {} -> {}: more than one -1", shape_str(shape()),
                     shape_str(new_shape));
      infer = int64_t(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    SR_CHECK_SHAPE(known > 0 && numel() % known == 0, "reshape {} -> {}: sizes do not divide",
                   shape_str(shape()), shape_str(new_shape));
    s[size_t(infer)] = numel() / known;
  }
  SR_CHECK_SHAPE(shape_numel(s) == numel(), "reshape {} -> {}: element counts differ",
                 shape_str(shape()), shape_str(new_shape));
  if (s == shape()) return *this;
  Tensor src = contiguous();
  Tensor out = make_view(src, s, contiguous_strides(s), src.offset());
  Shape in_shape = shape();
  record_op("reshape", {src}, {out}, [in_shape] {
    return [in_shape](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{g[0].reshape(in_shape)};
    };
  });
  return out;
}

Tensor Tensor::flatten(int64_t start_dim) const {
  int64_t sd = wrap_dim(start_dim, dim(), "flatten");
  Shape s(shape().begin(), shape().begin() + sd);
  s.push_back(-1);
  if (numel() == 0) s.back() = 0;
  return reshape(s);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  int64_t dd = wrap_dim(d, dim(), "narrow");
  SR_CHECK_SHAPE(start >= 0 && length >= 0 && start + length <= shape()[size_t(dd)],
                 "narrow: [{}, {}) out of range for dim {} of size {} (shape {})", start,
                 start + length, dd, shape()[size_t(dd)], shape_str(shape()));
  Shape s = shape();
  s[size_t(dd)] = length;
  Tensor out = make_view(*this, s, strides(), offset() + start * strides()[size_t(dd)]);
  Shape in_shape = shape();
  record_op("narrow", {*this}, {out}, [in_shape, dd, start, length] {
    return [in_shape, dd, start, length](const std::vector<Tensor>& g) {
      Tensor gx = Tensor::zeros(in_shape, g[0].dtype(), g[0].device());
      Tensor dst = gx.narrow(dd, start, length);
      dst.copy_(g[0]);
      return std::vector<Tensor>{gx};
    };
  });
  return out;
}

Tensor Tensor::select(int64_t index) const {
  SR_CHECK_SHAPE(dim() >= 1, "select on a 0-d tensor");
  Shape s(shape().begin() + 1, shape().end());
  return narrow(0, index, 1).reshape(s);
}

// ---------------------------------------------------------------- autograd accessors

bool Tensor::requires_grad() const {
  return impl_->requires_grad || impl_->grad_fn != nullptr;
}

Tensor& Tensor::set_requires_grad(bool r) {
  SR_CHECK_T(is_leaf(), AutogradError, "set_requires_grad on a non-leaf tensor {}", str());
  SR_CHECK_DTYPE(!r || dtype() == DType::f32, "only float tensors can require grad, got {}", str());
  impl_->requires_grad = r;
  return *this;
}

Tensor Tensor::grad() const {
  return impl_->grad ? Tensor(impl_->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  impl_->grad = g.defined() ? g.impl_ptr() : nullptr;
}

// ---------------------------------------------------------------- checks

void check_defined(const Tensor& t, const char* op, const char* what) {
  SR_CHECK_VALUE(t.defined(), "{}: {} is an undefined tensor", op, what);
}

void check_dtype(const Tensor& t, DType dt, const char* op, const char* what) {
  check_defined(t, op, what);
  SR_CHECK_DTYPE(t.dtype() == dt, "{}: {} must be {}, got {}", op, what, dtype_name(dt), t.str());
}

void check_dim(const Tensor& t, int64_t ndim, const char* op, const char* what) {
  check_defined(t, op, what);
  SR_CHECK_SHAPE(t.dim() == ndim, "{}: {} must be {}-d, got shape {}", op, what, ndim,
                 shape_str(t.shape()));
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  SR_CHECK_T(a.device() == b.device(), DeviceError, "{}: tensors on different devices ({} and {})",
             op, device_name(a.device()), device_name(b.device()));
}

}  // namespace sr
