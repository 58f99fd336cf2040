// The kernel slots of every engine op, one per op (see dispatch.h), declared from the one list
// in engine/kernel_slots.def.
//
// Kernels are the device layer: they compute into outputs the op layer (engine/ops_*.cpp) has
// already checked, shaped and allocated, and never record autograd. Each slot states the
// layouts it accepts; the op layer converts inputs to them.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/dispatch.h"
#include "engine/math/elementwise_math.h"
#include "engine/math/loss_math.h"
#include "engine/math/optim_math.h"
#include "engine/math/selection_math.h"
#include "engine/tensor.h"

namespace sr {

// Convolution geometry, PyTorch conventions (dilation 1 = dense). For a transposed convolution
// the weight is (in, out, kh, kw) and output_padding enlarges the output on one side.
struct ConvParams {
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  int64_t dilation[2] = {1, 1};
  int64_t output_padding[2] = {0, 0};
  bool transposed = false;
};

enum class PoolKind : uint8_t { max, avg };

struct PoolParams {
  PoolKind kind = PoolKind::max;
  int64_t kernel[2] = {2, 2};
  int64_t stride[2] = {2, 2};
  int64_t padding[2] = {0, 0};
  bool count_include_pad = true;  // average pooling divisor, as PyTorch's default
};

namespace kernels {

// Every slot of engine/kernel_slots.def: `extern KernelSlot<signature> name;`.
#define SR_SLOT(name, ...) extern KernelSlot<__VA_ARGS__> name;
#include "engine/kernel_slots.def"
#undef SR_SLOT

// The slots by name, with what is registered in each (for coverage tests and `sraal info`).
struct SlotStatus {
  const char* name;
  bool cpu, cuda;                        // a kernel is registered
  bool cpu_duplicated, cuda_duplicated;  // registered twice (every call then throws)
};
std::vector<SlotStatus> kernel_slots();

}  // namespace kernels
}  // namespace sr
