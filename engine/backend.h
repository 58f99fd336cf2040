// What the CUDA backend reports about itself. The engine does not include CUDA headers: the
// backend (cuda/) fills this hook at start-up when it is compiled in.
#pragma once

#include <string>
#include <vector>

#include "engine/types.h"

namespace sr {

struct CudaInfo {
  bool compiled_in = false;   // this binary contains the CUDA backend
  int device_count = 0;       // GPUs usable now
  std::string reason;         // why no GPU is usable (empty when one is)
  std::string runtime_version, driver_version, cudnn_version, cublas_version;
  std::vector<std::string> devices;  // "NVIDIA A100 (sm_80, 40 GiB)"
};

using CudaInfoFn = CudaInfo (*)();
void set_cuda_info_fn(CudaInfoFn fn);
CudaInfo cuda_info();
// True when a GPU can run our kernels; otherwise `--device cuda` must fail with cuda_info().reason.
bool cuda_available();
// Throws DeviceError with the reason when `device` cannot be used here.
void require_device(Device device);

}  // namespace sr
