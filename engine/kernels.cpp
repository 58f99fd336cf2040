// Definitions of the kernel slots of engine/kernel_slots.def (constant-initialised, so they
// exist before any static registration runs), and the list of them.
#include "engine/kernels.h"

namespace sr::kernels {

#define SR_SLOT(name, ...) KernelSlot<__VA_ARGS__> name{#name};
#include "engine/kernel_slots.def"
#undef SR_SLOT

std::vector<SlotStatus> kernel_slots() {
  return {
#define SR_SLOT(name, ...)                                                             \
  {#name, name.has(Device::cpu), name.has(Device::cuda), name.duplicated(Device::cpu), \
   name.duplicated(Device::cuda)},
#include "engine/kernel_slots.def"
#undef SR_SLOT
  };
}

}  // namespace sr::kernels
