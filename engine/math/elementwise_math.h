// Element-wise formulas shared by the CPU and CUDA kernels: forward value and derivative of
// every unary op, and the binary arithmetic ops.
//
// Unary ops take two scalar parameters (a, b):
//   relu            y = max(x, 0)                 dy/dx = [not x <= 0]
//   leaky_relu      y = x > 0 ? x : a*x           dy/dx = x > 0 ? 1 : a
//   sigmoid         y = 1 / (1 + e^-x)            dy/dx = y (1 - y)
//   tanh            y = tanh x                    dy/dx = 1 - y^2
//   exp             y = e^x                       dy/dx = y
//   log             y = ln x                      dy/dx = 1 / x
//   sqrt            y = sqrt x                    dy/dx = 1 / (2 y)
//   pow             y = x^a                       dy/dx = a x^(a-1)
//   affine          y = a*x + b                   dy/dx = a
//   clamp           y = min(max(x, a), b)         dy/dx = [a <= x <= b]
//
// Binary ops: add, sub, mul, div, and
//   minimum         min(x, y), NaN if either is NaN (torch.minimum)
//   greater         1 where x > y, else 0 (a float mask; no gradient)
//
// NaN propagates as in PyTorch: relu, leaky_relu and clamp of NaN are NaN (a max(x, 0) that
// returns 0 would hide a diverged model), relu's gradient at NaN passes, clamp's is 0.
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/hd.h"

namespace sr {

enum class UnaryOp : uint8_t {
  relu,
  leaky_relu,
  sigmoid,
  tanh,
  exp,
  log,
  sqrt,
  pow,
  affine,
  clamp
};
enum class BinaryOp : uint8_t { add, sub, mul, div, minimum, greater };

// Which tensor the derivative needs: the input x, the output y, or neither.
enum class SavedFor : uint8_t { input, output, none };

SR_HD constexpr SavedFor unary_saves(UnaryOp op) {
  switch (op) {
    case UnaryOp::sigmoid:
    case UnaryOp::tanh:
    case UnaryOp::exp:
    case UnaryOp::sqrt:
      return SavedFor::output;
    case UnaryOp::affine:
      return SavedFor::none;
    default:
      return SavedFor::input;
  }
}

// Numerically stable logistic function (no overflow of e^-x for large negative x).
SR_HD float sigmoidf(float x) {
  if (x >= 0.f) return 1.f / (1.f + expf(-x));
  float e = expf(x);
  return e / (1.f + e);
}

template <UnaryOp OP>
SR_HD float unary_forward(float x, float a, float b) {
  if constexpr (OP == UnaryOp::relu) return x < 0.f ? 0.f : x;
  if constexpr (OP == UnaryOp::leaky_relu) return x > 0.f ? x : a * x;
  if constexpr (OP == UnaryOp::sigmoid) return sigmoidf(x);
  if constexpr (OP == UnaryOp::tanh) return tanhf(x);
  if constexpr (OP == UnaryOp::exp) return expf(x);
  if constexpr (OP == UnaryOp::log) return logf(x);
  if constexpr (OP == UnaryOp::sqrt) return sqrtf(x);
  if constexpr (OP == UnaryOp::pow) return powf(x, a);
  if constexpr (OP == UnaryOp::affine) return a * x + b;
  if constexpr (OP == UnaryOp::clamp) return x < a ? a : (x > b ? b : x);
  return 0.f;
}

// Gradient of the input given x (input), y (output) and gy (gradient of the output). Only the
// argument named by unary_saves(OP) is read.
template <UnaryOp OP>
SR_HD float unary_backward(float x, float y, float gy, float a, float b) {
  if constexpr (OP == UnaryOp::relu) return x <= 0.f ? 0.f : gy;
  if constexpr (OP == UnaryOp::leaky_relu) return x > 0.f ? gy : a * gy;
  if constexpr (OP == UnaryOp::sigmoid) return gy * y * (1.f - y);
  if constexpr (OP == UnaryOp::tanh) return gy * (1.f - y * y);
  if constexpr (OP == UnaryOp::exp) return gy * y;
  if constexpr (OP == UnaryOp::log) return gy / x;
  if constexpr (OP == UnaryOp::sqrt) return gy * 0.5f / y;
  if constexpr (OP == UnaryOp::pow) return gy * a * powf(x, a - 1.f);
  if constexpr (OP == UnaryOp::affine) return gy * a;
  if constexpr (OP == UnaryOp::clamp) return (x >= a && x <= b) ? gy : 0.f;
  (void)b;
  return 0.f;
}

template <BinaryOp OP>
SR_HD float binary_forward(float x, float y) {
  if constexpr (OP == BinaryOp::add) return x + y;
  if constexpr (OP == BinaryOp::sub) return x - y;
  if constexpr (OP == BinaryOp::mul) return x * y;
  if constexpr (OP == BinaryOp::div) return x / y;
  if constexpr (OP == BinaryOp::minimum) return (x < y || x != x) ? x : y;
  if constexpr (OP == BinaryOp::greater) return x > y ? 1.f : 0.f;
  return 0.f;
}

}  // namespace sr
