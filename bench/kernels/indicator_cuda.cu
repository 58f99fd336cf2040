// Kernel study (CUDA): the uncertainty indicator (SPEC section 2) over N x C logits, on a GPU.
//
//   v1 thread per row   one thread walks its row three times (max, softmax sums, spread); the
//                       rows of a warp's threads are C floats apart, so loads are uncoalesced
//   v2 warp per row     lanes read consecutive classes (coalesced), cub::WarpReduce, the row
//                       re-read from cache (engine: cuda/indicator.cu)
// Both use the score formulas of engine/math/selection_math.h. Bytes (model): N (C + 1) 4.
// Check: max |score - CPU reference|. Without a GPU the study says so and exits.
//
//   bench_kernel_indicator_cuda [N C]...   default: 1000000 10 and 1000000 100
#include <cfloat>
#include <cmath>
#include <cstdlib>

#include "bench/kernels/cuda_study.cuh"
#include "engine/cpu/selection_reference.h"
#include "engine/ops.h"
#include "engine/selection.h"

namespace sr::study {
namespace {

__global__ void thread_per_row(const float* __restrict__ x, int64_t n, int64_t c,
                               ScoreConsts<float> k, float* __restrict__ out) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  const float* xr = x + r * c;
  float xm = -FLT_MAX, xlo = FLT_MAX;
  for (int64_t i = 0; i < c; ++i) xm = fmaxf(xm, xr[i]), xlo = fminf(xlo, xr[i]);
  float T = 0.f;
  for (int64_t i = 0; i < c; ++i) T += expf(xr[i] - xm);
  const float mu = (T - 1.f) / (k.c - 1.f);
  float dev = 0.f;
  for (int64_t i = 0; i < c; ++i) {
    float u = expf(xr[i] - xm) - mu;
    dev += u * u;
  }
  out[r] = indicator_score(k, 1.f, expf(xlo - xm), T, excess_from_all(dev, 1.f, mu), 1.f / T);
}

void study(int64_t n, int64_t c, const Ceilings& ceil) {
  Generator g(21);
  Tensor x = randn({n, c}, g) * 3.f;
  Tensor xg = x.to(Device::cuda);
  Tensor out = Tensor::empty({n}, DType::f32, Device::cuda);
  std::vector<float> ref(static_cast<size_t>(n));
  ref::uncertainty_scores(x.data<float>(), n, c, {ScoreKind::indicator, true}, ref.data());
  auto max_err = [&](const Tensor& s) {
    std::vector<float> v = s.to_vector();
    double e = 0;
    for (int64_t i = 0; i < n; ++i)
      e = std::max(e, double(std::fabs(v[size_t(i)] - ref[size_t(i)])));
    return fmt::format("max err {:.1e}", e);
  };
  print_header(fmt::format("indicator (CUDA): {} x {} logits", n, c));
  const double bytes = double(n) * double(c + 1) * 4;
  const ScoreConsts<float> k = make_score_consts<float>(c, IndicatorScaling::population);
  Result r1("v1 thread per row");
  r1.t = time_gpu(
      [&] {
        thread_per_row<<<unsigned((n + 255) / 256), 256>>>(xg.data<float>(), n, c, k,
                                                           out.data<float>());
        CUDA_CHECK_LAUNCH();
      },
      2, 10);
  r1.bytes = bytes;
  r1.check = max_err(out);
  print_result(r1, ceil);
  Tensor s2;
  Result r2("v2 warp per row (engine)");
  r2.t = time_gpu([&] { s2 = uncertainty_scores(xg, ScoreKind::indicator, true); }, 2, 10);
  r2.bytes = bytes;
  r2.check = max_err(s2);
  print_result(r2, ceil);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  if (!study::gpu_or_skip("indicator")) return 0;
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int i = 1; i + 1 < argc; i += 2)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1])});
  if (shapes.empty()) shapes = {{1000000, 10}, {1000000, 100}};
  study::Ceilings c = study::gpu_ceilings();
  for (auto [n, k] : shapes) study::study(n, k, c);
  return 0;
}
