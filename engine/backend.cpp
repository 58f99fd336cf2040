// The CUDA backend hook (see backend.h).
#include "engine/backend.h"

#include "engine/error.h"

namespace sr {

namespace {
CudaInfoFn g_cuda_info = nullptr;
}

void set_cuda_info_fn(CudaInfoFn fn) { g_cuda_info = fn; }

CudaInfo cuda_info() {
  if (!g_cuda_info) {
    CudaInfo i;
    i.reason = "this build has no CUDA backend (configured without a CUDA compiler)";
    return i;
  }
  return g_cuda_info();
}

bool cuda_available() { return cuda_info().device_count > 0; }

void require_device(Device device) {
  if (device == Device::cpu) return;
  CudaInfo i = cuda_info();
  SR_CHECK_T(i.device_count > 0, DeviceError, "device cuda is not available: {}", i.reason);
}

}  // namespace sr
