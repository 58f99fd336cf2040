// parallel_items: runs a function for every item index on all cores (OpenMP, dynamic schedule,
// since decoding times vary from item to item) and carries the first exception out of the
// parallel region, where an escaping exception would otherwise end the process.
#pragma once

#include <omp.h>

#include <cstdint>
#include <exception>
#include <mutex>

#include "engine/parallel.h"

namespace sr {

// Calls f(i) for i in [0, n). Runs on the calling thread when the work (n * cost_per_item) is
// small, when OpenMP allows one thread, or inside another parallel region. After an exception
// the remaining items are skipped and the first exception is rethrown in the caller.
template <class F>
void parallel_items(int64_t n, int64_t cost_per_item, F&& f) {
  if (n <= 0) return;
  if (omp_get_max_threads() <= 1 || n < 2 || n * cost_per_item < kParallelGrain ||
      omp_in_parallel()) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::exception_ptr error;
  std::mutex mu;
  bool failed = false;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (failed) continue;
    }
    try {
      f(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failed) error = std::current_exception(), failed = true;
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace sr
