// Kernel study (CUDA): squared Euclidean distances between M and N points of d dimensions.
//
//   v1 naive            one thread per output, the d differences read from global memory
//   v2 tiled            16 x 16 outputs per block; 16-dim slices of the 16 + 16 rows staged in
//                       shared memory, so each global load feeds 16 outputs
//   v3 GEMM identity    cuBLAS sgemm (-2 a b^T) into the output, then one pass adding the norms
//                       and clamping (engine: cuda/pairwise.cu)
// FLOPs: 2 M N d for v3 (3 M N d for the difference forms). Check: largest |out - exact| over
// 4096 sampled entries in units of 2^-24 d (|a|^2 + |b|^2). Without a GPU: skipped.
//
//   bench_kernel_pairwise_cuda [M N d]...   default: 10000 10000 512
#include <array>
#include <cmath>
#include <cstdlib>
#include <random>

#include "bench/kernels/cuda_study.cuh"
#include "engine/ops.h"
#include "engine/selection.h"

namespace sr::study {
namespace {

__global__ void naive(const float* a, const float* b, int64_t m, int64_t n, int64_t d, float* out) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, i = blockIdx.y;
  if (k >= n || i >= m) return;
  float s = 0.f;
  for (int64_t j = 0; j < d; ++j) {
    float u = a[i * d + j] - b[k * d + j];
    s = fmaf(u, u, s);
  }
  out[i * n + k] = s;
}

constexpr int kT = 16;

__global__ void tiled(const float* a, const float* b, int64_t m, int64_t n, int64_t d, float* out) {
  __shared__ float as[kT][kT + 1], bs[kT][kT + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t i = int64_t(blockIdx.y) * kT + ty, k = int64_t(blockIdx.x) * kT + tx;
  const int64_t bi = int64_t(blockIdx.x) * kT + ty;  // row of b this thread stages
  float s = 0.f;
  for (int64_t j0 = 0; j0 < d; j0 += kT) {
    as[ty][tx] = (i < m && j0 + tx < d) ? a[i * d + j0 + tx] : 0.f;
    bs[ty][tx] = (bi < n && j0 + tx < d) ? b[bi * d + j0 + tx] : 0.f;
    __syncthreads();
    for (int j = 0; j < kT; ++j) {
      float u = as[ty][j] - bs[tx][j];
      s = fmaf(u, u, s);
    }
    __syncthreads();
  }
  if (i < m && k < n) out[i * n + k] = s;
}

std::string check(const std::vector<float>& a, const std::vector<float>& b, int64_t m, int64_t n,
                  int64_t d, const Tensor& outg) {
  std::vector<float> out = outg.to_vector();
  std::mt19937 g(7);
  double worst = 0;
  for (int s = 0; s < 4096; ++s) {
    int64_t i = int64_t(g() % uint32_t(m)), k = int64_t(g() % uint32_t(n));
    double exact = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < d; ++j) {
      double u = double(a[size_t(i * d + j)]) - b[size_t(k * d + j)];
      exact += u * u;
      na += double(a[size_t(i * d + j)]) * a[size_t(i * d + j)];
      nb += double(b[size_t(k * d + j)]) * b[size_t(k * d + j)];
    }
    worst = std::max(worst,
                     std::fabs(out[size_t(i * n + k)] - exact) / (0x1p-24 * double(d) * (na + nb)));
  }
  return fmt::format("max err {:.3f} units", worst);
}

void study(int64_t m, int64_t n, int64_t d, const Ceilings& c) {
  Generator g(31);
  Tensor a = randn({m, d}, g), b = randn({n, d}, g);
  std::vector<float> av = a.to_vector(), bv = b.to_vector();
  Tensor ag = a.to(Device::cuda), bg = b.to(Device::cuda);
  Tensor out = Tensor::empty({m, n}, DType::f32, Device::cuda);
  print_header(fmt::format("pairwise (CUDA): {} x {} x {}", m, n, d));
  const double io = double(m + n) * double(d) * 4 + double(m) * double(n) * 4;
  Result r1("v1 naive (thread per output)");
  r1.t = time_gpu(
      [&] {
        naive<<<dim3(unsigned((n + 255) / 256), unsigned(m)), 256>>>(
            ag.data<float>(), bg.data<float>(), m, n, d, out.data<float>());
        CUDA_CHECK_LAUNCH();
      },
      1, 3);
  r1.flops = 3.0 * double(m) * double(n) * double(d);
  r1.bytes = io;
  r1.check = check(av, bv, m, n, d, out);
  print_result(r1, c);
  Result r2("v2 tiled 16x16 (shared memory)");
  r2.t = time_gpu(
      [&] {
        tiled<<<dim3(unsigned((n + kT - 1) / kT), unsigned((m + kT - 1) / kT)), dim3(kT, kT)>>>(
            ag.data<float>(), bg.data<float>(), m, n, d, out.data<float>());
        CUDA_CHECK_LAUNCH();
      },
      1, 3);
  r2.flops = 3.0 * double(m) * double(n) * double(d);
  r2.bytes = io;
  r2.check = check(av, bv, m, n, d, out);
  print_result(r2, c);
  Tensor o3;
  Result r3("v3 cuBLAS + norm epilogue (engine)");
  r3.t = time_gpu([&] { o3 = pairwise_sq_dists(ag, bg); }, 1, 5);
  r3.flops = 2.0 * double(m) * double(n) * double(d);
  r3.bytes = io + 2.0 * double(m) * double(n) * 4;
  r3.check = check(av, bv, m, n, d, o3);
  print_result(r3, c);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  if (!study::gpu_or_skip("pairwise")) return 0;
  std::vector<std::array<int64_t, 3>> shapes;
  for (int i = 1; i + 2 < argc; i += 3)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1]), std::atoll(argv[i + 2])});
  if (shapes.empty()) shapes = {{10000, 10000, 512}};
  study::Ceilings c = study::gpu_ceilings();
  for (auto [m, n, d] : shapes) study::study(m, n, d, c);
  return 0;
}
