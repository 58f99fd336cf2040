// Kernel study: greedy k-center (pick k of N points in d dimensions from one random center),
// versions from the plain reference to the fused compact pass of the engine.
//
//   v1 reference      sr::ref::kcenter_greedy: scalar, one thread (first `ref_picks` picks only)
//   v2 unfused        three passes per pick as a tensor library does it: distances to the new
//                     center into a vector, running minimum, arg-max (SIMD, all threads)
//   v3 fused          one pass per pick: distance + running minimum + arg-max (engine, plain)
//   v4 fused compact  v3 reading 8-bit codes; exact lower bounds skip most fp32 distances
//                     (engine default)
// Every version computes distances in the canonical order, so all picks must be identical; v1
// checks the first picks, v2-v4 are compared over all k picks.
//
// Bytes per pick (model): v2 n (4d + 24), v3 n (4d + 4), v4 n (d' + 16) + 4d per exact distance
// (d' = d rounded up to 4). FLOPs: 3 n d per pick for the fp32 distances (sub + fma), v4 counts
// only the exact distances it computes.
//
//   bench_kernel_kcenter [N d k]...   default: 50000 512 1000 and 1000000 64 1000
#include <omp.h>

#include <array>
#include <cstdlib>
#include <limits>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/cpu/selection_cpu.h"
#include "engine/cpu/selection_reference.h"
#include "engine/cpu/sq_dist_simd.h"
#include "engine/ops.h"

namespace sr::study {
namespace {

// v2: distances, minimum and arg-max as three separate parallel passes.
std::vector<int64_t> kcenter_unfused(const float* x, int64_t n, int64_t d, int64_t first,
                                     int64_t k) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> dmin(static_cast<size_t>(n), inf), dist(static_cast<size_t>(n));
  std::vector<int64_t> picks;
  int64_t s = first;
  dmin[size_t(s)] = -inf;
  while (int64_t(picks.size()) < k) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) dist[size_t(i)] = cpu::sq_dist_fast(x + i * d, x + s * d, d);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) dmin[size_t(i)] = std::min(dmin[size_t(i)], dist[size_t(i)]);
    int nt = omp_get_max_threads();
    std::vector<float> bv(static_cast<size_t>(nt), -inf);
    std::vector<int64_t> bi(static_cast<size_t>(nt), n);
#pragma omp parallel num_threads(nt)
    {
      int t = omp_get_thread_num();
      int64_t b = n * t / nt, e = n * (t + 1) / nt;
      for (int64_t i = b; i < e; ++i)
        if (dmin[size_t(i)] > bv[size_t(t)]) bv[size_t(t)] = dmin[size_t(i)], bi[size_t(t)] = i;
    }
    int64_t best = bi[0];
    float v = bv[0];
    for (int t = 1; t < nt; ++t)
      if (farther(bv[size_t(t)], bi[size_t(t)], v, best)) v = bv[size_t(t)], best = bi[size_t(t)];
    picks.push_back(best);
    dmin[size_t(best)] = -inf;
    s = best;
  }
  return picks;
}

void study(int64_t n, int64_t d, int64_t k, const Ceilings& c) {
  Generator g(11);
  Tensor pts = randn({n, d}, g);
  const float* x = pts.data<float>();
  const int64_t first = Generator(5).randint(n);  // the random start, as the API draws it
  const int64_t ref_picks = std::min<int64_t>(k, 20);
  print_header(
      fmt::format("k-center: {} of {} x {} fp32 points ({:.0f} MB), from one random "
                  "center",
                  k, n, d, double(n * d * 4) / 1e6));
  const double fl = 3.0 * double(n) * double(d);
  std::vector<int64_t> ref;
  Result r1{fmt::format("v1 reference ({} picks)", ref_picks)};
  r1.t = time_runs([&] { ref = ref::kcenter_greedy(x, n, d, {first}, ref_picks); }, 0, 1);
  r1.bytes = double(ref_picks) * double(n) * (4.0 * double(d) + 8);
  r1.flops = double(ref_picks) * fl;
  r1.check = "oracle";
  print_result(r1, c);
  auto check = [&](const std::vector<int64_t>& picks, const std::vector<int64_t>* all) {
    bool prefix = std::equal(ref.begin(), ref.end(), picks.begin());
    bool same = all == nullptr || *all == picks;
    return std::string(prefix && same ? "same picks" : "DIFFERENT PICKS");
  };
  std::vector<int64_t> p2, p3, p4;
  Result r2{"v2 unfused (3 passes per pick)"};
  r2.t = time_runs([&] { p2 = kcenter_unfused(x, n, d, first, k); }, 0, 1);
  r2.bytes = double(k) * double(n) * (4.0 * double(d) + 24);
  r2.flops = double(k) * fl;
  r2.peak_mib = double(n) * 8 / double(1 << 20);  // dmin + dist vectors (std::vector)
  r2.check = check(p2, nullptr);
  print_result(r2, c);
  cpu::KCenterStats s3, s4;
  Result r3{"v3 fused pass"};
  r3.t = time_with_peak(
      [&] {
        p3 = cpu::kcenter_greedy(x, n, d, {first}, k, {false, true}, &s3);
      },
      0, 3, r3.peak_mib);
  r3.bytes = double(k) * double(n) * (4.0 * double(d) + 4);
  r3.flops = double(k) * fl;
  r3.check = check(p3, &p2);
  print_result(r3, c);
  Result r4{"v4 fused compact + exact bounds"};
  r4.t = time_with_peak(
      [&] {
        p4 = cpu::kcenter_greedy(x, n, d, {first}, k, {true, true}, &s4);
      },
      1, 3, r4.peak_mib);
  double exact_per_run = double(s4.exact_distances);
  r4.bytes =
      double(k) * double(n) * double(((d + 3) / 4) * 4 + 16) + exact_per_run * 4.0 * double(d);
  r4.flops = exact_per_run * 3.0 * double(d);
  r4.check = check(p4, &p2) + fmt::format("; {:.2f}% of distances computed",
                                          100.0 * exact_per_run / (double(k) * double(n)));
  print_result(r4, c);
  std::printf(
      "per pick: v3 %.3f ms, v4 %.3f ms; v4 setup (check, codes) %.1f ms, workspace %.1f "
      "MiB (codes, bounds, dmin)\n",
      r3.t.median_ms / double(k), r4.t.median_ms / double(k), s4.setup_ms,
      double(s4.workspace_bytes) / double(1 << 20));
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  std::vector<std::array<int64_t, 3>> shapes;
  for (int i = 1; i + 2 < argc; i += 3)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1]), std::atoll(argv[i + 2])});
  if (shapes.empty()) shapes = {{50000, 512, 1000}, {1000000, 64, 1000}};
  study::Ceilings c = study::measure_ceilings();
  study::print_ceilings(c);
  for (auto [n, d, k] : shapes) study::study(n, d, k, c);
  return 0;
}
