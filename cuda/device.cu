// The CUDA device layer: availability and versions (for `sraal info`), the caching allocator
// (engine/caching_allocator.h over cudaMalloc: the training loop never calls cudaMalloc/cudaFree
// once warm; live and peak bytes counted), and host <-> device copies. Registered with the engine
// at start-up; without a GPU or driver the backend reports why and the engine runs on the CPU.
#include <cstdint>
#include <cstdio>

#include "cuda/cuda_check.h"
#include "engine/backend.h"
#include "engine/caching_allocator.h"
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

// cudaMalloc for the caching allocator: nullptr when the device is out of memory (the cache is
// then returned to the driver and the request retried), DeviceError for any other fault.
void* cuda_raw_allocate(size_t n) {
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, n);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the sticky error state of the runtime
    return nullptr;
  }
  CUDA_CHECK(e);
  return p;
}
void cuda_raw_release(void* p) {
  (void)cudaFree(p);
}

void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) {
  cudaMemcpyKind kind =
      dst_dev == Device::cuda
          ? (src_dev == Device::cuda ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
          : cudaMemcpyDeviceToHost;
  CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind));
}

std::string version_str(int v) {
  return fmt::format("{}.{}", v / 1000, (v % 1000) / 10);
}

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
    // 512-byte granules (cudaMalloc aligns to 256); no cap on what waits in the cache.
    static CachingAllocator alloc("cuda", 512, SIZE_MAX, {cuda_raw_allocate, cuda_raw_release});
    set_allocator(Device::cuda, &alloc);
    set_cross_device_copy(&copy);
  }
};
const Registration registration;

}  // namespace
}  // namespace sr::cuda
