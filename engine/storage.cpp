// Storage, the allocator slots, and the CPU caching allocator.
//
// The CPU allocator rounds each request up to a size class (64-byte steps below 4 KiB, then
// eight classes per power of two: at most 12.5% waste) and keeps freed blocks in a free list per
// class. Activations of a training step have the same sizes every step, so after the first step
// every allocation is a free-list pop: no mmap, no page faults, no zeroing by the kernel.
#include "engine/storage.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace sr {

namespace {

size_t size_class(size_t n) {
  if (n <= 4096) return (n + 63) & ~size_t(63);
  int msb = 63 - __builtin_clzll(n);
  size_t step = size_t(1) << (msb - 3);
  return (n + step - 1) & ~(step - 1);
}

class CpuCachingAllocator final : public Allocator {
 public:
  ~CpuCachingAllocator() override { empty_cache(); }

  void* allocate(size_t nbytes) override {
    size_t sz = size_class(nbytes == 0 ? 1 : nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    live_ += sz;
    if (live_ > peak_) peak_ = live_;
    auto it = free_.find(sz);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= sz;
      return p;
    }
    void* p = std::aligned_alloc(64, sz);
    if (!p) {
      release_all_locked();
      p = std::aligned_alloc(64, sz);
    }
    SR_CHECK(p != nullptr, "cpu allocator: out of memory allocating {} bytes", sz);
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    size_t sz = size_class(nbytes == 0 ? 1 : nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    live_ -= sz;
    if (cached_ + sz > kMaxCached) {
      std::free(p);
      return;
    }
    free_[sz].push_back(p);
    cached_ += sz;
  }

  size_t live_bytes() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return live_;
  }
  size_t peak_bytes() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }
  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    peak_ = live_;
  }
  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    release_all_locked();
  }

 private:
  void release_all_locked() {
    for (auto& [sz, list] : free_)
      for (void* p : list) std::free(p);
    free_.clear();
    cached_ = 0;
  }

  static constexpr size_t kMaxCached = size_t(8) << 30;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t live_ = 0, peak_ = 0, cached_ = 0;
};

// Never destroyed: tensors in static objects may be freed after main returns.
CpuCachingAllocator& cpu_allocator() {
  static auto* a = new CpuCachingAllocator;
  return *a;
}

Allocator* g_allocators[kNumDevices] = {nullptr, nullptr};
CopyFn g_cross_copy = nullptr;

}  // namespace

Allocator& allocator_for(Device d) {
  if (d == Device::cpu) return cpu_allocator();
  Allocator* a = g_allocators[int(d)];
  SR_CHECK_T(a != nullptr, DeviceError,
             "no allocator for device {}: this build has no CUDA backend or no GPU is present",
             d);
  return *a;
}

void set_allocator(Device d, Allocator* a) { g_allocators[int(d)] = a; }

void set_cross_device_copy(CopyFn fn) { g_cross_copy = fn; }

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_dev == Device::cpu && src_dev == Device::cpu) {
    std::memcpy(dst, src, nbytes);
    return;
  }
  SR_CHECK_T(g_cross_copy != nullptr, DeviceError,
             "copy {} -> {}: this build has no CUDA backend", src_dev, dst_dev);
  g_cross_copy(dst, dst_dev, src, src_dev, nbytes);
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = allocator_for(device).allocate(nbytes);
}

Storage::~Storage() { allocator_for(device_).deallocate(data_, nbytes_); }

}  // namespace sr
