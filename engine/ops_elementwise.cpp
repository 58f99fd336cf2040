// Element-wise ops: broadcasting arithmetic and unary functions.
//
// Gradient rules (g = gradient of the output, sum_to undoes broadcasting):
//   a + b: (sum_to(g), sum_to(g))          a - b: (sum_to(g), -sum_to(g))
//   a * b: (sum_to(g b), sum_to(g a))      a / b: (sum_to(g / b), -sum_to(g out / b))
//   minimum(a, b): (sum_to(g w), sum_to(g (1 - w))) with w = (1 + [b > a] - [a > b]) / 2
//   greater(a, b): no gradient (a 0/1 mask)
//   unary f: g * f'(x), with f' from engine/math/elementwise_math.h
#include "engine/autograd.h"
#include "engine/ops.h"

namespace sr {

namespace {

// Layout of a binary op's output: the inputs' shared dense layout when they have one.
Tensor binary_output(const Tensor& a, const Tensor& b, const Shape& shape) {
  if (a.shape() == shape && a.is_dense() &&
      (b.numel() == 1 || (b.shape() == shape && b.strides() == a.strides())))
    return a.empty_like();
  if (b.shape() == shape && b.is_dense() && a.numel() == 1) return b.empty_like();
  return Tensor::empty(shape, DType::f32, a.device());
}

Tensor binary_op(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  check_dtype(a, DType::f32, name, "first operand");
  check_dtype(b, DType::f32, name, "second operand");
  check_same_device(a, b, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = binary_output(a, b, shape);
  kernels::binary(a.device(), op, a, b, out);
  record_op(name, {a, b}, {out}, [&] {
    Shape sa = a.shape(), sb = b.shape();
    bool need_a = a.requires_grad(), need_b = b.requires_grad();
    // Capture only what this op's derivative reads.
    // minimum's mask compares a with b, whichever needs the gradient.
    const bool both = op == BinaryOp::minimum;
    Tensor ka = (op == BinaryOp::mul && need_b) || both ? save(a) : Tensor();
    Tensor kb = ((op == BinaryOp::mul || op == BinaryOp::div) && need_a) ||
                        (op == BinaryOp::div && need_b) || both
                    ? save(b)
                    : Tensor();
    Tensor ko = (op == BinaryOp::div && need_b) ? save(out) : Tensor();
    return [op, sa, sb, need_a, need_b, ka, kb, ko](const std::vector<Tensor>& gs) {
      const Tensor& g = gs[0];
      Tensor ga, gb;
      switch (op) {
        case BinaryOp::add:
          if (need_a) ga = sum_to(g, sa);
          if (need_b) gb = sum_to(g, sb);
          break;
        case BinaryOp::sub:
          if (need_a) ga = sum_to(g, sa);
          if (need_b) gb = neg(sum_to(g, sb));
          break;
        case BinaryOp::mul:
          if (need_a) ga = sum_to(mul(g, kb), sa);
          if (need_b) gb = sum_to(mul(g, ka), sb);
          break;
        case BinaryOp::div:
          if (need_a) ga = sum_to(div(g, kb), sa);
          if (need_b) gb = neg(sum_to(div(mul(g, ko), kb), sb));
          break;
        case BinaryOp::minimum: {
          // w = 1 where a is the smaller, 0 where b is, 1/2 at a tie.
          Tensor w = affine(sub(greater(kb, ka), greater(ka, kb)), 0.5f, 0.5f);
          if (need_a) ga = sum_to(mul(g, w), sa);
          if (need_b) gb = sum_to(mul(g, affine(w, -1.f, 1.f)), sb);
          break;
        }
        case BinaryOp::greater:
          break;
      }
      return std::vector<Tensor>{ga, gb};
    };
  });
  return out;
}

Tensor unary_op(UnaryOp op, const char* name, const Tensor& x, float a, float b) {
  check_dtype(x, DType::f32, name, "input");
  Tensor xin = x.is_dense() ? x : x.contiguous();
  Tensor y = xin.empty_like();
  kernels::unary(xin.device(), op, xin, y, a, b);
  record_op(name, {xin}, {y}, [&] {
    SavedFor s = unary_saves(op);
    Tensor sx = s == SavedFor::input ? save(xin) : Tensor();
    Tensor sy = s == SavedFor::output ? save(y) : Tensor();
    return [op, a, b, sx, sy](const std::vector<Tensor>& gs) {
      // The kernel walks gy, gx and the saved tensor in memory order: line their layouts up.
      const Tensor& kept = sx.defined() ? sx : sy;
      Tensor gy = kept.defined() ? with_layout_of(gs[0], kept)
                                 : (gs[0].is_dense() ? gs[0] : gs[0].contiguous());
      Tensor gx = gy.empty_like();
      kernels::unary_backward(gy.device(), op, sx, sy, gy, gx, a, b);
      return std::vector<Tensor>{gx};
    };
  });
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::add, "add", a, b);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::sub, "sub", a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::mul, "mul", a, b);
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::div, "div", a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::minimum, "minimum", a, b);
}
Tensor greater(const Tensor& a, const Tensor& b) {
  NoGradGuard mask;  // a 0/1 mask: nothing to differentiate
  return binary_op(BinaryOp::greater, "greater", a, b);
}

Tensor affine(const Tensor& x, float scale, float shift) {
  return unary_op(UnaryOp::affine, "affine", x, scale, shift);
}
Tensor add(const Tensor& a, float s) {
  return affine(a, 1.f, s);
}
Tensor mul(const Tensor& a, float s) {
  return affine(a, s, 0.f);
}
Tensor neg(const Tensor& a) {
  return affine(a, -1.f, 0.f);
}

void add_(Tensor& dst, const Tensor& src) {
  check_dtype(dst, DType::f32, "add_", "destination");
  check_dtype(src, DType::f32, "add_", "source");
  check_same_device(dst, src, "add_");
  Shape shape = broadcast_shapes(dst.shape(), src.shape(), "add_");
  SR_CHECK_SHAPE(shape == dst.shape(), "add_: source {} does not broadcast to destination {}",
                 shape_str(src.shape()), shape_str(dst.shape()));
  Tensor s = src.shape() == dst.shape() ? with_layout_of(src, dst) : src;
  kernels::binary(dst.device(), BinaryOp::add, dst, s, dst);
  dst.bump_version();
}

Tensor relu(const Tensor& x) {
  return unary_op(UnaryOp::relu, "relu", x, 0.f, 0.f);
}
Tensor leaky_relu(const Tensor& x, float slope) {
  return unary_op(UnaryOp::leaky_relu, "leaky_relu", x, slope, 0.f);
}
Tensor sigmoid(const Tensor& x) {
  return unary_op(UnaryOp::sigmoid, "sigmoid", x, 0.f, 0.f);
}
Tensor tanh(const Tensor& x) {
  return unary_op(UnaryOp::tanh, "tanh", x, 0.f, 0.f);
}
Tensor exp(const Tensor& x) {
  return unary_op(UnaryOp::exp, "exp", x, 0.f, 0.f);
}
Tensor log(const Tensor& x) {
  return unary_op(UnaryOp::log, "log", x, 0.f, 0.f);
}
Tensor sqrt(const Tensor& x) {
  return unary_op(UnaryOp::sqrt, "sqrt", x, 0.f, 0.f);
}
Tensor pow(const Tensor& x, float e) {
  return unary_op(UnaryOp::pow, "pow", x, e, 0.f);
}
Tensor clamp(const Tensor& x, float lo, float hi) {
  SR_CHECK_VALUE(lo <= hi, "clamp: lower bound {} > upper bound {}", lo, hi);
  return unary_op(UnaryOp::clamp, "clamp", x, lo, hi);
}

}  // namespace sr
