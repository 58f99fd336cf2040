// Kernel study (CUDA): greedy k-center, k of N points in d dimensions from one random center.
//
//   v1 unfused          per pick: a distance kernel (one thread per point, the canonical order
//                       with 16 partial sums in registers), a running-minimum kernel, then the
//                       arg-max by cub::DeviceReduce::ArgMax and a copy of the pick to the host
//   v2 fused            one launch per pick: half-warps compute the canonical distance, update
//                       the minimum and reduce the farthest point; the last block publishes the
//                       pick on the device (engine: cuda/kcenter.cu)
// Both use the canonical distance and tie rule of engine/math/selection_math.h, so the picks
// must equal the CPU reference's (checked on its first 20 picks) and each other's.
// Bytes (model): n (4d + 12) per pick for v1, n (4d + 4) for v2. Without a GPU: skipped.
//
//   bench_kernel_kcenter_cuda [N d k]...   default: 50000 512 1000 and 1000000 64 1000
#include <cub/cub.cuh>

#include <array>
#include <cfloat>
#include <cstdlib>

#include "bench/kernels/cuda_study.cuh"
#include "engine/cpu/selection_reference.h"
#include "engine/ops.h"
#include "engine/selection.h"

namespace sr::study {
namespace {

__global__ void distances(const float* x, int64_t n, int64_t d, int64_t s, float* dist) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dist[i] = sq_dist_canonical(x + i * d, x + s * d, d);
}

__global__ void running_min(float* dmin, const float* dist, int64_t n, int64_t s) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (i == s)
    dmin[i] = -__int_as_float(0x7f800000);
  else if (dist[i] < dmin[i])
    dmin[i] = dist[i];
}

__global__ void fill(float* p, int64_t n, float v) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v;
}

std::vector<int64_t> unfused(const Tensor& xg, int64_t first, int64_t k) {
  const int64_t n = xg.size(0), d = xg.size(1);
  const unsigned blocks = unsigned((n + 255) / 256);
  Tensor dist = Tensor::empty({n}, DType::f32, Device::cuda);
  Tensor dmin = Tensor::empty({n}, DType::f32, Device::cuda);
  Tensor best = Tensor::empty({1}, DType::f32, Device::cuda);
  Tensor arg = Tensor::empty({1}, DType::i64, Device::cuda);
  fill<<<blocks, 256>>>(dmin.data<float>(), n, __builtin_huge_valf());
  CUDA_CHECK_LAUNCH();
  size_t temp_bytes = 0;
  CUDA_CHECK(cub::DeviceReduce::ArgMax(nullptr, temp_bytes, dmin.data<float>(), best.data<float>(),
                                       arg.data<int64_t>(), n));
  Tensor temp = Tensor::empty({int64_t(temp_bytes / 4 + 1)}, DType::i32, Device::cuda);
  std::vector<int64_t> picks{first};
  int64_t s = first;
  while (int64_t(picks.size()) < k) {
    distances<<<blocks, 256>>>(xg.data<float>(), n, d, s, dist.data<float>());
    CUDA_CHECK_LAUNCH();
    running_min<<<blocks, 256>>>(dmin.data<float>(), dist.data<float>(), n, s);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cub::DeviceReduce::ArgMax(temp.data<int32_t>(), temp_bytes, dmin.data<float>(),
                                         best.data<float>(), arg.data<int64_t>(), n));
    s = arg.item<int64_t>();  // host round trip per pick
    picks.push_back(s);
  }
  return picks;
}

void study(int64_t n, int64_t d, int64_t k, const Ceilings& c) {
  Generator g(11);
  Tensor x = randn({n, d}, g);
  Tensor xg = x.to(Device::cuda);
  const int64_t first = Generator(0).randint(n);  // the start kcenter_greedy(seed 0) draws
  const std::vector<int64_t> ref = ref::kcenter_greedy(x.data<float>(), n, d, {first}, 20);
  print_header(fmt::format("k-center (CUDA): {} of {} x {}", k, n, d));
  std::vector<int64_t> p1, p2;
  auto check = [&](const std::vector<int64_t>& p, const std::vector<int64_t>* other) {
    bool ok = std::equal(ref.begin(), ref.end(), p.begin() + 1) && (!other || *other == p);
    return std::string(ok ? "same picks" : "DIFFERENT PICKS");
  };
  Result r1("v1 unfused (3 launches + sync/pick)");
  r1.t = time_gpu([&] { p1 = unfused(xg, first, k); }, 0, 1);
  r1.bytes = double(k) * double(n) * (4.0 * double(d) + 12);
  r1.flops = 3.0 * double(k) * double(n) * double(d);
  r1.check = check(p1, nullptr);
  print_result(r1, c);
  Result r2("v2 fused, one launch per pick (engine)");
  r2.t = time_gpu([&] { p2 = kcenter_greedy(xg, {}, k, 0, 1); }, 1, 3);
  r2.bytes = double(k) * double(n) * (4.0 * double(d) + 4);
  r2.flops = 3.0 * double(k) * double(n) * double(d);
  r2.check = check(p2, &p1);
  print_result(r2, c);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  if (!study::gpu_or_skip("k-center")) return 0;
  std::vector<std::array<int64_t, 3>> shapes;
  for (int i = 1; i + 2 < argc; i += 3)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1]), std::atoll(argv[i + 2])});
  if (shapes.empty()) shapes = {{50000, 512, 1000}, {1000000, 64, 1000}};
  study::Ceilings c = study::gpu_ceilings();
  for (auto [n, d, k] : shapes) study::study(n, d, k, c);
  return 0;
}
