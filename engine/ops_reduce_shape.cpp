// Reductions, softmax and shape ops.
//
// Gradient rules:
//   sum over dims: g broadcast back to x's shape;  mean: that divided by the count
//   cumsum: the running sum of g in the opposite direction
//   broadcast_to: sum_to(g, x's shape)
//   concat: the slices of g;  index_select: g rows added at their indices (index_add)
//   one_hot: none (rows of an identity matrix, index_select'ed on the index's device)
//   transpose2d: transpose2d(g)
//   softmax: y (g - sum(g y));  log_softmax: g - exp(y) sum(g)
#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace sr {

namespace {

std::vector<int64_t> normalize_dims(std::vector<int64_t> dims, int64_t ndim, const char* op) {
  for (int64_t& d : dims) d = wrap_dim(d, ndim, op);
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

// Broadcast of x to `shape` (materialised), recorded.
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Shape target = broadcast_shapes(x.shape(), shape, "broadcast_to");
  SR_CHECK_SHAPE(target == shape, "broadcast_to: {} does not broadcast to {}", shape_str(x.shape()),
                 shape_str(shape));
  Shape strides(shape.size(), 0);
  size_t off = shape.size() - size_t(x.dim());
  for (size_t i = 0; i < size_t(x.dim()); ++i)
    strides[off + i] = x.shape()[i] == 1 ? 0 : x.strides()[i];
  Tensor view = make_view(x, shape, strides, x.offset());
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  kernels::copy(x.device(), view, out);
  Shape in_shape = x.shape();
  record_op("broadcast_to", {x}, {out}, [in_shape] {
    return [in_shape](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{sum_to(g[0], in_shape)};
    };
  });
  return out;
}

}  // namespace

// ---------------------------------------------------------------- reductions

Tensor sum(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  check_dtype(x, DType::f32, "sum", "input");
  dims = normalize_dims(std::move(dims), x.dim(), "sum");
  Tensor xin = x.contiguous();
  Shape kept = x.shape();
  for (int64_t d : dims) kept[size_t(d)] = 1;
  Tensor out = Tensor::empty(kept, DType::f32, x.device());
  kernels::sum(x.device(), xin, dims, out);
  Shape in_shape = x.shape();
  record_op("sum", {xin}, {out}, [in_shape] {
    return [in_shape](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{broadcast_to(g[0], in_shape)};
    };
  });
  if (keepdim) return out;
  Shape squeezed;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) squeezed.push_back(x.shape()[size_t(d)]);
  return out.reshape(squeezed);
}

Tensor sum(const Tensor& x) {
  std::vector<int64_t> all(static_cast<size_t>(x.dim()));
  for (int64_t i = 0; i < x.dim(); ++i) all[size_t(i)] = i;
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  dims = normalize_dims(std::move(dims), x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape()[size_t(d)];
  return mul(sum(x, dims, keepdim), count ? 1.f / float(count) : 0.f);
}

Tensor mean(const Tensor& x) {
  int64_t n = x.numel();
  return mul(sum(x), n ? 1.f / float(n) : 0.f);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  SR_CHECK_SHAPE(int64_t(shape.size()) <= x.dim(), "sum_to: cannot sum {} to {}",
                 shape_str(x.shape()), shape_str(shape));
  size_t lead = size_t(x.dim()) - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < size_t(x.dim()); ++i) {
    if (i < lead) {
      dims.push_back(int64_t(i));
    } else if (shape[i - lead] == 1 && x.shape()[i] != 1) {
      dims.push_back(int64_t(i));
    } else {
      SR_CHECK_SHAPE(shape[i - lead] == x.shape()[i], "sum_to: cannot sum {} to {}",
                     shape_str(x.shape()), shape_str(shape));
    }
  }
  return sum(x, dims, true).reshape(shape);
}

Tensor argmax(const Tensor& x) {
  check_dtype(x, DType::f32, "argmax", "input");
  SR_CHECK_SHAPE(x.dim() >= 1 && x.size(-1) > 0, "argmax: needs a non-empty last dim, got {}",
                 shape_str(x.shape()));
  Shape s(x.shape().begin(), x.shape().end() - 1);
  Tensor out = Tensor::empty(s, DType::i64, x.device());
  kernels::argmax_lastdim(x.device(), x.contiguous(), out);
  return out;
}

Tensor cumsum(const Tensor& x, bool reverse) {
  check_dtype(x, DType::f32, "cumsum", "input");
  SR_CHECK_SHAPE(x.dim() >= 1, "cumsum: needs at least one dim, got {}", shape_str(x.shape()));
  Tensor xin = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  kernels::cumsum(x.device(), xin, reverse, y);
  record_op("cumsum", {xin}, {y}, [&] {
    return [reverse](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{cumsum(g[0], !reverse)};
    };
  });
  return y;
}

// ---------------------------------------------------------------- softmax

namespace {
Tensor softmax_op(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  check_dtype(x, DType::f32, name, "input");
  int64_t d = wrap_dim(dim, x.dim(), name);
  Tensor xin = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  kernels::softmax(x.device(), xin, d, log, y);
  record_op(name, {xin}, {y}, [&] {
    return [sy = save(y), d, log](const std::vector<Tensor>& g) {
      Tensor gy = g[0].contiguous();
      Tensor gx = Tensor::empty(gy.shape(), DType::f32, gy.device());
      kernels::softmax_backward(gy.device(), sy, gy, d, log, gx);
      return std::vector<Tensor>{gx};
    };
  });
  return y;
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_op(x, dim, false);
}
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_op(x, dim, true);
}

// ---------------------------------------------------------------- shape

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  SR_CHECK_VALUE(!xs.empty(), "concat: no tensors given");
  const Tensor& first = xs[0];
  int64_t d = wrap_dim(dim, first.dim(), "concat");
  Shape shape = first.shape();
  int64_t total = 0;
  for (const Tensor& t : xs) {
    check_same_device(first, t, "concat");
    SR_CHECK_DTYPE(t.dtype() == first.dtype(), "concat: mixed dtypes {} and {}", first.str(),
                   t.str());
    SR_CHECK_SHAPE(t.dim() == first.dim(), "concat: shapes {} and {} differ in rank",
                   shape_str(first.shape()), shape_str(t.shape()));
    for (int64_t i = 0; i < t.dim(); ++i)
      SR_CHECK_SHAPE(i == d || t.shape()[size_t(i)] == shape[size_t(i)],
                     "concat along dim {}: shapes {} and {} differ in dim {}", d,
                     shape_str(first.shape()), shape_str(t.shape()), i);
    total += t.shape()[size_t(d)];
  }
  shape[size_t(d)] = total;
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  std::vector<int64_t> sizes;
  int64_t off = 0;
  for (const Tensor& t : xs) {
    int64_t len = t.shape()[size_t(d)];
    Tensor dst =
        make_view(out, t.shape(), out.strides(), out.offset() + off * out.strides()[size_t(d)]);
    kernels::copy(out.device(), t, dst);
    sizes.push_back(len);
    off += len;
  }
  record_op("concat", xs, {out}, [&] {
    return [sizes, d](const std::vector<Tensor>& g) {
      std::vector<Tensor> gs;
      int64_t o = 0;
      for (int64_t len : sizes) {
        gs.push_back(g[0].narrow(d, o, len));
        o += len;
      }
      return gs;
    };
  });
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  SR_CHECK_SHAPE(total == x.shape()[size_t(d)], "split: sizes sum to {} but dim {} of {} is {}",
                 total, d, shape_str(x.shape()), x.shape()[size_t(d)]);
  std::vector<Tensor> out;
  int64_t off = 0;
  for (int64_t s : sizes) {
    out.push_back(x.narrow(d, off, s));
    off += s;
  }
  return out;
}

Tensor index_select(const Tensor& x, const Tensor& index) {
  check_dtype(index, DType::i64, "index_select", "index");
  check_same_device(x, index, "index_select");
  SR_CHECK_SHAPE(index.dim() == 1 && x.dim() >= 1,
                 "index_select: needs a 1-d index and a tensor of rank >= 1, got {} and {}",
                 shape_str(index.shape()), shape_str(x.shape()));
  Tensor xin = x.contiguous();
  Tensor idx = index.contiguous();
  Shape shape = x.shape();
  shape[0] = index.numel();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  kernels::index_select(x.device(), xin, idx, out);
  Shape in_shape = x.shape();
  record_op("index_select", {xin}, {out}, [&] {
    return [idx, in_shape](const std::vector<Tensor>& g) {
      Tensor gx = Tensor::zeros(in_shape, DType::f32, g[0].device());
      kernels::index_add(g[0].device(), g[0].contiguous(), idx, gx);
      return std::vector<Tensor>{gx};
    };
  });
  return out;
}

Tensor one_hot(const Tensor& index, int64_t classes) {
  check_dtype(index, DType::i64, "one_hot", "index");
  SR_CHECK_SHAPE(index.dim() == 1 && classes >= 1,
                 "one_hot: needs a 1-d index and at least one class, got {} and {} classes",
                 shape_str(index.shape()), classes);
  std::vector<float> eye(size_t(classes * classes), 0.f);
  for (int64_t k = 0; k < classes; ++k) eye[size_t(k * classes + k)] = 1.f;
  NoGradGuard mask;
  return index_select(Tensor::from_vector(eye, {classes, classes}, index.device()), index);
}

Tensor index_select(const Tensor& x, const std::vector<int64_t>& index) {
  return index_select(
      x, Tensor::from_vector(index, {int64_t(index.size())}, Device::cpu).to(x.device()));
}

Tensor transpose2d(const Tensor& x) {
  check_dim(x, 2, "transpose2d", "input");
  Tensor view = make_view(x, {x.size(1), x.size(0)}, {x.stride(1), x.stride(0)}, x.offset());
  Tensor out = Tensor::empty(view.shape(), x.dtype(), x.device());
  kernels::copy(x.device(), view, out);
  record_op("transpose2d", {x}, {out}, [] {
    return [](const std::vector<Tensor>& g) { return std::vector<Tensor>{transpose2d(g[0])}; };
  });
  return out;
}

}  // namespace sr
