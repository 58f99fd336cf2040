// What the CUDA backend reports about itself, and the engine-wide settings both backends read.
// The engine does not include CUDA headers: the backend (cuda/) fills these hooks at start-up
// when it is compiled in.
//
// Ordering: all device work of the engine runs on one CUDA stream, in the order the host issues
// it. Copies to the host (Tensor::item, to_vector, to(Device::cpu)) wait for that stream, so a
// value read on the host is always final; synchronize(Device::cuda) waits without copying (bench
// timing uses it).
#pragma once

#include <string>
#include <vector>

#include "engine/types.h"

namespace sr {

struct CudaInfo {
  bool compiled_in = false;  // this binary contains the CUDA backend
  int device_count = 0;      // GPUs usable now
  std::string reason;        // why no GPU is usable (empty when one is)
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

// Waits until every operation issued on `device` has finished (no-op on the CPU, whose kernels
// return when done).
using SyncFn = void (*)();
void set_cuda_sync_fn(SyncFn fn);
void synchronize(Device device);

// ---- engine-wide settings (read by the kernels at each call) ----
//
// Deterministic mode: the same inputs give bitwise the same results run after run on the same
// machine. CUDA: cuDNN convolutions use deterministic algorithms only, max pooling the
// deterministic cuDNN mode, and our kernels no floating-point atomics (index_add sums each row
// in index order). The CPU is deterministic in both modes for a fixed number of threads (our
// sums use fixed chunks combined in a fixed order; oneDNN's reductions may depend on the thread
// count), so the flag changes nothing there. Default off.
void set_deterministic(bool on);
bool deterministic();

// ---- CPU threads under load ----
//
// Unless the count is pinned (`--threads N`) or deterministic mode is on, the CPU backend runs
// on the CPUs that other processes leave free: all of them on a quiet machine, fewer while
// other processes keep some busy, re-decided at most once a second. Optimisers call
// adapt_threads() after each step (outside any parallel region). oneDNN's reductions may depend
// on the thread count, so only a pinned count gives bitwise-repeatable runs.
void adapt_threads();
bool threads_adaptive();
// Pins the threads of our kernels and oneDNN (OpenMP) and of OpenBLAS to n (ends adaptive mode).
// Implemented with the governor in engine/cpu/thread_governor.cpp.
void set_num_threads(int n);
int get_num_threads();
// Back to adaptive mode (the default) after set_num_threads.
void unpin_threads();
// The CPUs this process may run on (its affinity mask; at least 1).
int get_num_cpus();
// The decision: threads for `cpus` CPUs when `others` CPUs' worth of time went to other
// processes (rounded; at least 1, at most cpus).
int threads_for_load(int cpus, double others);

// TF32 tensor-core math for float32 GEMMs (cuBLAS) and convolutions (cuDNN) on GPUs that have
// it (sm_80 and newer): about 10 mantissa bits instead of 23 in the products. Default off, so
// CUDA results follow the CPU's to float32 rounding. No effect on the CPU.
void set_allow_tf32(bool on);
bool allow_tf32();

// cuDNN algorithm choice: false (default) takes cuDNN's heuristics' best algorithm for each
// convolution geometry; true times the candidates once per geometry (cudnnFind*AlgorithmEx) and
// keeps the fastest. Either way the choice is cached per geometry. No effect on the CPU.
void set_cudnn_benchmark(bool on);
bool cudnn_benchmark();

// CPU convolution algorithm (engine/cpu/conv_cpu.cpp): automatic (default) runs oneDNN's direct
// kernels except for the geometries where Winograd F(2x2, 3x3) or the GEMM form (im2col +
// sgemm) measured faster; onednn, gemm and winograd force one (gemm wherever it applies: dense
// channels-last tensors; winograd for the data passes of every 3x3 stride-1 padding-1 layer,
// the rest as automatic). The choice is a fixed rule, never a timing, so runs stay repeatable.
enum class CpuConvAlgorithm : uint8_t { automatic, onednn, gemm, winograd };
void set_cpu_conv_algorithm(CpuConvAlgorithm a);
CpuConvAlgorithm cpu_conv_algorithm();
const char* cpu_conv_algorithm_name(CpuConvAlgorithm a);  // "auto", "onednn", "gemm", ...

}  // namespace sr
