// Storage, the allocator slots, and the CPU caching allocator (engine/caching_allocator.h over
// 64-byte-aligned malloc: after the first training step every allocation is a free-list pop, no
// mmap, no page faults, no zeroing by the kernel).
#include "engine/storage.h"

#include <cstdlib>
#include <cstring>

#include "engine/caching_allocator.h"

namespace sr {

namespace {

void* cpu_raw_allocate(size_t n) {
  return std::aligned_alloc(64, n);
}
void cpu_raw_release(void* p) {
  std::free(p);
}

// Never destroyed: tensors in static objects may be freed after main returns.
// 64-byte granules (cache lines, AVX-512 vectors); at most 8 GiB kept cached.
CachingAllocator& cpu_allocator() {
  static auto* a =
      new CachingAllocator("cpu", 64, size_t(8) << 30, {cpu_raw_allocate, cpu_raw_release});
  return *a;
}

Allocator* g_allocators[kNumDevices] = {nullptr, nullptr};
CopyFn g_cross_copy = nullptr;

}  // namespace

Allocator& allocator_for(Device d) {
  if (d == Device::cpu) return cpu_allocator();
  Allocator* a = g_allocators[int(d)];
  SR_CHECK_T(a != nullptr, DeviceError,
             "no allocator for device {}: this build has no CUDA backend or no GPU is present", d);
  return *a;
}

void set_allocator(Device d, Allocator* a) {
  g_allocators[int(d)] = a;
}

void set_cross_device_copy(CopyFn fn) {
  g_cross_copy = fn;
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_dev == Device::cpu && src_dev == Device::cpu) {
    std::memcpy(dst, src, nbytes);
    return;
  }
  SR_CHECK_T(g_cross_copy != nullptr, DeviceError, "copy {} -> {}: this build has no CUDA backend",
             src_dev, dst_dev);
  g_cross_copy(dst, dst_dev, src, src_dev, nbytes);
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = allocator_for(device).allocate(nbytes);
}

Storage::~Storage() {
  allocator_for(device_).deallocate(data_, nbytes_);
}

}  // namespace sr
