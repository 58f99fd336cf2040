// Op dispatch: one kernel slot per op per device (the ATen pattern).
//
// A slot is declared once (engine/kernels.h) and filled where its kernel is defined, by a
// static registration in the kernel's own file (engine/cpu/*.cpp, cuda/*.cu). The device comes
// from the input tensors; calling an empty slot throws NotImplementedError naming op and device.
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
  constexpr explicit KernelSlot(const char* name) : name_(name), fns_{} {}

  void set(Device d, Fn fn) { fns_[int(d)] = fn; }
  bool has(Device d) const { return fns_[int(d)] != nullptr; }
  const char* name() const { return name_; }

  R operator()(Device d, Args... args) const {
    Fn fn = fns_[int(d)];
    if (fn == nullptr)
      throw NotImplementedError(
          fmt::format("op '{}' has no kernel for device {}", name_, device_name(d)));
    return fn(std::forward<Args>(args)...);
  }

 private:
  const char* name_;
  Fn fns_[kNumDevices];
};

}  // namespace sr

#define SR_CONCAT_INNER(a, b) a##b
#define SR_CONCAT(a, b) SR_CONCAT_INNER(a, b)

// Fills slot `kernels::slot` for device `dev` (cpu or cuda) with function `fn`, at start-up.
#define SR_REGISTER_KERNEL(slot, dev, fn)                        \
  static const bool SR_CONCAT(sr_kernel_registered_, __LINE__) = \
      (::sr::kernels::slot.set(::sr::Device::dev, fn), true)
