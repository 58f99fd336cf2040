// CUDA top-k: the scores become the order-preserving 32-bit keys of
// engine/math/selection_math.h (-0 and +0 share a key; NaN is reported), then
// cub::DeviceRadixSort sorts (key, index) pairs by key descending. The radix sort is stable, so
// equal keys keep ascending indices: the order of the CPU reference. The first k indices are
// copied back.
#include <cub/cub.cuh>

#include "cuda/context.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void keys_kernel(const float* __restrict__ s, int64_t n, uint32_t* __restrict__ keys,
                            int64_t* __restrict__ idx, unsigned long long* first_nan) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float v = s[i];
    if (isnan(v)) atomicMin(first_nan, (unsigned long long)i);
    keys[i] = float_order_key(v);
    idx[i] = i;
  }
}

void top_k_cuda(const Tensor& scores, int64_t k, std::vector<int64_t>& picks) {
  const int64_t n = scores.size(0);
  SR_CHECK_VALUE(n < (int64_t(1) << 31), "top_k: {} scores exceed the 2^31 of the CUDA sort", n);
  Tensor keys = Tensor::empty({2 * n}, DType::i32, Device::cuda);  // in and out
  Tensor idx = Tensor::empty({2 * n}, DType::i64, Device::cuda);
  Tensor flag = Tensor::from_vector(std::vector<int64_t>{n}, {1}, Device::cuda);
  uint32_t* kin = reinterpret_cast<uint32_t*>(keys.data<int32_t>());
  int64_t* iin = idx.data<int64_t>();
  const unsigned grid = unsigned(std::min<int64_t>((n + kBlock - 1) / kBlock, 4096));
  keys_kernel<<<grid, kBlock, 0, stream()>>>(
      scores.data<float>(), n, kin, iin,
      reinterpret_cast<unsigned long long*>(flag.data<int64_t>()));
  CUDA_CHECK_LAUNCH();
  const int64_t bad = flag.item<int64_t>();
  SR_CHECK_VALUE(bad == n, "top_k: score {} is NaN", bad);
  size_t temp_bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(nullptr, temp_bytes, kin, kin + n, iin,
                                                       iin + n, int(n), 0, 32, stream()));
  Tensor temp = Tensor::empty({int64_t(temp_bytes / 4 + 1)}, DType::i32, Device::cuda);
  CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
      temp.data<int32_t>(), temp_bytes, kin, kin + n, iin, iin + n, int(n), 0, 32, stream()));
  picks.resize(size_t(k));
  copy_bytes(picks.data(), Device::cpu, iin + n, Device::cuda, size_t(k) * sizeof(int64_t));
}

}  // namespace

SR_REGISTER_KERNEL(top_k, cuda, top_k_cuda);

}  // namespace sr::cuda
