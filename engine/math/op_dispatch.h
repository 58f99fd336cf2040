// Runtime op enum -> compile-time template argument, for the CPU and CUDA kernels alike:
// with_unary_op(op, f) calls f.template operator()<OP>() for the OP that `op` names (likewise
// for binary ops and point-wise losses; with_dtype passes the element type of a DType), so each
// kernel is instantiated once per op and the switch lives in one place. Host code only.
#pragma once

#include "engine/math/elementwise_math.h"
#include "engine/math/loss_math.h"
#include "engine/types.h"

namespace sr {

template <class F>
void with_unary_op(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::relu:
      return f.template operator()<UnaryOp::relu>();
    case UnaryOp::leaky_relu:
      return f.template operator()<UnaryOp::leaky_relu>();
    case UnaryOp::sigmoid:
      return f.template operator()<UnaryOp::sigmoid>();
    case UnaryOp::tanh:
      return f.template operator()<UnaryOp::tanh>();
    case UnaryOp::exp:
      return f.template operator()<UnaryOp::exp>();
    case UnaryOp::log:
      return f.template operator()<UnaryOp::log>();
    case UnaryOp::sqrt:
      return f.template operator()<UnaryOp::sqrt>();
    case UnaryOp::pow:
      return f.template operator()<UnaryOp::pow>();
    case UnaryOp::affine:
      return f.template operator()<UnaryOp::affine>();
    case UnaryOp::clamp:
      return f.template operator()<UnaryOp::clamp>();
  }
}

template <class F>
void with_binary_op(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add:
      return f.template operator()<BinaryOp::add>();
    case BinaryOp::sub:
      return f.template operator()<BinaryOp::sub>();
    case BinaryOp::mul:
      return f.template operator()<BinaryOp::mul>();
    case BinaryOp::div:
      return f.template operator()<BinaryOp::div>();
    case BinaryOp::minimum:
      return f.template operator()<BinaryOp::minimum>();
    case BinaryOp::greater:
      return f.template operator()<BinaryOp::greater>();
  }
}

template <class F>
void with_loss_op(LossOp op, F&& f) {
  switch (op) {
    case LossOp::bce_prob:
      return f.template operator()<LossOp::bce_prob>();
    case LossOp::bce_logits:
      return f.template operator()<LossOp::bce_logits>();
    case LossOp::squared:
      return f.template operator()<LossOp::squared>();
    case LossOp::kl_normal:
      return f.template operator()<LossOp::kl_normal>();
  }
}

template <class F>
void with_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f32:
      return f.template operator()<float>();
    case DType::i32:
      return f.template operator()<int32_t>();
    case DType::i64:
      return f.template operator()<int64_t>();
  }
}

}  // namespace sr
