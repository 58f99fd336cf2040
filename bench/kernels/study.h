// Shared parts of the CPU kernel studies (bench/kernels/*.cpp): the measured ceilings, the
// result table (table.h), and peak memory of the engine's CPU allocator.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench/kernels/ceilings.h"
#include "bench/kernels/table.h"
#include "bench/steps.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/storage.h"
#include "engine/tensor.h"

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

// max |a - ref| / max |ref| over the logical elements (the studies' check against an oracle).
inline double max_rel_diff(const Tensor& a, const Tensor& ref) {
  std::vector<float> x = a.to_vector(), r = ref.to_vector();
  double d = 0, m = 0;
  for (size_t i = 0; i < r.size(); ++i)
    d = std::max(d, double(std::fabs(x[i] - r[i]))), m = std::max(m, double(std::fabs(r[i])));
  return m > 0 ? d / m : d;
}

// Times each of `runs` once per round for `repeats` rounds, the versions alternating run by
// run, so that a slower moment of the machine (a busy host, clock changes) falls on all alike;
// the timings (median, min, max over the rounds), in the order of `runs`.
inline std::vector<Timing> time_alternating(const std::vector<std::function<void()>>& runs,
                                            int repeats) {
  std::vector<std::vector<double>> ms(runs.size());
  for (int rep = 0; rep < repeats; ++rep)
    for (size_t a = 0; a < runs.size(); ++a) ms[a].push_back(time_runs(runs[a], 0, 1).median_ms);
  std::vector<Timing> out(runs.size());
  for (size_t a = 0; a < runs.size(); ++a) {
    std::vector<double>& v = ms[a];
    std::sort(v.begin(), v.end());
    Timing& t = out[a];
    t.repeats = repeats;
    t.min_ms = v.front(), t.max_ms = v.back();
    t.median_ms = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  }
  return out;
}

// Times `runs` alternately (time_alternating) and prints each one's row: results[k] is the row of
// runs[k], and gets its timing.
inline void time_and_print(std::vector<Result>& results,
                           const std::vector<std::function<void()>>& runs, int repeats,
                           const Ceilings& c) {
  std::vector<Timing> t = time_alternating(runs, repeats);
  for (size_t k = 0; k < results.size(); ++k) {
    results[k].t = t[k];
    print_result(results[k], c);
  }
}

// The studies' command line: [--only WHAT] [--repeats R]; false (after the usage line on
// stderr) for anything else.
inline bool parse_study_args(int argc, char** argv, const char* usage, std::string& only,
                             int& repeats) {
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 < argc && a == "--only") {
      only = argv[i + 1];
    } else if (i + 1 < argc && a == "--repeats") {
      repeats = std::max(1, std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "usage: %s\n", usage);
      return false;
    }
  }
  return true;
}

// The main of the convolution studies: parses [--only WHAT] [--repeats R] (default `repeats`),
// prints the ceilings measured now and oneDNN's ISA (and `note`), then runs
// `study(only, ceilings, repeats)`. Exit code 2 for a bad command line.
inline int study_main(int argc, char** argv, const char* usage, int repeats, const char* note,
                      const std::function<void(const std::string&, const Ceilings&, int)>& study) {
  std::string only;
  if (!parse_study_args(argc, argv, usage, only, repeats)) return 2;
  Ceilings c = measure_ceilings();
  print_ceilings(c);
  std::printf("oneDNN ISA: %s%s\n", onednn_isa().c_str(), note);
  study(only, c, repeats);
  return 0;
}

}  // namespace sr::study
