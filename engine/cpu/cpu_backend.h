// CPU backend services: the versions of the libraries behind the CPU kernels, the instruction
// sets in use, and OpenBLAS's thread count (the engine's thread settings: engine/backend.h).
#pragma once

#include <string>

#include "engine/backend.h"  // the thread settings

namespace sr {

void set_blas_threads(int n);
std::string blas_version();    // OpenBLAS build configuration
std::string onednn_version();  // "2.6.3 (cpu runtime: OpenMP)"
// The instruction set oneDNN dispatches to on this CPU (after ONEDNN_MAX_CPU_ISA), e.g. "avx2".
std::string onednn_isa();
// The CPU convolution choice in effect (engine/backend.h: set_cpu_conv_algorithm), in words.
std::string cpu_conv_summary();
// The vector code our own kernels were compiled with, e.g. "AVX-512 (-march=native)".
std::string kernels_isa();

}  // namespace sr
