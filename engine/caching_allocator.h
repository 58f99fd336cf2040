// CachingAllocator: the size-class cache both devices' allocators are made of.
//
// Each request is rounded up to a size class (multiples of `granule` up to 4 KiB, then eight
// classes per power of two: at most 12.5% waste) and freed blocks wait in a free list per class.
// The tensors of a training step have the same sizes every step, so after the first step every
// allocation is a free-list pop: no system call, no page faults (CPU), no cudaMalloc and its
// implicit synchronisation (CUDA). Blocks come from a device's raw allocator; when it fails, the
// whole cache is returned to it and the request retried once before the error. Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/storage.h"

namespace sr {

class CachingAllocator : public Allocator {
 public:
  struct RawMemory {
    void* (*allocate)(size_t nbytes);  // nullptr when out of memory; throws for other faults
    void (*release)(void* p);
  };
  // `device` names the allocator in errors; at most `max_cached` bytes wait in the free lists
  // (a block freed beyond that goes back to the raw allocator).
  CachingAllocator(std::string device, size_t granule, size_t max_cached, RawMemory raw);
  ~CachingAllocator() override;

  void* allocate(size_t nbytes) override;
  void deallocate(void* p, size_t nbytes) override;
  size_t live_bytes() const override;
  size_t peak_bytes() const override;
  void reset_peak() override;
  void empty_cache() override;

  // The size class of a request of `nbytes`.
  size_t size_class(size_t nbytes) const;

 private:
  void release_all_locked();

  const std::string device_;
  const size_t granule_, max_cached_;
  const RawMemory raw_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t live_ = 0, peak_ = 0, cached_ = 0;
};

}  // namespace sr
