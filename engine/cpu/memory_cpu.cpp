// CPU kernels for fill and copy (any strides, any dtype conversion).
//
// copy walks the destination in its own memory order; the common NCHW <-> NHWC conversions are
// blocked transposes of (C, HW) planes so both sides are read and written in cache-sized tiles.
#include <cstring>

#include "engine/kernels.h"
#include "engine/math/op_dispatch.h"
#include "engine/parallel.h"

namespace sr {
namespace {

template <class T>
void fill_typed(Tensor& t, double value) {
  T v = T(value);
  if (t.is_dense()) {
    T* p = static_cast<T*>(t.raw_data());
    parallel_for(t.numel(), 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = v;
    });
    return;
  }
  Tensor tmp = Tensor::full(t.shape(), value, t.dtype());
  kernels::copy(Device::cpu, tmp, t);
}

void fill_cpu(Tensor& t, double value) {
  if (t.numel() == 0) return;
  switch (t.dtype()) {
    case DType::f32:
      fill_typed<float>(t, value);
      break;
    case DType::i32:
      fill_typed<int32_t>(t, value);
      break;
    case DType::i64:
      fill_typed<int64_t>(t, value);
      break;
  }
}

// Drops size-1 dims and merges dims that are contiguous in both src and dst.
void collapse(Shape& shape, Shape& ss, Shape& ds) {
  Shape s2, a2, b2;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!s2.empty() && a2.back() == ss[i] * shape[i] && b2.back() == ds[i] * shape[i]) {
      s2.back() *= shape[i];
      a2.back() = ss[i];
      b2.back() = ds[i];
    } else {
      s2.push_back(shape[i]);
      a2.push_back(ss[i]);
      b2.push_back(ds[i]);
    }
  }
  shape = s2, ss = a2, ds = b2;
}

template <class S, class D>
void copy_strided(const S* src, D* dst, const Shape& shape, const Shape& ss, const Shape& ds) {
  int64_t nd = int64_t(shape.size());
  if (nd == 0) {
    *dst = D(*src);
    return;
  }
  int64_t inner = shape[size_t(nd - 1)], si = ss[size_t(nd - 1)], di = ds[size_t(nd - 1)];
  int64_t outer = shape_numel(shape) / inner;
  parallel_for(outer, inner, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      int64_t so = 0, dof = 0, rem = o;
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t idx = rem % shape[size_t(d)];
        rem /= shape[size_t(d)];
        so += idx * ss[size_t(d)];
        dof += idx * ds[size_t(d)];
      }
      const S* sp = src + so;
      D* dp = dst + dof;
      if (si == 1 && di == 1) {
        for (int64_t i = 0; i < inner; ++i) dp[i] = D(sp[i]);
      } else {
        for (int64_t i = 0; i < inner; ++i) dp[i * di] = D(sp[i * si]);
      }
    }
  });
}

// dst[n][j][i] = src[n][i][j] for planes of R x C, blocked for the cache.
template <class T>
void transpose_planes(const T* src, T* dst, int64_t planes, int64_t rows, int64_t cols) {
  constexpr int64_t B = 32;
  int64_t tiles_r = (rows + B - 1) / B;
  parallel_for(planes * tiles_r, cols * B, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      int64_t n = w / tiles_r, r0 = (w % tiles_r) * B, r1 = std::min(rows, r0 + B);
      const T* s = src + n * rows * cols;
      T* d = dst + n * rows * cols;
      for (int64_t c0 = 0; c0 < cols; c0 += B) {
        int64_t c1 = std::min(cols, c0 + B);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) d[c * rows + r] = s[r * cols + c];
      }
    }
  });
}

template <class S, class D>
void copy_typed(const Tensor& src, Tensor& dst) {
  const S* sp = static_cast<const S*>(src.raw_data());
  D* dp = static_cast<D*>(dst.raw_data());
  if constexpr (std::is_same_v<S, D>) {
    if (src.strides() == dst.strides() && src.is_dense()) {
      std::memcpy(dp, sp, size_t(src.numel()) * sizeof(S));
      return;
    }
    if (src.dim() == 4) {
      int64_t n = src.size(0), c = src.size(1), hw = src.size(2) * src.size(3);
      if (src.is_contiguous() && dst.is_contiguous(MemoryFormat::channels_last)) {
        transpose_planes(sp, dp, n, c, hw);
        return;
      }
      if (src.is_contiguous(MemoryFormat::channels_last) && dst.is_contiguous()) {
        transpose_planes(sp, dp, n, hw, c);
        return;
      }
    }
  }
  Shape shape = src.shape(), ss = src.strides(), ds = dst.strides();
  collapse(shape, ss, ds);
  copy_strided(sp, dp, shape, ss, ds);
}

void copy_cpu(const Tensor& src, Tensor& dst) {
  if (src.numel() == 0) return;
  with_dtype(src.dtype(), [&]<class S>() {
    with_dtype(dst.dtype(), [&]<class D>() { copy_typed<S, D>(src, dst); });
  });
}

}  // namespace

SR_REGISTER_KERNEL(fill, cpu, fill_cpu);
SR_REGISTER_KERNEL(copy, cpu, copy_cpu);

}  // namespace sr
