// CPU kernels for bilinear resizing and row gather/scatter (index_select / index_add); the CUDA
// twins are in cuda/resample_index.cu.
#include <cstring>

#include "engine/kernels.h"
#include "engine/math/resample_math.h"
#include "engine/parallel.h"

namespace sr {
namespace {

void upsample_bilinear_cpu(const Tensor& x, bool align_corners, Tensor& y) {
  int64_t planes = x.size(0) * x.size(1);
  int64_t H = x.size(2), W = x.size(3), OH = y.size(2), OW = y.size(3);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(planes * OH, OW * 8, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      int64_t pl = w / OH, oy = w % OH;
      BilinearTap ty = bilinear_tap(oy, H, OH, align_corners);
      const float* src = xp + pl * H * W;
      float* dst = yp + pl * OH * OW + oy * OW;
      for (int64_t ox = 0; ox < OW; ++ox) {
        BilinearTap tx = bilinear_tap(ox, W, OW, align_corners);
        dst[ox] = bilinear_sample(src, W, ty, tx);
      }
    }
  });
}

void upsample_bilinear_backward_cpu(const Tensor& gy, bool align_corners, Tensor& gx) {
  int64_t planes = gx.size(0) * gx.size(1);
  int64_t H = gx.size(2), W = gx.size(3), OH = gy.size(2), OW = gy.size(3);
  const float* gp = gy.data<float>();
  float* op = gx.data<float>();
  std::memset(op, 0, size_t(gx.numel()) * sizeof(float));
  // One plane per task: the scatter-adds of a plane never race with another plane's.
  parallel_for(planes, OH * OW * 8, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      float* dst = op + pl * H * W;
      const float* src = gp + pl * OH * OW;
      for (int64_t oy = 0; oy < OH; ++oy) {
        BilinearTap ty = bilinear_tap(oy, H, OH, align_corners);
        for (int64_t ox = 0; ox < OW; ++ox) {
          BilinearTap tx = bilinear_tap(ox, W, OW, align_corners);
          bilinear_scatter(dst, W, ty, tx, src[oy * OW + ox]);
        }
      }
    }
  });
}

int64_t row_elems(const Tensor& t) {
  return t.dim() ? t.numel() / std::max<int64_t>(t.size(0), 1) : 1;
}

void index_select_cpu(const Tensor& x, const Tensor& index, Tensor& out) {
  int64_t rows = index.numel(), n = x.size(0), row = row_elems(x);
  const int64_t* ip = index.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i)
    SR_CHECK_VALUE(ip[i] >= 0 && ip[i] < n,
                   "index_select: index {} at position {} out of range [0, {})", ip[i], i, n);
  size_t bytes = size_t(row) * dtype_size(x.dtype());
  const char* xp = static_cast<const char*>(x.raw_data());
  char* op = static_cast<char*>(out.raw_data());
  parallel_for(rows, row, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      std::memcpy(op + size_t(i) * bytes, xp + size_t(ip[i]) * bytes, bytes);
  });
}

void index_add_cpu(const Tensor& gy, const Tensor& index, Tensor& gx) {
  int64_t rows = index.numel(), row = row_elems(gx);
  const int64_t* ip = index.data<int64_t>();
  const float* gp = gy.data<float>();
  float* op = gx.data<float>();
  // Split columns across threads: repeated indices then never race.
  parallel_for(row, rows, [&](int64_t b, int64_t e) {
    for (int64_t i = 0; i < rows; ++i) {
      const float* src = gp + i * row;
      float* dst = op + ip[i] * row;
      for (int64_t c = b; c < e; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace

SR_REGISTER_KERNEL(upsample_bilinear, cpu, upsample_bilinear_cpu);
SR_REGISTER_KERNEL(upsample_bilinear_backward, cpu, upsample_bilinear_backward_cpu);
SR_REGISTER_KERNEL(index_select, cpu, index_select_cpu);
SR_REGISTER_KERNEL(index_add, cpu, index_add_cpu);

}  // namespace sr
