// Kernel study (CUDA): top-k of N scores, score descending, ties by index ascending.
//
//   v1 radix sort       order-preserving 32-bit keys (selection_math.h), then
//                       cub::DeviceRadixSort of (key, index) pairs, descending and stable; the
//                       first k indices are copied back (engine: cuda/topk.cu)
// One version: a full stable radix sort is the simplest exact order on a GPU; selecting before
// sorting pays only for k << N. Check: the k indices equal the CPU reference's. Without a GPU:
// skipped.
//
//   bench_kernel_topk_cuda [N k]...   default: 1000000 1000
#include <cmath>
#include <cstdlib>

#include "bench/kernels/cuda_study.cuh"
#include "engine/cpu/selection_reference.h"
#include "engine/ops.h"
#include "engine/selection.h"

namespace sr::study {
namespace {

void study(int64_t n, int64_t k, const Ceilings& c) {
  Generator g(41);
  Tensor s = rand({n}, g);
  float* sp = s.data<float>();
  for (int64_t i = 0; i < n; ++i) sp[i] = std::round(sp[i] * 1000.f) / 1000.f;  // ties
  const std::vector<int64_t> ref = ref::top_k(sp, n, k);
  Tensor sg = s.to(Device::cuda);
  print_header(fmt::format("top-k (CUDA): {} of {} scores", k, n));
  std::vector<int64_t> got;
  Result r1("v1 radix sort of (key, index) (engine)");
  r1.t = time_gpu([&] { got = top_k(sg, k); }, 2, 10);
  r1.bytes = double(n) * (4 + 2 * 12);  // scores, then keys and indices read + written per pass
  r1.check = got == ref ? "same indices" : "DIFFERENT INDICES";
  print_result(r1, c);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  if (!study::gpu_or_skip("top-k")) return 0;
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int i = 1; i + 1 < argc; i += 2)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1])});
  if (shapes.empty()) shapes = {{1000000, 1000}};
  study::Ceilings c = study::gpu_ceilings();
  for (auto [n, k] : shapes) study::study(n, k, c);
  return 0;
}
