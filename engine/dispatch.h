// Op dispatch: one kernel slot per op per device (the ATen pattern).
//
// A slot is listed once (engine/kernel_slots.def, which declares and defines it) and filled where
// its kernel is defined, by a static registration in the kernel's own file (engine/cpu/*.cpp,
// cuda/*.cu). The device comes from the input tensors; calling an empty slot throws
// NotImplementedError naming op and device.
//
// Registration is static (a file's kernels register themselves when the program starts), so
// that each kernel's file is complete on its own and nothing lists the files; what static
// registration can get wrong — an object file the linker drops, a slot a new backend forgets,
// two files claiming one slot — the coverage test catches (tests/test_kernel_slots.cpp: every
// slot has one CPU kernel, and one CUDA kernel in a CUDA build).
#pragma once

#include <utility>

#include "engine/error.h"
#include "engine/types.h"

namespace sr {

template <class Fn>
class KernelSlot;

template <class R, class... Args>
class KernelSlot<R(Args...)> {
 public:
  using Fn = R (*)(Args...);
  constexpr explicit KernelSlot(const char* name) : name_(name), fns_{}, duplicated_{} {}

  // Registering a device's kernel twice is a programming error (two files claiming one slot):
  // it cannot throw at static initialisation, so the slot remembers it and every call throws.
  void set(Device d, Fn fn) {
    if (fns_[int(d)] != nullptr) duplicated_[int(d)] = true;
    fns_[int(d)] = fn;
  }
  bool has(Device d) const { return fns_[int(d)] != nullptr; }
  bool duplicated(Device d) const { return duplicated_[int(d)]; }
  const char* name() const { return name_; }

  R operator()(Device d, Args... args) const {
    Fn fn = fns_[int(d)];
    if (fn == nullptr)
      throw NotImplementedError(
          fmt::format("op '{}' has no kernel for device {}", name_, device_name(d)));
    if (duplicated_[int(d)])
      throw NotImplementedError(
          fmt::format("op '{}' has two kernels registered for device {}; a build error", name_,
                      device_name(d)));
    return fn(std::forward<Args>(args)...);
  }

 private:
  const char* name_;
  Fn fns_[kNumDevices];
  bool duplicated_[kNumDevices];
};

}  // namespace sr

#define SR_CONCAT_INNER(a, b) a##b
#define SR_CONCAT(a, b) SR_CONCAT_INNER(a, b)

// Fills slot `kernels::slot` for device `dev` (cpu or cuda) with function `fn`, at start-up.
#define SR_REGISTER_KERNEL(slot, dev, fn)                        \
  static const bool SR_CONCAT(sr_kernel_registered_, __LINE__) = \
      (::sr::kernels::slot.set(::sr::Device::dev, fn), true)
