// CUDA reductions: sum over axes, argmax and running sums over the last dim, softmax /
// log-softmax and their backward, fused cross-entropy (+ backward, ignore index, per-pixel (N, C,
// d...) logits) and global average pooling (+ backward).
//
//   sum          each run of consecutive reduced dims is a (outer, R, inner) block. inner == 1:
//                one block per (row, chunk of R) with cub::BlockReduce; inner > 1: one thread
//                per (row, chunk, column), columns coalesced. Rows longer than one chunk leave
//                partial sums that the same code reduces again. Fixed chunking and fixed
//                reduction trees: deterministic in every mode, no atomics.
//   cumsum       one block per row walking it in tiles of kThreads x kScanItems: cub::BlockScan
//                in double, the running total of the tiles carried by its prefix callback
//                (the CPU accumulates in double too: the float results agree to a rounding).
//   softmax      x viewed as (outer, C, inner) around `dim`. inner == 1: one warp per row
//                (butterfly shuffles, a fixed order); inner > 1: one thread per (outer, inner)
//                column walking C with stride inner (coalesced across the column index).
//                softmax' : gx = y (gy - sum gy y);  log-softmax': gx = gy - exp(y) sum gy.
//   cross-entropy  logits (N, C, d...) = (outer, C, inner); loss = logsumexp - x[target],
//                0 at ignore_index; glogits = scale (softmax - onehot), 0 at ignored positions.
//                Targets out of range are found on the device and reported as ValueError
//                (one 8-byte read back per call).
//   global_avg_pool  y (N, C) = row sums of (N C, HW) (NCHW) or column sums of (N, HW, C)
//                (NHWC) times 1 / HW; backward broadcasts gy / HW in gx's layout.
#include <cub/cub.cuh>

#include <cfloat>
#include <vector>

#include "cuda/context.h"
#include "engine/kernel_shapes.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

#define SR_GRID_STRIDE(i, n)                                                \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

constexpr int kRowChunk = 8192;  // elements of one row summed by one block
constexpr int64_t kTargetThreads = 1 << 16;

// ---------------------------------------------------------------- sum

__global__ void sum_rows_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t R,
                                int64_t chunk, int64_t nchunks) {
  using BlockReduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const int64_t b = blockIdx.x, o = b / nchunks, k = b % nchunks;
  const int64_t r0 = k * chunk, r1 = r0 + chunk < R ? r0 + chunk : R;
  const float* p = x + o * R;
  float acc = 0.f;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += kThreads) acc += p[r];
  float total = BlockReduce(tmp).Sum(acc);
  if (threadIdx.x == 0) out[b] = total;
}

__global__ void sum_cols_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t outer,
                                int64_t R, int64_t inner, int64_t chunk, int64_t nchunks) {
  SR_GRID_STRIDE(w, outer * nchunks * inner) {
    const int64_t i = w % inner, ok = w / inner, k = ok % nchunks, o = ok / nchunks;
    const int64_t r0 = k * chunk, r1 = r0 + chunk < R ? r0 + chunk : R;
    const float* p = x + o * R * inner + i;
    float acc = 0.f;
    for (int64_t r = r0; r < r1; ++r) acc += p[r * inner];
    out[w] = acc;
  }
}

__global__ void fill_f32_kernel(float* __restrict__ p, int64_t n, float v) {
  SR_GRID_STRIDE(i, n) p[i] = v;
}

// dst (outer, inner) = sum over R of src (outer, R, inner).
void reduce_block(const float* src, float* dst, int64_t outer, int64_t R, int64_t inner) {
  const int64_t cols = outer * inner;
  if (cols == 0) return;
  if (R == 0) {
    fill_f32_kernel<<<grid_for(cols), kThreads, 0, stream()>>>(dst, cols, 0.f);
    CUDA_CHECK_LAUNCH();
    return;
  }
  int64_t chunk, nchunks;
  if (inner == 1) {
    chunk = R <= kRowChunk ? R : kRowChunk;
  } else {
    int64_t want = (kTargetThreads + cols - 1) / cols;  // chunks per column to fill the GPU
    int64_t max_chunks = (R + 31) / 32;                 // at least 32 rows per chunk
    want = want < 1 ? 1 : (want > max_chunks ? max_chunks : want);
    chunk = (R + want - 1) / want;
  }
  nchunks = (R + chunk - 1) / chunk;
  Tensor tmp;
  float* out = dst;
  if (nchunks > 1) {
    tmp = Tensor::empty({outer * nchunks * inner}, DType::f32, Device::cuda);
    out = tmp.data<float>();
  }
  if (inner == 1) {
    sum_rows_kernel<<<unsigned(outer * nchunks), kThreads, 0, stream()>>>(src, out, R, chunk,
                                                                          nchunks);
  } else {
    sum_cols_kernel<<<grid_for(outer * nchunks * inner), kThreads, 0, stream()>>>(
        src, out, outer, R, inner, chunk, nchunks);
  }
  CUDA_CHECK_LAUNCH();
  if (nchunks > 1) reduce_block(out, dst, outer, nchunks, inner);
}

void sum_cuda(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out) {
  if (dims.empty()) {
    out.copy_(x);
    return;
  }
  Shape shape = x.shape();
  auto runs = reduced_runs(dims);  // [first, last] each
  Tensor cur;  // intermediate result (keeps its memory alive until the next run is queued)
  const float* src = x.data<float>();
  for (size_t k = runs.size(); k-- > 0;) {
    auto [first, last] = runs[k];
    int64_t outer = 1, R = 1, inner = 1;
    for (int64_t d = 0; d < first; ++d) outer *= shape[size_t(d)];
    for (int64_t d = first; d <= last; ++d) R *= shape[size_t(d)];
    for (int64_t d = last + 1; d < int64_t(shape.size()); ++d) inner *= shape[size_t(d)];
    Tensor next;
    float* dst;
    if (k == 0) {
      dst = out.data<float>();
    } else {
      next = Tensor::empty({outer * inner}, DType::f32, Device::cuda);
      dst = next.data<float>();
    }
    reduce_block(src, dst, outer, R, inner);
    for (int64_t d = first; d <= last; ++d) shape[size_t(d)] = 1;
    cur = next;
    src = dst;
  }
}

// ---------------------------------------------------------------- argmax

// (value, index) a beats b: larger value, or equal value and smaller index (the CPU's first max).
__device__ __forceinline__ bool beats(float a, int64_t ia, float b, int64_t ib) {
  return a > b || (a == b && ia < ib);
}

__global__ void argmax_kernel(const float* __restrict__ x, int64_t rows, int64_t cols,
                              int64_t* __restrict__ out) {
  const int lane = threadIdx.x % 32;
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (row >= rows) return;  // whole warps leave together
  const float* p = x + row * cols;
  float best = -FLT_MAX;
  int64_t bi = cols;  // sentinel: loses to any real element
  for (int64_t c = lane; c < cols; c += 32)
    if (bi == cols || p[c] > best) best = p[c], bi = c;
  for (int off = 16; off > 0; off /= 2) {
    float ob = __shfl_xor_sync(0xffffffffu, best, off);
    int64_t oi = __shfl_xor_sync(0xffffffffu, bi, off);
    if (oi != cols && (bi == cols || beats(ob, oi, best, bi))) best = ob, bi = oi;
  }
  if (lane == 0) out[row] = bi == cols ? 0 : bi;
}

void argmax_lastdim_cuda(const Tensor& x, Tensor& out) {
  const auto [rows, cols] = last_dim_rows(x);
  if (rows == 0) return;
  argmax_kernel<<<unsigned((rows * 32 + kThreads - 1) / kThreads), kThreads, 0, stream()>>>(
      x.data<float>(), rows, cols, out.data<int64_t>());
  CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- cumsum

constexpr int kScanItems = 4;

// The running total of the tiles before the current one (lane 0 of the first warp's value is
// the tile's prefix; every lane of that warp sees the same aggregates and keeps the same total).
struct TilePrefix {
  double total;
  __device__ double operator()(double tile_sum) {
    double before = total;
    total += tile_sum;
    return before;
  }
};

__global__ void cumsum_kernel(const float* __restrict__ x, int64_t cols, bool reverse,
                              float* __restrict__ y) {
  using Scan = cub::BlockScan<double, kThreads>;
  __shared__ typename Scan::TempStorage temp;
  const float* xr = x + int64_t(blockIdx.x) * cols;
  float* yr = y + int64_t(blockIdx.x) * cols;
  TilePrefix prefix{0.0};
  for (int64_t tile = 0; tile < cols; tile += int64_t(kThreads) * kScanItems) {
    double v[kScanItems];
    const int64_t first = tile + int64_t(threadIdx.x) * kScanItems;
    for (int k = 0; k < kScanItems; ++k) {
      const int64_t i = first + k;
      v[k] = i < cols ? double(xr[reverse ? cols - 1 - i : i]) : 0.0;
    }
    Scan(temp).InclusiveSum(v, v, prefix);
    __syncthreads();  // temp is reused by the next tile
    for (int k = 0; k < kScanItems; ++k) {
      const int64_t i = first + k;
      if (i < cols) yr[reverse ? cols - 1 - i : i] = float(v[k]);
    }
  }
}

void cumsum_cuda(const Tensor& x, bool reverse, Tensor& out) {
  const auto [rows, cols] = last_dim_rows(x);
  if (rows == 0) return;
  cumsum_kernel<<<unsigned(rows), kThreads, 0, stream()>>>(x.data<float>(), cols, reverse,
                                                           out.data<float>());
  CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- softmax family

// Reductions over the kLanes threads that share a row (a warp, or one thread).
template <int kLanes>
__device__ __forceinline__ float lanes_max(float v) {
  if constexpr (kLanes > 1)
    for (int off = kLanes / 2; off > 0; off /= 2)
      v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
template <int kLanes>
__device__ __forceinline__ float lanes_sum(float v) {
  if constexpr (kLanes > 1)
    for (int off = kLanes / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// The row this thread works on and its lane; rows = outer * inner, elements C apart by inner.
struct RowPos {
  int64_t row, base;
  int lane;
  bool valid;
};
template <int kLanes>
__device__ __forceinline__ RowPos row_pos(int64_t rows, int64_t C, int64_t inner) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  RowPos r;
  r.row = t / kLanes;
  r.lane = int(t % kLanes);
  r.valid = r.row < rows;
  r.base = r.valid ? (r.row / inner) * C * inner + r.row % inner : 0;
  return r;
}

template <int kLanes>
__device__ __forceinline__ void row_max_sumexp(const float* x, int64_t C, int64_t inner, int lane,
                                               float& m, float& s) {
  m = -INFINITY;
  for (int64_t c = lane; c < C; c += kLanes) m = fmaxf(m, x[c * inner]);
  m = lanes_max<kLanes>(m);
  s = 0.f;
  for (int64_t c = lane; c < C; c += kLanes) s += expf(x[c * inner] - m);
  s = lanes_sum<kLanes>(s);
}

template <int kLanes, bool kLog>
__global__ void softmax_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows,
                               int64_t C, int64_t inner) {
  RowPos r = row_pos<kLanes>(rows, C, inner);
  if (!r.valid) return;  // whole warps leave together (rows are warp-aligned)
  const float* xr = x + r.base;
  float* yr = y + r.base;
  float m, s;
  row_max_sumexp<kLanes>(xr, C, inner, r.lane, m, s);
  if (kLog) {
    const float lse = m + logf(s);
    for (int64_t c = r.lane; c < C; c += kLanes) yr[c * inner] = xr[c * inner] - lse;
  } else {
    const float inv = 1.f / s;
    for (int64_t c = r.lane; c < C; c += kLanes) yr[c * inner] = expf(xr[c * inner] - m) * inv;
  }
}

template <int kLanes, bool kLog>
__global__ void softmax_backward_kernel(const float* __restrict__ y, const float* __restrict__ gy,
                                        float* __restrict__ gx, int64_t rows, int64_t C,
                                        int64_t inner) {
  RowPos r = row_pos<kLanes>(rows, C, inner);
  if (!r.valid) return;
  const float* yr = y + r.base;
  const float* gr = gy + r.base;
  float* o = gx + r.base;
  float s = 0.f;
  for (int64_t c = r.lane; c < C; c += kLanes)
    s += kLog ? gr[c * inner] : gr[c * inner] * yr[c * inner];
  s = lanes_sum<kLanes>(s);
  for (int64_t c = r.lane; c < C; c += kLanes)
    o[c * inner] =
        kLog ? gr[c * inner] - expf(yr[c * inner]) * s : yr[c * inner] * (gr[c * inner] - s);
}

template <int kLanes>
__global__ void cross_entropy_kernel(const float* __restrict__ x, const int64_t* __restrict__ t,
                                     int64_t ignore, float* __restrict__ losses, int64_t rows,
                                     int64_t C, int64_t inner, unsigned long long* first_bad) {
  RowPos r = row_pos<kLanes>(rows, C, inner);
  if (!r.valid) return;
  const int64_t tv = t[r.row];
  const bool ignored = tv == ignore;
  if (!ignored && (tv < 0 || tv >= C)) {
    if (r.lane == 0) atomicMin(first_bad, (unsigned long long)r.row);
    if (r.lane == 0) losses[r.row] = 0.f;
    return;  // uniform over the row's lanes (they share tv)
  }
  if (ignored) {
    if (r.lane == 0) losses[r.row] = 0.f;
    return;
  }
  const float* xr = x + r.base;
  float m, s;
  row_max_sumexp<kLanes>(xr, C, inner, r.lane, m, s);
  if (r.lane == 0) losses[r.row] = m + logf(s) - xr[tv * inner];
}

template <int kLanes>
__global__ void cross_entropy_backward_kernel(const float* __restrict__ x,
                                              const int64_t* __restrict__ t, int64_t ignore,
                                              float scale, float* __restrict__ g, int64_t rows,
                                              int64_t C, int64_t inner) {
  RowPos r = row_pos<kLanes>(rows, C, inner);
  if (!r.valid) return;
  const int64_t tv = t[r.row];
  const float* xr = x + r.base;
  float* gr = g + r.base;
  if (tv == ignore || tv < 0 || tv >= C) {  // out-of-range targets were rejected in forward
    for (int64_t c = r.lane; c < C; c += kLanes) gr[c * inner] = 0.f;
    return;
  }
  float m, s;
  row_max_sumexp<kLanes>(xr, C, inner, r.lane, m, s);
  const float inv = 1.f / s;
  for (int64_t c = r.lane; c < C; c += kLanes) {
    float p = expf(xr[c * inner] - m) * inv * scale;
    gr[c * inner] = c == tv ? p - scale : p;
  }
}

void outer_c_inner(const Shape& s, int64_t dim, int64_t& outer, int64_t& C, int64_t& inner) {
  outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= s[size_t(d)];
  C = s[size_t(dim)];
  for (int64_t d = dim + 1; d < int64_t(s.size()); ++d) inner *= s[size_t(d)];
}

// Blocks for `rows` rows of kLanes threads each.
template <int kLanes>
unsigned row_blocks(int64_t rows) {
  return unsigned((rows * kLanes + kThreads - 1) / kThreads);
}

void softmax_cuda(const Tensor& x, int64_t dim, bool log, Tensor& y) {
  int64_t outer, C, inner;
  outer_c_inner(x.shape(), dim, outer, C, inner);
  const int64_t rows = outer * inner;
  if (rows == 0 || C == 0) return;
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  if (inner == 1) {
    if (log)
      softmax_kernel<32, true><<<row_blocks<32>(rows), kThreads, 0, stream()>>>(xp, yp, rows, C, 1);
    else
      softmax_kernel<32, false>
          <<<row_blocks<32>(rows), kThreads, 0, stream()>>>(xp, yp, rows, C, 1);
  } else {
    if (log)
      softmax_kernel<1, true>
          <<<row_blocks<1>(rows), kThreads, 0, stream()>>>(xp, yp, rows, C, inner);
    else
      softmax_kernel<1, false>
          <<<row_blocks<1>(rows), kThreads, 0, stream()>>>(xp, yp, rows, C, inner);
  }
  CUDA_CHECK_LAUNCH();
}

void softmax_backward_cuda(const Tensor& y, const Tensor& gy, int64_t dim, bool log, Tensor& gx) {
  int64_t outer, C, inner;
  outer_c_inner(y.shape(), dim, outer, C, inner);
  const int64_t rows = outer * inner;
  if (rows == 0 || C == 0) return;
  const float* yp = y.data<float>();
  const float* gp = gy.data<float>();
  float* op = gx.data<float>();
  if (inner == 1) {
    if (log)
      softmax_backward_kernel<32, true>
          <<<row_blocks<32>(rows), kThreads, 0, stream()>>>(yp, gp, op, rows, C, 1);
    else
      softmax_backward_kernel<32, false>
          <<<row_blocks<32>(rows), kThreads, 0, stream()>>>(yp, gp, op, rows, C, 1);
  } else {
    if (log)
      softmax_backward_kernel<1, true>
          <<<row_blocks<1>(rows), kThreads, 0, stream()>>>(yp, gp, op, rows, C, inner);
    else
      softmax_backward_kernel<1, false>
          <<<row_blocks<1>(rows), kThreads, 0, stream()>>>(yp, gp, op, rows, C, inner);
  }
  CUDA_CHECK_LAUNCH();
}

void cross_entropy_cuda(const Tensor& logits, const Tensor& target, int64_t ignore,
                        Tensor& losses) {
  int64_t outer, C, inner;
  outer_c_inner(logits.shape(), 1, outer, C, inner);
  const int64_t rows = outer * inner;
  if (rows == 0) return;
  Tensor flag = Tensor::full({1}, double(rows), DType::i64, Device::cuda);
  auto* fp = reinterpret_cast<unsigned long long*>(flag.data<int64_t>());
  const float* xp = logits.data<float>();
  const int64_t* tp = target.data<int64_t>();
  float* lp = losses.data<float>();
  if (inner == 1)
    cross_entropy_kernel<32>
        <<<row_blocks<32>(rows), kThreads, 0, stream()>>>(xp, tp, ignore, lp, rows, C, 1, fp);
  else
    cross_entropy_kernel<1>
        <<<row_blocks<1>(rows), kThreads, 0, stream()>>>(xp, tp, ignore, lp, rows, C, inner, fp);
  CUDA_CHECK_LAUNCH();
  const int64_t bad = flag.item<int64_t>();
  if (bad != rows) {
    const int64_t tv = target.reshape({-1}).narrow(0, bad, 1).item<int64_t>();
    SR_CHECK_VALUE(false, "cross_entropy: target {} at position {} is out of range for {} classes",
                   tv, bad, C);
  }
}

void cross_entropy_backward_cuda(const Tensor& logits, const Tensor& target, int64_t ignore,
                                 float scale, Tensor& g) {
  int64_t outer, C, inner;
  outer_c_inner(logits.shape(), 1, outer, C, inner);
  const int64_t rows = outer * inner;
  if (rows == 0) return;
  const float* xp = logits.data<float>();
  const int64_t* tp = target.data<int64_t>();
  float* gp = g.data<float>();
  if (inner == 1)
    cross_entropy_backward_kernel<32>
        <<<row_blocks<32>(rows), kThreads, 0, stream()>>>(xp, tp, ignore, scale, gp, rows, C, 1);
  else
    cross_entropy_backward_kernel<1>
        <<<row_blocks<1>(rows), kThreads, 0, stream()>>>(xp, tp, ignore, scale, gp, rows, C, inner);
  CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- global average pooling

__global__ void scale_kernel(float* __restrict__ p, int64_t n, float s) {
  SR_GRID_STRIDE(i, n) p[i] *= s;
}

void global_avg_pool_cuda(const Tensor& x, Tensor& y) {
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  if (N * C == 0) return;
  if (x.is_contiguous())
    reduce_block(x.data<float>(), y.data<float>(), N * C, HW, 1);
  else  // channels_last: (N, HW, C)
    reduce_block(x.data<float>(), y.data<float>(), N, HW, C);
  scale_kernel<<<grid_for(N * C), kThreads, 0, stream()>>>(y.data<float>(), N * C,
                                                           HW ? 1.f / float(HW) : 0.f);
  CUDA_CHECK_LAUNCH();
}

__global__ void global_avg_pool_backward_kernel(const float* __restrict__ gy,
                                                float* __restrict__ gx, int64_t N, int64_t C,
                                                int64_t HW, bool channels_last, float inv) {
  SR_GRID_STRIDE(w, N * C * HW) {
    int64_t n, c;
    if (channels_last) {  // w = (n HW + p) C + c
      c = w % C;
      n = w / (HW * C);
    } else {  // w = (n C + c) HW + p
      c = (w / HW) % C;
      n = w / (HW * C);
    }
    gx[w] = gy[n * C + c] * inv;
  }
}

void global_avg_pool_backward_cuda(const Tensor& gy, Tensor& gx) {
  const int64_t N = gx.size(0), C = gx.size(1), HW = gx.size(2) * gx.size(3);
  if (gx.numel() == 0) return;
  global_avg_pool_backward_kernel<<<grid_for(N * C * HW), kThreads, 0, stream()>>>(
      gy.data<float>(), gx.data<float>(), N, C, HW, !gx.is_contiguous(),
      HW ? 1.f / float(HW) : 0.f);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

SR_REGISTER_KERNEL(sum, cuda, sum_cuda);
SR_REGISTER_KERNEL(argmax_lastdim, cuda, argmax_lastdim_cuda);
SR_REGISTER_KERNEL(cumsum, cuda, cumsum_cuda);
SR_REGISTER_KERNEL(softmax, cuda, softmax_cuda);
SR_REGISTER_KERNEL(softmax_backward, cuda, softmax_backward_cuda);
SR_REGISTER_KERNEL(cross_entropy, cuda, cross_entropy_cuda);
SR_REGISTER_KERNEL(cross_entropy_backward, cuda, cross_entropy_backward_cuda);
SR_REGISTER_KERNEL(global_avg_pool, cuda, global_avg_pool_cuda);
SR_REGISTER_KERNEL(global_avg_pool_backward, cuda, global_avg_pool_backward_cuda);

}  // namespace sr::cuda
