// The result table of the kernel studies (CPU and CUDA): machine ceilings, one row per version.
//
// A row: version, median ms (min ms), bytes moved and FLOPs per run as modelled by the study,
// GB/s with its % of the measured copy bandwidth, GFLOP/s with its % of the measured sgemm
// rate, extra memory, and the outcome of the check against the reference.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include "bench/steps.h"

namespace sr::study {

struct Ceilings {
  double copy_gbps = 0, read_gbps = 0, sgemm_gflops = 0;
};

struct Result {
  explicit Result(std::string v = "") : version(std::move(v)) {}
  std::string version;
  Timing t;
  double bytes = 0;      // bytes moved per run (model stated by the study)
  double flops = 0;      // floating-point operations per run (0: not meaningful)
  double peak_mib = -1;  // extra memory of the run, MiB (-1: not measured)
  std::string check;     // "oracle", "max err 3e-07", "same picks", ...
};

inline void print_header(const std::string& title) {
  std::printf("\n%s\n%-34s %10s %10s %9s %6s %9s %6s %9s  %s\n", title.c_str(), "version",
              "median ms", "min ms", "GB/s", "%copy", "GFLOP/s", "%sgemm", "extra MiB", "check");
}

inline void print_result(const Result& r, const Ceilings& c) {
  double s = r.t.median_ms * 1e-3;
  double gbs = r.bytes / s / 1e9, gfs = r.flops / s / 1e9;
  char mem[32] = "-";
  if (r.peak_mib >= 0) std::snprintf(mem, sizeof mem, "%.1f", r.peak_mib);
  std::printf("%-34s %10.2f %10.2f %9.1f %5.0f%% %9.1f %5.0f%% %9s  %s\n", r.version.c_str(),
              r.t.median_ms, r.t.min_ms, gbs, 100 * gbs / c.copy_gbps, gfs,
              r.flops > 0 ? 100 * gfs / c.sgemm_gflops : 0.0, mem, r.check.c_str());
  std::fflush(stdout);
}

}  // namespace sr::study
