// CUDA uncertainty scores (SPEC section 2; formulas shared with the CPU in
// engine/math/selection_math.h) and the segmentation averaging step.
//
//   scores_kernel        one warp per row of x (N, C): max/min, softmax sums (logits, exp
//                        recomputed from the row, which stays in L1/L2), spread about mu', and
//                        the score in lane 0. Warp reductions by cub::WarpReduce. One launch.
//   pixel_norm_kernel    (N, C, H, W) logits: per pixel max over C and 1 / sum exp
//   class_mean_kernel    one block per (n, c): mean over H x W of exp(x - max) / sum (logits) or
//                        of x, by cub::BlockReduce (fixed order: deterministic)
#include <cub/cub.cuh>

#include <cfloat>

#include "cuda/context.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;  // warps per block, one row each
constexpr int kBlock = 256;

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct MinOp {
  __device__ float operator()(float a, float b) const { return fminf(a, b); }
};

template <bool kLogits, ScoreKind kKind>
__global__ void scores_kernel(const float* __restrict__ x, int64_t n, int64_t c,
                              ScoreConsts<float> k, float* __restrict__ out) {
  using WarpReduce = cub::WarpReduce<float>;
  __shared__ typename WarpReduce::TempStorage tmp[kRowsPerBlock];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + warp;
  if (row >= n) return;  // the whole warp leaves together
  const float* xr = x + row * c;
  auto all_reduce = [&](float v, auto op) {
    float r = WarpReduce(tmp[warp]).Reduce(v, op);
    __syncwarp();
    return __shfl_sync(0xffffffffu, r, 0);
  };
  auto all_sum = [&](float v) {
    float r = WarpReduce(tmp[warp]).Sum(v);
    __syncwarp();
    return __shfl_sync(0xffffffffu, r, 0);
  };
  float M = -FLT_MAX, lo = FLT_MAX;
  for (int64_t i = lane; i < c; i += kWarp) M = fmaxf(M, xr[i]), lo = fminf(lo, xr[i]);
  M = all_reduce(M, MaxOp());
  lo = all_reduce(lo, MinOp());
  const float xm = M;
  float T = 0.f, H = 0.f;
  for (int64_t i = lane; i < c; i += kWarp) {
    if (kLogits) {
      float y = xr[i] - xm, e = expf(y);
      T += e;
      H += e * y;
    } else {
      float v = xr[i];
      T += v;
      if (kKind == ScoreKind::entropy && v >= FLT_MIN) H -= v * logf(v);
    }
  }
  T = all_sum(T);
  if (kKind == ScoreKind::entropy || kLogits) H = all_sum(H);
  if (kLogits) lo = expf(lo - xm), M = 1.f;
  float score;
  if (kKind == ScoreKind::entropy) {
    score = entropy_score(k, M, lo, kLogits ? logf(T) - H / T : H);
  } else {
    const float mu = (T - M) / (k.c - 1.f);
    float dev = 0.f;
    for (int64_t i = lane; i < c; i += kWarp) {
      float u = kLogits ? expf(xr[i] - xm) : xr[i];
      dev += (u - mu) * (u - mu);
    }
    dev = all_sum(dev);
    const float E = excess_from_all(dev, M, mu), scale = kLogits ? 1.f / T : 1.f;
    score = kKind == ScoreKind::sd ? sd_score(k, M, lo, T, E, scale)
                                   : indicator_score(k, M, lo, T, E, scale);
  }
  if (lane == 0) out[row] = score;
}

template <bool kLogits>
void launch_scores(const Tensor& x, const ScoreOptions& opt, Tensor& scores) {
  const int64_t n = x.size(0), c = x.size(1);
  const ScoreConsts<float> k = make_score_consts<float>(c, opt.scaling);
  const unsigned grid = unsigned((n + kRowsPerBlock - 1) / kRowsPerBlock);
  const float* xp = x.data<float>();
  float* op = scores.data<float>();
  switch (opt.kind) {
    case ScoreKind::indicator:
      scores_kernel<kLogits, ScoreKind::indicator><<<grid, kBlock, 0, stream()>>>(xp, n, c, k, op);
      break;
    case ScoreKind::entropy:
      scores_kernel<kLogits, ScoreKind::entropy><<<grid, kBlock, 0, stream()>>>(xp, n, c, k, op);
      break;
    case ScoreKind::sd:
      scores_kernel<kLogits, ScoreKind::sd><<<grid, kBlock, 0, stream()>>>(xp, n, c, k, op);
      break;
  }
  CUDA_CHECK_LAUNCH();
}

void uncertainty_scores_cuda(const Tensor& x, const ScoreOptions& opt, Tensor& scores) {
  if (opt.logits)
    launch_scores<true>(x, opt, scores);
  else
    launch_scores<false>(x, opt, scores);
}

__global__ void pixel_norm_kernel(const float* __restrict__ x, int64_t n, int64_t c, int64_t hw,
                                  float* __restrict__ pmax, float* __restrict__ pinv) {
  const int64_t w = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (w >= n * hw) return;
  const int64_t s = w / hw, p = w % hw;
  const float* xs = x + s * c * hw + p;
  float m = -FLT_MAX, t = 0.f;
  for (int64_t i = 0; i < c; ++i) m = fmaxf(m, xs[i * hw]);
  for (int64_t i = 0; i < c; ++i) t += expf(xs[i * hw] - m);
  pmax[w] = m;
  pinv[w] = 1.f / t;
}

template <bool kLogits>
__global__ void class_mean_kernel(const float* __restrict__ x, int64_t c, int64_t hw,
                                  const float* __restrict__ pmax, const float* __restrict__ pinv,
                                  float* __restrict__ out) {
  using BlockReduce = cub::BlockReduce<float, kBlock>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const int64_t sc = blockIdx.x, s = sc / c;
  const float* xp = x + sc * hw;
  float acc = 0.f;
  for (int64_t p = threadIdx.x; p < hw; p += kBlock)
    acc += kLogits ? expf(xp[p] - pmax[s * hw + p]) * pinv[s * hw + p] : xp[p];
  float total = BlockReduce(tmp).Sum(acc);
  if (threadIdx.x == 0) out[sc] = total / float(hw);
}

void spatial_mean_probs_cuda(const Tensor& x, bool logits, Tensor& out) {
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  const unsigned blocks = unsigned(n * c);
  if (!logits) {
    class_mean_kernel<false><<<blocks, kBlock, 0, stream()>>>(x.data<float>(), c, hw, nullptr,
                                                              nullptr, out.data<float>());
    CUDA_CHECK_LAUNCH();
    return;
  }
  Tensor pmax = Tensor::empty({n * hw}, DType::f32, Device::cuda);
  Tensor pinv = Tensor::empty({n * hw}, DType::f32, Device::cuda);
  pixel_norm_kernel<<<unsigned((n * hw + kBlock - 1) / kBlock), kBlock, 0, stream()>>>(
      x.data<float>(), n, c, hw, pmax.data<float>(), pinv.data<float>());
  CUDA_CHECK_LAUNCH();
  class_mean_kernel<true><<<blocks, kBlock, 0, stream()>>>(
      x.data<float>(), c, hw, pmax.data<float>(), pinv.data<float>(), out.data<float>());
  CUDA_CHECK_LAUNCH();
}

}  // namespace

SR_REGISTER_KERNEL(uncertainty_scores, cuda, uncertainty_scores_cuda);
SR_REGISTER_KERNEL(spatial_mean_probs, cuda, spatial_mean_probs_cuda);

}  // namespace sr::cuda
