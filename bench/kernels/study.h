// Shared parts of the CPU kernel studies (bench/kernels/*.cpp): the measured ceilings, the
// result table (table.h), and peak memory of the engine's CPU allocator.
#pragma once

#include <cstdio>
#include <functional>

#include "bench/kernels/ceilings.h"
#include "bench/kernels/table.h"
#include "bench/steps.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/storage.h"

namespace sr::study {

inline void print_ceilings(const Ceilings& c) {
  std::printf(
      "machine: %d threads; copy %.1f GB/s (read + write), read-only %.1f GB/s, "
      "sgemm %.0f GFLOP/s\n",
      get_num_threads(), c.copy_gbps, c.read_gbps, c.sgemm_gflops);
}

// Runs f under time_runs and reports the peak of the engine's CPU allocator above what was live
// before (tensor memory the kernel allocated: outputs and workspaces, not the inputs).
inline Timing time_with_peak(const std::function<void()>& f, int warmup, int repeats,
                             double& peak_mib) {
  Allocator& a = allocator_for(Device::cpu);
  size_t live = a.live_bytes();
  a.reset_peak();
  Timing t = time_runs(f, warmup, repeats);
  peak_mib = double(a.peak_bytes() - live) / double(1 << 20);
  return t;
}

}  // namespace sr::study
