// CPU backend services: thread count and the versions of the libraries behind the CPU kernels.
#pragma once

#include <string>

namespace sr {

// Pins the threads of our kernels and oneDNN (OpenMP) and of OpenBLAS to n (ends adaptive mode,
// engine/backend.h: adapt_threads). Implemented with the governor in thread_governor.cpp.
void set_num_threads(int n);
int get_num_threads();
// Back to adaptive mode (the default) after set_num_threads.
void unpin_threads();
// The CPUs this process may run on (its affinity mask; at least 1).
int get_num_cpus();
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
