// CUDA greedy k-center: the same picks as the CPU (canonical distance order and tie rule of
// engine/math/selection_math.h), one kernel launch per center added and no host round trip
// until the end.
//
// pass_kernel, for center order[t]: half-warps take points in a grid-stride loop; lane p of a
// half-warp accumulates partial sum p of the canonical order (x_j - c_j for j = p, p+16, ...,
// fma), then the halving tree runs on shuffles (+8, +4, +2, +1): bit-identical to the CPU.
// Each point's running minimum is updated in place; the farthest point of the block is found by
// cub::BlockReduce with the tie rule; the last block to finish (atomic ticket) reduces the
// blocks' candidates, writes the pick to order[t + 1] (when t + 1 is past the initial centers),
// marks it as a center (dmin = -inf) and resets the ticket for the next launch.
#include <cub/cub.cuh>

#include <cfloat>
#include <cstdint>

#include "cuda/context.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int kHalf = 16;

struct Cand {
  float v;
  int64_t i;
};
struct FartherOp {
  __device__ Cand operator()(const Cand& a, const Cand& b) const {
    return farther(a.v, a.i, b.v, b.i) ? a : b;
  }
};

__device__ __forceinline__ float pos_inf() {
  return __int_as_float(0x7f800000);
}

__global__ void init_kernel(float* dmin, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dmin[i] = pos_inf();
}

__global__ void mark_kernel(float* dmin, const int64_t* centers, int64_t count) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) dmin[centers[i]] = -pos_inf();
}

__global__ void finite_kernel(const float* x, int64_t total, int64_t d,
                              unsigned long long* first_bad) {
  for (int64_t w = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; w < total;
       w += int64_t(gridDim.x) * blockDim.x)
    if (!isfinite(x[w])) atomicMin(first_bad, (unsigned long long)(w / d));
}

__global__ void pass_kernel(const float* __restrict__ x, int64_t n, int64_t d, float* dmin,
                            int64_t* order, int64_t t, int64_t initial, Cand* block_best,
                            unsigned* ticket) {
  using BlockReduce = cub::BlockReduce<Cand, kBlock>;
  __shared__ typename BlockReduce::TempStorage tmp;
  __shared__ bool last;
  const int lane = threadIdx.x % kHalf;
  const unsigned mask = (threadIdx.x % 32 < kHalf) ? 0x0000ffffu : 0xffff0000u;
  const int64_t half = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kHalf;
  const int64_t halves = int64_t(gridDim.x) * blockDim.x / kHalf;
  const int64_t s = order[t];
  const float* xs = x + s * d;
  Cand best{-pos_inf(), INT64_MAX};
  for (int64_t i = half; i < n; i += halves) {
    float dm = dmin[i];  // the same value in all 16 lanes
    if (dm > 0.f) {
      const float* xi = x + i * d;
      float acc = 0.f;
      for (int64_t j = lane; j < d; j += kHalf) {
        float u = xi[j] - xs[j];
        acc = fmaf(u, u, acc);
      }
      for (int w = kHalf / 2; w >= 1; w /= 2) acc = acc + __shfl_down_sync(mask, acc, w, kHalf);
      if (lane == 0 && acc < dm) dmin[i] = dm = acc;
    }
    if (lane == 0 && farther(dm, i, best.v, best.i)) best = Cand{dm, i};
  }
  Cand b = BlockReduce(tmp).Reduce(best, FartherOp());
  if (threadIdx.x == 0) {
    block_best[blockIdx.x] = b;
    __threadfence();
    last = atomicAdd(ticket, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  Cand mine{-pos_inf(), INT64_MAX};
  for (unsigned k = threadIdx.x; k < gridDim.x; k += blockDim.x) {
    volatile Cand* vb = block_best + k;
    Cand c{vb->v, vb->i};
    if (farther(c.v, c.i, mine.v, mine.i)) mine = c;
  }
  Cand all = BlockReduce(tmp).Reduce(mine, FartherOp());
  if (threadIdx.x == 0) {
    if (t + 1 >= initial) {
      order[t + 1] = all.i;
      dmin[all.i] = -pos_inf();
    }
    *ticket = 0;
  }
}

// `compact` is not used: the fp32 pass is already bandwidth-cheap on a GPU; O(n) extra memory.
void kcenter_cuda(const Tensor& points, const std::vector<int64_t>& centers, int64_t k,
                  bool /*compact*/, std::vector<int64_t>& picks) {
  const int64_t n = points.size(0), d = points.size(1);
  picks.clear();
  if (k <= 0) return;
  const float* x = points.data<float>();
  Tensor flag = Tensor::from_vector(std::vector<int64_t>{n}, {1}, Device::cuda);
  finite_kernel<<<unsigned(std::min<int64_t>((n * d + kBlock - 1) / kBlock, 4096)), kBlock, 0,
                  stream()>>>(x, n * d, d,
                              reinterpret_cast<unsigned long long*>(flag.data<int64_t>()));
  CUDA_CHECK_LAUNCH();
  const int64_t bad = flag.item<int64_t>();
  SR_CHECK_VALUE(bad == n, "kcenter_greedy: point {} has a non-finite coordinate", bad);

  std::vector<int64_t> seq = centers;
  bool first_is_pick = seq.empty();
  if (first_is_pick) seq.push_back(0);  // no centers: the first pick is point 0
  const int64_t initial = int64_t(seq.size());
  const int64_t total = initial + k - (first_is_pick ? 1 : 0);  // entries of `order`
  std::vector<int64_t> order_host(size_t(total), -1);
  std::copy(seq.begin(), seq.end(), order_host.begin());
  Tensor order = Tensor::from_vector(order_host, {total}, Device::cuda);
  Tensor dmin = Tensor::empty({n}, DType::f32, Device::cuda);
  init_kernel<<<unsigned((n + kBlock - 1) / kBlock), kBlock, 0, stream()>>>(dmin.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  mark_kernel<<<unsigned((initial + kBlock - 1) / kBlock), kBlock, 0, stream()>>>(
      dmin.data<float>(), order.data<int64_t>(), initial);
  CUDA_CHECK_LAUNCH();

  int dev = 0, sms = 1;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int64_t grid =
      std::max<int64_t>(1, std::min<int64_t>((n * kHalf + kBlock - 1) / kBlock, int64_t(sms) * 8));
  Tensor best = Tensor::empty({grid * int64_t(sizeof(Cand) / 4)}, DType::i32, Device::cuda);
  Tensor ticket = Tensor::from_vector(std::vector<int32_t>{0}, {1}, Device::cuda);
  for (int64_t t = 0; t + 1 < total; ++t) {
    pass_kernel<<<unsigned(grid), kBlock, 0, stream()>>>(
        x, n, d, dmin.data<float>(), order.data<int64_t>(), t, initial,
        reinterpret_cast<Cand*>(best.data<int32_t>()),
        reinterpret_cast<unsigned*>(ticket.data<int32_t>()));
    CUDA_CHECK_LAUNCH();
  }
  std::vector<int64_t> all = order.to_vector_as<int64_t>();
  picks.assign(all.begin() + (first_is_pick ? 0 : initial), all.end());
}

}  // namespace

SR_REGISTER_KERNEL(kcenter_greedy, cuda, kcenter_cuda);

}  // namespace sr::cuda
