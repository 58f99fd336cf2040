// The CUDA backend hooks and the engine-wide settings (see backend.h).
#include "engine/backend.h"

#include <atomic>

#include "engine/error.h"

namespace sr {

namespace {
CudaInfoFn g_cuda_info = nullptr;
SyncFn g_cuda_sync = nullptr;
std::atomic<bool> g_deterministic{false};
std::atomic<bool> g_allow_tf32{false};
std::atomic<bool> g_cudnn_benchmark{false};
std::atomic<CpuConvAlgorithm> g_cpu_conv{CpuConvAlgorithm::automatic};
}  // namespace

void set_cuda_info_fn(CudaInfoFn fn) {
  g_cuda_info = fn;
}

CudaInfo cuda_info() {
  if (!g_cuda_info) {
    CudaInfo i;
    i.reason = "this build has no CUDA backend (configured without a CUDA compiler)";
    return i;
  }
  return g_cuda_info();
}

bool cuda_available() {
  return cuda_info().device_count > 0;
}

void require_device(Device device) {
  if (device == Device::cpu) return;
  CudaInfo i = cuda_info();
  SR_CHECK_T(i.device_count > 0, DeviceError, "device cuda is not available: {}", i.reason);
}

void set_cuda_sync_fn(SyncFn fn) {
  g_cuda_sync = fn;
}

void synchronize(Device device) {
  if (device == Device::cpu) return;
  require_device(device);
  SR_CHECK_T(g_cuda_sync != nullptr, DeviceError, "synchronize: this build has no CUDA backend");
  g_cuda_sync();
}

void set_deterministic(bool on) {
  g_deterministic.store(on);
}
bool deterministic() {
  return g_deterministic.load();
}
void set_allow_tf32(bool on) {
  g_allow_tf32.store(on);
}
bool allow_tf32() {
  return g_allow_tf32.load();
}
void set_cudnn_benchmark(bool on) {
  g_cudnn_benchmark.store(on);
}
bool cudnn_benchmark() {
  return g_cudnn_benchmark.load();
}
void set_cpu_conv_algorithm(CpuConvAlgorithm a) {
  g_cpu_conv.store(a);
}
CpuConvAlgorithm cpu_conv_algorithm() {
  return g_cpu_conv.load();
}
const char* cpu_conv_algorithm_name(CpuConvAlgorithm a) {
  switch (a) {
    case CpuConvAlgorithm::onednn:
      return "onednn";
    case CpuConvAlgorithm::gemm:
      return "gemm";
    case CpuConvAlgorithm::winograd:
      return "winograd";
    default:
      return "auto";
  }
}

}  // namespace sr
