// `sraal info`: what this binary was built with and what it can use on this machine.
#include <cstdio>

#include "app/commands.h"
#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"

namespace sr::app {

std::string version_string() {
  return std::string("sraal ") + SRAAL_VERSION;
}

namespace {
std::string g_command_line;
}

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i ? " " : "") + std::string(argv[i]);
}

std::string command_line() {
  return g_command_line;
}

Runner add_info(CLI::App& app) {
  return [] {
    CudaInfo c = cuda_info();
    std::printf("%s\n", version_string().c_str());
    std::printf("compiler:      %s (%s build)\n", SR_CXX_COMPILER, SR_BUILD_TYPE);
    std::printf("cpu threads:   %d\n", get_num_threads());
    std::printf("our kernels:   %s\n", kernels_isa().c_str());
    std::printf("oneDNN:        %s, dispatching to %s\n", onednn_version().c_str(),
                onednn_isa().c_str());
    std::printf("BLAS:          %s\n", blas_version().c_str());
    std::printf("cpu conv:      %s\n", cpu_conv_summary().c_str());
    std::printf("CUDA backend:  %s\n", c.compiled_in ? "compiled in" : "not compiled in");
    if (c.compiled_in) {
      std::printf("CUDA runtime:  %s (driver %s)\n", c.runtime_version.c_str(),
                  c.driver_version.empty() ? "none" : c.driver_version.c_str());
      std::printf("cuDNN:         %s\n", c.cudnn_version.c_str());
      std::printf("cuBLAS:        %s\n", c.cublas_version.c_str());
    }
    if (c.device_count > 0) {
      for (const auto& d : c.devices) std::printf("GPU:           %s\n", d.c_str());
    } else {
      std::printf("GPU:           none usable (%s); running on the CPU\n", c.reason.c_str());
    }
    return 0;
  };
}

}  // namespace sr::app
