// Parallel loops on the CPU for kernels and for the host-side work of data/ and sraal/ (OpenMP,
// the same runtime oneDNN uses, so all share one thread pool). The thread count itself is an
// engine setting (engine/backend.h: set_num_threads).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace sr {

// Work below this many elements runs on one thread: the fork/join costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

// Calls f(begin, end) over [0, n) split into contiguous chunks, one per thread, when the work
// (n * cost_per_item) is large enough; otherwise once on the calling thread.
template <class F>
void parallel_for(int64_t n, int64_t cost_per_item, F&& f) {
  if (n <= 0) return;
  int threads = omp_get_max_threads();
  if (threads <= 1 || n * cost_per_item < kParallelGrain || omp_in_parallel()) {
    f(int64_t(0), n);
    return;
  }
  int64_t nt = std::min<int64_t>(threads, n);
#pragma omp parallel num_threads(int(nt))
  {
    int64_t t = omp_get_thread_num();
    int64_t chunk = (n + nt - 1) / nt;
    int64_t b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) f(b, e);
  }
}

// Number of threads kernels use.
inline int num_threads() {
  return omp_get_max_threads();
}

}  // namespace sr
