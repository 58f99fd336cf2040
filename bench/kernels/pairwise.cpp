// Kernel study: squared Euclidean distances between M and N points of d dimensions, versions
// from the double reference to the tiled GEMM with a fused norm epilogue.
//
//   v1 reference        sr::ref::pairwise_sq_dists: sum of squared differences in double, one
//                       thread (on the first 256 rows of a only)
//   v2 direct SIMD      fp32 differences squared (canonical 16-lane order), all threads
//                       (on the first 1024 rows of a)
//   v3 GEMM untiled     one sgemm for the whole (M, N) output, then a separate epilogue pass
//                       adding the norms and clamping (the output crosses memory twice more)
//   v4 GEMM tiled       OpenBLAS sgemm per tile, epilogue while the tile is in cache, for a few
//                       tile shapes
//   v5 fused matmul     oneDNN matmul with post-ops (-2 scale, + norms, relu): the epilogue
//                       runs on the output block in registers (engine default)
// FLOPs: 2 M N d (multiply-adds of the products; v1/v2 count 3 M N d for sub + fma). Bytes:
// (M + N) d 4 read + M N 4 written once (v3: + 2 M N 4 for the epilogue pass). Check: the
// largest |out - exact| over 4096 sampled entries, in units of 2^-24 d (|a|^2 + |b|^2).
//
//   bench_kernel_pairwise [M N d]...   default: 10000 10000 512
#include <cblas.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/cpu/selection_cpu.h"
#include "engine/cpu/selection_reference.h"
#include "engine/cpu/sq_dist_simd.h"
#include "engine/ops.h"
#include "engine/parallel.h"

namespace sr::study {
namespace {

void untiled(const float* a, int64_t m, const float* b, int64_t n, int64_t d, float* out) {
  std::vector<float> na(static_cast<size_t>(m)), nb(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    float s = 0;
    for (int64_t j = 0; j < d; ++j) s += a[i * d + j] * a[i * d + j];
    na[size_t(i)] = s;
  }
  for (int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int64_t j = 0; j < d; ++j) s += b[i * d + j] * b[i * d + j];
    nb[size_t(i)] = s;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(d), -2.f, a, int(d), b,
              int(d), 0.f, out, int(n));
  parallel_for(m, n, [&](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i)
      for (int64_t k = 0; k < n; ++k)
        out[i * n + k] = std::max(out[i * n + k] + na[size_t(i)] + nb[size_t(k)], 0.f);
  });
}

void direct(const float* a, int64_t m, const float* b, int64_t n, int64_t d, float* out) {
  parallel_for(m, n * d, [&](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i)
      for (int64_t k = 0; k < n; ++k) out[i * n + k] = cpu::sq_dist_fast(a + i * d, b + k * d, d);
  });
}

// Largest error over sampled entries of the first `rows` rows, in units of 2^-24 d (|a|^2+|b|^2).
std::string check(const float* a, const float* b, int64_t rows, int64_t n, int64_t d,
                  const float* out) {
  std::mt19937 g(7);
  double worst = 0;
  for (int s = 0; s < 4096; ++s) {
    int64_t i = int64_t(g() % uint32_t(rows)), k = int64_t(g() % uint32_t(n));
    double exact = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < d; ++j) {
      double u = double(a[i * d + j]) - b[k * d + j];
      exact += u * u, na += double(a[i * d + j]) * a[i * d + j],
          nb += double(b[k * d + j]) * b[k * d + j];
    }
    worst = std::max(worst, std::fabs(out[i * n + k] - exact) / (0x1p-24 * double(d) * (na + nb)));
  }
  return fmt::format("max err {:.3f} units", worst);
}

void study(int64_t m, int64_t n, int64_t d, const Ceilings& c) {
  Generator g(31);
  Tensor at = randn({m, d}, g), bt = randn({n, d}, g);
  const float* a = at.data<float>();
  const float* b = bt.data<float>();
  Tensor outt = Tensor::empty({m, n});
  float* out = outt.data<float>();
  print_header(fmt::format("pairwise squared distances: {} x {} x {} (output {:.0f} MB)", m, n, d,
                           double(m * n * 4) / 1e6));
  const int64_t m1 = std::min<int64_t>(m, 256), m2 = std::min<int64_t>(m, 1024);
  Result r1(fmt::format("v1 reference ({} rows, double)", m1));
  r1.t = time_runs([&] { ref::pairwise_sq_dists(a, m1, b, n, d, out); }, 0, 1);
  r1.flops = 3.0 * double(m1) * double(n) * double(d);
  r1.bytes = double(m1 + n) * double(d) * 4 + double(m1 * n) * 4;
  r1.check = "oracle";
  print_result(r1, c);
  Result r2(fmt::format("v2 direct SIMD ({} rows)", m2));
  r2.t = time_runs([&] { direct(a, m2, b, n, d, out); }, 0, 1);
  r2.flops = 3.0 * double(m2) * double(n) * double(d);
  r2.bytes = double(m2 + n) * double(d) * 4 + double(m2 * n) * 4;
  r2.check = check(a, b, m2, n, d, out);
  print_result(r2, c);
  const double fl = 2.0 * double(m) * double(n) * double(d);
  const double io = double(m + n) * double(d) * 4 + double(m) * double(n) * 4;
  Result r3("v3 GEMM untiled + epilogue pass");
  r3.t = time_runs([&] { untiled(a, m, b, n, d, out); }, 1, 3);
  r3.flops = fl;
  r3.bytes = io + 2.0 * double(m) * double(n) * 4;
  r3.check = check(a, b, m, n, d, out);
  print_result(r3, c);
  for (auto [tr, tc] :
       std::vector<std::pair<int64_t, int64_t>>{{256, 1024}, {1024, 2048}, {2048, 4096}, {m, n}}) {
    Result r4(fmt::format("v4 GEMM tiles {}x{}", tr, tc));
    cpu::PairwiseOptions o;
    o.method = cpu::PairwiseOptions::Method::blas_tiles;
    o.rows = tr, o.cols = tc;
    r4.t =
        time_with_peak([&] { cpu::pairwise_sq_dists(a, m, b, n, d, out, o); }, 1, 3, r4.peak_mib);
    r4.flops = fl;
    r4.bytes = io;
    r4.check = check(a, b, m, n, d, out);
    print_result(r4, c);
  }
  Result r5("v5 fused matmul (engine)");
  r5.t = time_with_peak([&] { cpu::pairwise_sq_dists(a, m, b, n, d, out); }, 1, 5, r5.peak_mib);
  r5.flops = fl;
  r5.bytes = io;
  r5.check = check(a, b, m, n, d, out);
  print_result(r5, c);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  std::vector<std::array<int64_t, 3>> shapes;
  for (int i = 1; i + 2 < argc; i += 3)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1]), std::atoll(argv[i + 2])});
  if (shapes.empty()) shapes = {{10000, 10000, 512}};
  study::Ceilings c = study::measure_ceilings();
  study::print_ceilings(c);
  for (auto [m, n, d] : shapes) study::study(m, n, d, c);
  return 0;
}
