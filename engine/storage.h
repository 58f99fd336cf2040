// Storage: a reference-counted block of device memory, and the allocator slot of each device.
//
// Tensors share a Storage through std::shared_ptr; views (reshape, slice) point into the same
// Storage at another offset. The memory itself comes from the device's Allocator, which is a
// caching allocator on both devices so that the training loop does not call the system
// allocator (page faults on the CPU, cudaMalloc on the GPU) once it has warmed up.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/types.h"

namespace sr {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* p, size_t nbytes) = 0;
  // Bytes handed out and not yet returned, and the peak of that figure.
  virtual size_t live_bytes() const = 0;
  virtual size_t peak_bytes() const = 0;
  virtual void reset_peak() = 0;
  // Returns cached blocks to the system.
  virtual void empty_cache() = 0;
};

// The allocator of a device; throws DeviceError when the device has none (CUDA not compiled in
// or no GPU present).
Allocator& allocator_for(Device d);
void set_allocator(Device d, Allocator* a);

// Host <-> device copies, filled by the CUDA backend. `dst_dev`/`src_dev` tell the direction.
using CopyFn = void (*)(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes);
void set_cross_device_copy(CopyFn fn);
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes);

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Bumped by every in-place write (optimiser steps, copy_, fill_), so caches derived from the
  // contents (reordered convolution weights) can tell when they are stale.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace sr
