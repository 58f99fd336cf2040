// CUDA bilinear resizing (+ backward) and row gather / scatter-add (index_select / index_add).
//
//   upsample_bilinear   x (N, C, H, W) -> y (N, C, OH, OW), contiguous; one thread per output
//                       pixel; weights from engine/math/resample_math.h (bilinear_tap /
//                       bilinear_sample, shared with the CPU).
//   backward            gx[iy, ix] = sum over the outputs whose taps touch (iy, ix) of
//                       wy * wx * gy: a gather (bilinear_gather of resample_math.h, tested
//                       against the CPU's scatter on the CPU), one thread per input pixel, no
//                       atomics, so deterministic in every mode.
//   index_select        out[i] = x[index[i]] along dim 0, any dtype (copied as 4- or 8-byte
//                       words); an index out of range is reported as ValueError (one read back).
//   index_add           gx[index[i]] += gy[i] along dim 0. Default: atomicAdd per element.
//                       deterministic(): (index, i) pairs radix-sorted by index (stable: equal
//                       indices keep their order), then each target row is summed in index
//                       order by one thread per column, no floating-point atomics.
#include <cub/cub.cuh>

#include "cuda/context.h"
#include "engine/backend.h"
#include "engine/kernels.h"
#include "engine/math/resample_math.h"

namespace sr::cuda {
namespace {

#define SR_GRID_STRIDE(i, n)                                                \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

// ---------------------------------------------------------------- bilinear

__global__ void upsample_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t planes,
                                int64_t H, int64_t W, int64_t OH, int64_t OW, bool align) {
  SR_GRID_STRIDE(e, planes * OH * OW) {
    const int64_t ox = e % OW, oy = (e / OW) % OH, pl = e / (OW * OH);
    const BilinearTap ty = bilinear_tap(oy, H, OH, align);
    const BilinearTap tx = bilinear_tap(ox, W, OW, align);
    y[e] = bilinear_sample(x + pl * H * W, W, ty, tx);
  }
}

__global__ void upsample_backward_kernel(const float* __restrict__ gy, float* __restrict__ gx,
                                         int64_t planes, int64_t H, int64_t W, int64_t OH,
                                         int64_t OW, bool align) {
  SR_GRID_STRIDE(e, planes * H * W) {
    const int64_t ix = e % W, iy = (e / W) % H, pl = e / (W * H);
    gx[e] = bilinear_gather(gy + pl * OH * OW, H, W, OH, OW, iy, ix, align);
  }
}

void upsample_bilinear_cuda(const Tensor& x, bool align_corners, Tensor& y) {
  const int64_t planes = x.size(0) * x.size(1);
  const int64_t H = x.size(2), W = x.size(3), OH = y.size(2), OW = y.size(3);
  if (y.numel() == 0) return;
  upsample_kernel<<<grid_for(y.numel()), kThreads, 0, stream()>>>(
      x.data<float>(), y.data<float>(), planes, H, W, OH, OW, align_corners);
  CUDA_CHECK_LAUNCH();
}

void upsample_bilinear_backward_cuda(const Tensor& gy, bool align_corners, Tensor& gx) {
  const int64_t planes = gx.size(0) * gx.size(1);
  const int64_t H = gx.size(2), W = gx.size(3), OH = gy.size(2), OW = gy.size(3);
  if (gx.numel() == 0) return;
  upsample_backward_kernel<<<grid_for(gx.numel()), kThreads, 0, stream()>>>(
      gy.data<float>(), gx.data<float>(), planes, H, W, OH, OW, align_corners);
  CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- index_select / index_add

int64_t row_elems(const Tensor& t) {
  return t.dim() ? t.numel() / std::max<int64_t>(t.size(0), 1) : 1;
}

template <class W>
__global__ void gather_rows_kernel(const W* __restrict__ x, const int64_t* __restrict__ index,
                                   int64_t rows, int64_t row, int64_t n, W* __restrict__ out,
                                   unsigned long long* first_bad) {
  SR_GRID_STRIDE(e, rows * row) {
    const int64_t i = e / row, c = e % row, src = index[i];
    if (src < 0 || src >= n) {
      if (c == 0) atomicMin(first_bad, (unsigned long long)i);
      continue;
    }
    out[e] = x[src * row + c];
  }
}

void index_select_cuda(const Tensor& x, const Tensor& index, Tensor& out) {
  const int64_t rows = index.numel(), n = x.size(0), row = row_elems(x);
  if (rows == 0) return;
  Tensor flag = Tensor::full({1}, double(rows), DType::i64, Device::cuda);
  auto* fp = reinterpret_cast<unsigned long long*>(flag.data<int64_t>());
  const int64_t* ip = index.data<int64_t>();
  if (row > 0) {
    if (dtype_size(x.dtype()) == 8)
      gather_rows_kernel<uint64_t><<<grid_for(rows * row), kThreads, 0, stream()>>>(
          static_cast<const uint64_t*>(x.raw_data()), ip, rows, row, n,
          static_cast<uint64_t*>(out.raw_data()), fp);
    else
      gather_rows_kernel<uint32_t><<<grid_for(rows * row), kThreads, 0, stream()>>>(
          static_cast<const uint32_t*>(x.raw_data()), ip, rows, row, n,
          static_cast<uint32_t*>(out.raw_data()), fp);
    CUDA_CHECK_LAUNCH();
  }
  const int64_t bad = row > 0 ? flag.item<int64_t>() : rows;
  if (bad != rows) {
    const int64_t v = index.reshape({-1}).narrow(0, bad, 1).item<int64_t>();
    SR_CHECK_VALUE(false, "index_select: index {} at position {} out of range [0, {})", v, bad, n);
  }
}

__global__ void index_add_atomic_kernel(const float* __restrict__ gy,
                                        const int64_t* __restrict__ index, int64_t rows,
                                        int64_t row, int64_t n, float* __restrict__ gx) {
  SR_GRID_STRIDE(e, rows * row) {
    const int64_t i = e / row, dst = index[i];
    if (dst >= 0 && dst < n) atomicAdd(gx + dst * row + e % row, gy[e]);
  }
}

// keys: the sorted indices; pos: their positions in the original order (stable).
__global__ void index_add_sorted_kernel(const float* __restrict__ gy,
                                        const int64_t* __restrict__ keys,
                                        const int64_t* __restrict__ pos, int64_t rows, int64_t row,
                                        int64_t n, float* __restrict__ gx) {
  SR_GRID_STRIDE(e, rows * row) {
    const int64_t s = e / row, c = e % row, k = keys[s];
    if (s > 0 && keys[s - 1] == k) continue;  // not the first of its segment
    if (k < 0 || k >= n) continue;
    float acc = 0.f;
    for (int64_t j = s; j < rows && keys[j] == k; ++j) acc += gy[pos[j] * row + c];
    gx[k * row + c] += acc;
  }
}

__global__ void iota_kernel(int64_t* __restrict__ p, int64_t n) {
  SR_GRID_STRIDE(i, n) p[i] = i;
}

void index_add_cuda(const Tensor& gy, const Tensor& index, Tensor& gx) {
  const int64_t rows = index.numel(), row = row_elems(gx), n = gx.size(0);
  if (rows == 0 || row == 0) return;
  const int64_t* ip = index.data<int64_t>();
  if (!deterministic()) {
    index_add_atomic_kernel<<<grid_for(rows * row), kThreads, 0, stream()>>>(
        gy.data<float>(), ip, rows, row, n, gx.data<float>());
    CUDA_CHECK_LAUNCH();
    return;
  }
  SR_CHECK_VALUE(rows < (int64_t(1) << 31), "index_add: {} rows exceed the 2^31 of the CUDA sort",
                 rows);
  Tensor keys = Tensor::empty({rows}, DType::i64, Device::cuda);
  Tensor pos_in = Tensor::empty({rows}, DType::i64, Device::cuda);
  Tensor pos = Tensor::empty({rows}, DType::i64, Device::cuda);
  iota_kernel<<<grid_for(rows), kThreads, 0, stream()>>>(pos_in.data<int64_t>(), rows);
  CUDA_CHECK_LAUNCH();
  // All 64 bits: out-of-range (negative) indices sort consistently and are skipped.
  const int end_bit = 64;
  size_t temp_bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, ip, keys.data<int64_t>(),
                                             pos_in.data<int64_t>(), pos.data<int64_t>(), int(rows),
                                             0, end_bit, stream()));
  Tensor temp = Tensor::empty({int64_t(temp_bytes / 4 + 1)}, DType::i32, Device::cuda);
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.data<int32_t>(), temp_bytes, ip,
                                             keys.data<int64_t>(), pos_in.data<int64_t>(),
                                             pos.data<int64_t>(), int(rows), 0, end_bit, stream()));
  index_add_sorted_kernel<<<grid_for(rows * row), kThreads, 0, stream()>>>(
      gy.data<float>(), keys.data<int64_t>(), pos.data<int64_t>(), rows, row, n, gx.data<float>());
  CUDA_CHECK_LAUNCH();
}

}  // namespace

SR_REGISTER_KERNEL(upsample_bilinear, cuda, upsample_bilinear_cuda);
SR_REGISTER_KERNEL(upsample_bilinear_backward, cuda, upsample_bilinear_backward_cuda);
SR_REGISTER_KERNEL(index_select, cuda, index_select_cuda);
SR_REGISTER_KERNEL(index_add, cuda, index_add_cuda);

}  // namespace sr::cuda
