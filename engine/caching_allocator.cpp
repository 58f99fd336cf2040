// The size-class cache of both devices' allocators (see caching_allocator.h).
#include "engine/caching_allocator.h"

#include "engine/error.h"

namespace sr {

CachingAllocator::CachingAllocator(std::string device, size_t granule, size_t max_cached,
                                   RawMemory raw)
    : device_(std::move(device)), granule_(granule), max_cached_(max_cached), raw_(raw) {}

CachingAllocator::~CachingAllocator() {
  empty_cache();
}

size_t CachingAllocator::size_class(size_t n) const {
  if (n == 0) n = 1;
  if (n <= 4096) return (n + granule_ - 1) / granule_ * granule_;
  int msb = 63 - __builtin_clzll(n);
  size_t step = size_t(1) << (msb - 3);
  return (n + step - 1) & ~(step - 1);
}

void* CachingAllocator::allocate(size_t nbytes) {
  size_t sz = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = free_.find(sz);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    cached_ -= sz;
  } else {
    p = raw_.allocate(sz);
    if (!p) {  // give the cache back and retry once
      release_all_locked();
      p = raw_.allocate(sz);
    }
    SR_CHECK(p != nullptr, "{} allocator: out of memory allocating {} bytes ({} live)", device_, sz,
             live_);
  }
  live_ += sz;
  if (live_ > peak_) peak_ = live_;
  return p;
}

void CachingAllocator::deallocate(void* p, size_t nbytes) {
  if (!p) return;
  size_t sz = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  live_ -= sz;
  if (cached_ + sz > max_cached_) {
    raw_.release(p);
    return;
  }
  free_[sz].push_back(p);
  cached_ += sz;
}

size_t CachingAllocator::live_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

size_t CachingAllocator::peak_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_ = live_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_all_locked();
}

void CachingAllocator::release_all_locked() {
  for (auto& [sz, list] : free_)
    for (void* p : list) raw_.release(p);
  free_.clear();
  cached_ = 0;
}

}  // namespace sr
