// Convolution and transposed convolution as matrix products (Caffe's im2col + GEMM), NHWC.
//
// In the geometry of conv_cpu.h (lo: ic x h x w, hi: oc x oh x ow, weight W (oc, ic, kh, kw),
// P = n*oh*ow hi pixels, col = the P x (kh*kw*ic) im2col matrix of lo, W' = W as (oc, kh*kw*ic)):
//   lo -> hi:  hi = col * W'^T                      conv forward, transposed backward-data
//   hi -> lo:  lo = col2im(hi * W')                 conv backward-data, transposed forward
//   weights:   dW' = hi^T * col, dW = W' reordered   both kinds' backward-weights
//   bias:      a sum of the output gradient over its P rows (fixed 1024-row chunks, so the
//              result does not depend on the thread count).
// NHWC makes every im2col row a run of whole pixels (ic contiguous floats per tap), copied with
// memcpy; W is reordered to (oc, kh, kw, ic) to match. The col matrix is built in chunks of rows
// (at most 4M floats), so memory stays bounded whatever the batch. sgemm is OpenBLAS's (its
// OpenMP build, the pool oneDNN and our loops share); the other loops split over rows, images or
// output channels.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/cpu/conv_cpu.h"
#include "engine/parallel.h"

namespace sr::cpu_conv {
namespace {

// The im2col chunk: 4M floats (16 MiB) unless a test sets it (set_gemm_chunk_floats).
constexpr int64_t kDefaultColFloats = int64_t(1) << 22;
std::atomic<int64_t> g_col_floats{kDefaultColFloats};
// Rows per partial sum of the bias gradient.
constexpr int64_t kBiasChunk = 1024;

float* buffer(Tensor& t, int64_t floats) {
  t = Tensor::empty({floats});
  return t.data<float>();
}

bool one_to_one(const GemmGeometry& g) {  // 1x1, stride 1, no padding: col is lo itself
  return g.kh == 1 && g.kw == 1 && g.stride[0] == 1 && g.stride[1] == 1 && g.pad[0] == 0 &&
         g.pad[1] == 0;
}

// Row p of col, for p in [p0, p1), into col + (p - p0) * cols.
void im2col(const GemmGeometry& g, const float* lo, int64_t p0, int64_t p1, float* col) {
  const int64_t cols = g.cols(), plane = g.oh * g.ow;
  parallel_for(p1 - p0, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t p = p0 + r, n = p / plane, oy = (p % plane) / g.ow, ox = p % g.ow;
      float* dst = col + r * cols;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.stride[0] - g.pad[0] + ky * g.dil[0];
        for (int64_t kx = 0; kx < g.kw; ++kx, dst += g.ic) {
          const int64_t ix = ox * g.stride[1] - g.pad[1] + kx * g.dil[1];
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w)
            std::memset(dst, 0, size_t(g.ic) * sizeof(float));
          else
            std::memcpy(dst, lo + ((n * g.h + iy) * g.w + ix) * g.ic, size_t(g.ic) * sizeof(float));
        }
      }
    }
  });
}

// lo[images n0..n1) += col2im(col): each image's taps add into its own pixels, so images run in
// parallel and each in a fixed order.
void col2im_add(const GemmGeometry& g, const float* col, int64_t n0, int64_t n1, float* lo) {
  const int64_t cols = g.cols(), plane = g.oh * g.ow;
  parallel_for(n1 - n0, plane * cols, [&](int64_t b, int64_t e) {
    for (int64_t n = n0 + b; n < n0 + e; ++n) {
      const float* src = col + (n - n0) * plane * cols;
      float* img = lo + n * g.h * g.w * g.ic;
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox)
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.stride[0] - g.pad[0] + ky * g.dil[0];
            for (int64_t kx = 0; kx < g.kw; ++kx, src += g.ic) {
              const int64_t ix = ox * g.stride[1] - g.pad[1] + kx * g.dil[1];
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              float* dst = img + (iy * g.w + ix) * g.ic;
              for (int64_t c = 0; c < g.ic; ++c) dst[c] += src[c];
            }
          }
    }
  });
}

// W (oc, ic, taps) -> W' (oc, taps, ic) and back.
void to_taps_inner(const GemmGeometry& g, const float* w, float* wt) {
  const int64_t taps = g.kh * g.kw;
  parallel_for(g.oc, g.ic * taps, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t i = 0; i < g.ic; ++i)
        for (int64_t t = 0; t < taps; ++t)
          wt[(o * taps + t) * g.ic + i] = w[(o * g.ic + i) * taps + t];
  });
}
void from_taps_inner(const GemmGeometry& g, const float* wt, float* w) {
  const int64_t taps = g.kh * g.kw;
  parallel_for(g.oc, g.ic * taps, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t i = 0; i < g.ic; ++i)
        for (int64_t t = 0; t < taps; ++t)
          w[(o * g.ic + i) * taps + t] = wt[(o * taps + t) * g.ic + i];
  });
}

void lo_to_hi(const GemmGeometry& g, const float* lo, const float* w, float* hi) {
  const int64_t P = g.rows(), cols = g.cols();
  Tensor wt_buf, col_buf;
  float* wt = buffer(wt_buf, g.oc * cols);
  to_taps_inner(g, w, wt);
  if (one_to_one(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(P), int(g.oc), int(cols), 1.f, lo,
                int(cols), wt, int(cols), 0.f, hi, int(g.oc));
    return;
  }
  const int64_t chunk = std::max<int64_t>(1, g_col_floats.load() / cols);
  float* col = buffer(col_buf, std::min(chunk, P) * cols);
  for (int64_t p0 = 0; p0 < P; p0 += chunk) {
    const int64_t p1 = std::min(P, p0 + chunk);
    im2col(g, lo, p0, p1, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(p1 - p0), int(g.oc), int(cols), 1.f,
                col, int(cols), wt, int(cols), 0.f, hi + p0 * g.oc, int(g.oc));
  }
}

void hi_to_lo(const GemmGeometry& g, const float* hi, const float* w, float* lo) {
  const int64_t cols = g.cols(), plane = g.oh * g.ow;
  Tensor wt_buf, col_buf;
  float* wt = buffer(wt_buf, g.oc * cols);
  to_taps_inner(g, w, wt);
  if (one_to_one(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(g.rows()), int(cols), int(g.oc), 1.f,
                hi, int(g.oc), wt, int(cols), 0.f, lo, int(cols));
    return;
  }
  const int64_t images = std::max<int64_t>(1, g_col_floats.load() / (plane * cols));
  float* col = buffer(col_buf, std::min(images, g.n) * plane * cols);
  const int64_t lo_image = g.h * g.w * g.ic;
  for (int64_t n0 = 0; n0 < g.n; n0 += images) {
    const int64_t n1 = std::min(g.n, n0 + images);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int((n1 - n0) * plane), int(cols),
                int(g.oc), 1.f, hi + n0 * plane * g.oc, int(g.oc), wt, int(cols), 0.f, col,
                int(cols));
    std::memset(lo + n0 * lo_image, 0, size_t((n1 - n0) * lo_image) * sizeof(float));
    col2im_add(g, col, n0, n1, lo);
  }
}

void weight_grad(const GemmGeometry& g, const float* lo, const float* hi, float* gw) {
  const int64_t P = g.rows(), cols = g.cols();
  Tensor gwt_buf, col_buf;
  float* gwt = buffer(gwt_buf, g.oc * cols);
  if (one_to_one(g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(g.oc), int(cols), int(P), 1.f, hi,
                int(g.oc), lo, int(cols), 0.f, gwt, int(cols));
  } else {
    const int64_t chunk = std::max<int64_t>(1, g_col_floats.load() / cols);
    float* col = buffer(col_buf, std::min(chunk, P) * cols);
    for (int64_t p0 = 0; p0 < P; p0 += chunk) {
      const int64_t p1 = std::min(P, p0 + chunk);
      im2col(g, lo, p0, p1, col);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(g.oc), int(cols), int(p1 - p0), 1.f,
                  hi + p0 * g.oc, int(g.oc), col, int(cols), p0 == 0 ? 0.f : 1.f, gwt, int(cols));
    }
  }
  from_taps_inner(g, gwt, gw);
}

// y (rows x c, dense) += b per column.
void add_bias(float* y, int64_t rows, int64_t c, const float* b) {
  parallel_for(rows, c, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < c; ++j) y[r * c + j] += b[j];
  });
}

bool dense_nhwc(const Tensor& t) {
  return t.dim() == 4 && t.dtype() == DType::f32 && t.is_contiguous(MemoryFormat::channels_last);
}

GemmGeometry geometry_or_throw(const Tensor& x, const Tensor& w, const Tensor& y,
                               const ConvParams& p, const char* op) {
  GemmGeometry g;
  SR_CHECK_SHAPE(gemm_geometry(x, w, y, p, g),
                 "{}: the GEMM convolution needs dense channels-last tensors within int sizes, "
                 "got {} and {}",
                 op, shape_str(x.shape()), shape_str(y.shape()));
  return g;
}

}  // namespace

void bias_grad(const float* gy, int64_t rows, int64_t c, float* gb) {
  const int64_t chunks = (rows + kBiasChunk - 1) / kBiasChunk;
  std::vector<double> part(size_t(chunks * c), 0.0);
  parallel_for(chunks, kBiasChunk * c, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      double* s = part.data() + k * c;
      for (int64_t r = k * kBiasChunk; r < std::min(rows, (k + 1) * kBiasChunk); ++r)
        for (int64_t j = 0; j < c; ++j) s[j] += double(gy[r * c + j]);
    }
  });
  for (int64_t j = 0; j < c; ++j) {
    double s = 0.0;
    for (int64_t k = 0; k < chunks; ++k) s += part[size_t(k * c + j)];
    gb[j] = float(s);
  }
}

void set_gemm_chunk_floats(int64_t floats) {
  g_col_floats.store(floats > 0 ? floats : kDefaultColFloats);
}

bool gemm_geometry(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                   GemmGeometry& g) {
  if (!dense_nhwc(x) || !dense_nhwc(y) || w.dim() != 4 || !w.is_contiguous()) return false;
  const Tensor& lo = p.transposed ? y : x;
  const Tensor& hi = p.transposed ? x : y;
  g.n = lo.size(0), g.ic = lo.size(1), g.h = lo.size(2), g.w = lo.size(3);
  g.oc = hi.size(1), g.oh = hi.size(2), g.ow = hi.size(3);
  g.kh = w.size(2), g.kw = w.size(3);
  for (int i = 0; i < 2; ++i)
    g.stride[i] = p.stride[i], g.pad[i] = p.padding[i], g.dil[i] = p.dilation[i];
  if (w.size(0) != g.oc || w.size(1) != g.ic) return false;
  // BLAS takes int dimensions and leading dimensions; the col chunk holds at least one row.
  const int64_t limit = INT_MAX;
  return g.rows() <= limit && g.cols() <= limit && g.oc * g.cols() <= limit &&
         g.rows() * std::max(g.oc, g.cols()) <= std::numeric_limits<int64_t>::max() / 4;
}

void gemm_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                  Tensor& y) {
  GemmGeometry g = geometry_or_throw(x, w, y, p, "conv_forward");
  if (p.transposed)
    hi_to_lo(g, x.data<float>(), w.data<float>(), y.data<float>());
  else
    lo_to_hi(g, x.data<float>(), w.data<float>(), y.data<float>());
  if (b.defined())
    add_bias(y.data<float>(), y.size(0) * y.size(2) * y.size(3), y.size(1), b.data<float>());
}

void gemm_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx) {
  GemmGeometry g = geometry_or_throw(gx, w, gy, p, "conv_backward_data");
  if (p.transposed)
    lo_to_hi(g, gy.data<float>(), w.data<float>(), gx.data<float>());
  else
    hi_to_lo(g, gy.data<float>(), w.data<float>(), gx.data<float>());
}

void gemm_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                           Tensor& gb) {
  GemmGeometry g = geometry_or_throw(x, gw, gy, p, "conv_backward_weights");
  const Tensor& lo = p.transposed ? gy : x;
  const Tensor& hi = p.transposed ? x : gy;
  weight_grad(g, lo.data<float>(), hi.data<float>(), gw.data<float>());
  if (gb.defined())
    bias_grad(gy.data<float>(), gy.size(0) * gy.size(2) * gy.size(3), gy.size(1), gb.data<float>());
}

}  // namespace sr::cpu_conv
