// The CUDA device layer: availability and versions (for `sraal info`), a caching allocator
// (size-class bins: the training loop never calls cudaMalloc/cudaFree once warm; live and peak
// bytes counted), and host <-> device copies. Registered with the engine at start-up; without
// a GPU or driver the backend reports why and the engine runs on the CPU.
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/cuda_check.h"
#include "engine/backend.h"
#include "engine/storage.h"

namespace sr::cuda {

void throw_cuda_error(const char* call, const char* file, int line, const char* lib,
                      const char* message) {
  throw DeviceError(fmt::format("{} error at {}:{}: {}: {}", lib, file, line, call, message));
}

const char* cublas_status_string(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "architecture mismatch";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "execution failed";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "not supported";
    default:
      return "cuBLAS error";
  }
}

namespace {

size_t size_class(size_t n) {
  if (n <= 4096) return (n + 511) & ~size_t(511);
  int msb = 63 - __builtin_clzll(n);
  size_t step = size_t(1) << (msb - 3);
  return (n + step - 1) & ~(step - 1);
}

class CudaCachingAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    size_t sz = size_class(nbytes == 0 ? 1 : nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(sz);
    void* p = nullptr;
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
    } else {
      cudaError_t e = cudaMalloc(&p, sz);
      if (e == cudaErrorMemoryAllocation) {  // return the cache to the driver and retry once
        (void)cudaGetLastError();
        release_all_locked();
        e = cudaMalloc(&p, sz);
      }
      CUDA_CHECK(e);
    }
    live_ += sz;
    peak_ = std::max(peak_, live_);
    return p;
  }
  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    size_t sz = size_class(nbytes == 0 ? 1 : nbytes);
    live_ -= sz;
    free_[sz].push_back(p);
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
      for (void* p : list) cudaFree(p);
    free_.clear();
  }
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t live_ = 0, peak_ = 0;
};

void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) {
  cudaMemcpyKind kind = dst_dev == Device::cuda
                            ? (src_dev == Device::cuda ? cudaMemcpyDeviceToDevice
                                                       : cudaMemcpyHostToDevice)
                            : cudaMemcpyDeviceToHost;
  CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind));
}

std::string version_str(int v) { return fmt::format("{}.{}", v / 1000, (v % 1000) / 10); }

CudaInfo query() {
  CudaInfo i;
  i.compiled_in = true;
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  i.runtime_version = version_str(rt);
  if (cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0) i.driver_version = version_str(drv);
  size_t cudnn = cudnnGetVersion();
  i.cudnn_version = fmt::format("{}.{}.{}", cudnn / 10000, (cudnn % 10000) / 100, cudnn % 100);
  int maj = 0, min = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &maj);
  cublasGetProperty(MINOR_VERSION, &min);
  cublasGetProperty(PATCH_LEVEL, &patch);
  i.cublas_version = fmt::format("{}.{}.{}", maj, min, patch);
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    i.reason = fmt::format("no usable CUDA device ({})", cudaGetErrorString(e));
    return i;
  }
  if (n == 0) {
    i.reason = "no CUDA device found";
    return i;
  }
  i.device_count = n;
  for (int d = 0; d < n; ++d) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
    i.devices.push_back(fmt::format("{} (sm_{}{}, {:.0f} GiB)", p.name, p.major, p.minor,
                                    double(p.totalGlobalMem) / double(1ull << 30)));
  }
  return i;
}

CudaInfo cached_info() {
  static CudaInfo info = query();
  return info;
}

struct Registration {
  Registration() {
    set_cuda_info_fn(&cached_info);
    static CudaCachingAllocator alloc;
    set_allocator(Device::cuda, &alloc);
    set_cross_device_copy(&copy);
  }
};
const Registration registration;

}  // namespace
}  // namespace sr::cuda
