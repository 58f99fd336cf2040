// Element types, devices and shapes: the small value types every tensor carries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"

namespace sr {

enum class DType : uint8_t { f32, i32, i64 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::i64:
      return 8;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "float32";
    case DType::i32:
      return "int32";
    case DType::i64:
      return "int64";
  }
  return "?";
}

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}

enum class Device : uint8_t { cpu = 0, cuda = 1 };
constexpr int kNumDevices = 2;

inline const char* device_name(Device d) {
  return d == Device::cpu ? "cpu" : "cuda";
}

// Parses "cpu" or "cuda"; throws ValueError naming the text otherwise.
Device parse_device(const std::string& s);

// Physical layout of a 4-d tensor with logical NCHW shape.
enum class MemoryFormat : uint8_t { contiguous, channels_last };

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
Shape channels_last_strides(const Shape& s);  // s must be 4-d (N, C, H, W)
std::string shape_str(const Shape& s);        // "[2, 3, 4]"
// Wraps a possibly negative axis into [0, ndim); throws ShapeError naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// Broadcast of two shapes, numpy rules; throws ShapeError naming `op` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace sr

template <>
struct fmt::formatter<sr::Device> : fmt::formatter<const char*> {
  template <class Ctx>
  auto format(sr::Device d, Ctx& ctx) const {
    return fmt::formatter<const char*>::format(sr::device_name(d), ctx);
  }
};
template <>
struct fmt::formatter<sr::DType> : fmt::formatter<const char*> {
  template <class Ctx>
  auto format(sr::DType t, Ctx& ctx) const {
    return fmt::formatter<const char*>::format(sr::dtype_name(t), ctx);
  }
};
