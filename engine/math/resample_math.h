// Bilinear interpolation weights, shared by the CPU and CUDA kernels (PyTorch semantics).
//
// For output index o of an axis resized from `in` to `out` samples:
//   align_corners:  src = o * (in - 1) / (out - 1)
//   otherwise:      src = max((o + 0.5) * in / out - 0.5, 0)
// The sample mixes i0 = floor(src) and i1 = min(i0 + 1, in - 1) with weights (1 - l, l),
// l = src - i0. The backward pass scatters the output gradient with the same weights (CPU), or
// gathers it per input pixel (CUDA, no atomics): along an axis, the outputs whose taps touch
// input i are those o with i0(o) <= i <= i1(o), a contiguous range since both taps are
// non-decreasing in o (bilinear_touching, found by binary search).
#pragma once

#include <cstdint>

#include "engine/hd.h"

namespace sr {

struct BilinearTap {
  int64_t i0, i1;
  float l0, l1;
};

SR_HD BilinearTap bilinear_tap(int64_t o, int64_t in, int64_t out, bool align_corners) {
  float src;
  if (align_corners) {
    src = out > 1 ? float(o) * float(in - 1) / float(out - 1) : 0.f;
  } else {
    src = (float(o) + 0.5f) * float(in) / float(out) - 0.5f;
    if (src < 0.f) src = 0.f;
  }
  int64_t i0 = int64_t(src);
  if (i0 > in - 1) i0 = in - 1;
  int64_t i1 = i0 + 1 < in ? i0 + 1 : in - 1;
  float l1 = src - float(i0);
  return BilinearTap{i0, i1, 1.f - l1, l1};
}

SR_HD float bilinear_sample(const float* plane, int64_t W, const BilinearTap& ty,
                            const BilinearTap& tx) {
  return ty.l0 * (tx.l0 * plane[ty.i0 * W + tx.i0] + tx.l1 * plane[ty.i0 * W + tx.i1]) +
         ty.l1 * (tx.l0 * plane[ty.i1 * W + tx.i0] + tx.l1 * plane[ty.i1 * W + tx.i1]);
}

// Adds g into the four source pixels with the interpolation weights (not atomic).
SR_HD void bilinear_scatter(float* plane, int64_t W, const BilinearTap& ty, const BilinearTap& tx,
                            float g) {
  plane[ty.i0 * W + tx.i0] += ty.l0 * tx.l0 * g;
  plane[ty.i0 * W + tx.i1] += ty.l0 * tx.l1 * g;
  plane[ty.i1 * W + tx.i0] += ty.l1 * tx.l0 * g;
  plane[ty.i1 * W + tx.i1] += ty.l1 * tx.l1 * g;
}

// Weight of input index i in tap t (both taps name the same index at the last sample).
SR_HD float bilinear_tap_weight(const BilinearTap& t, int64_t i) {
  return (t.i0 == i ? t.l0 : 0.f) + (t.i1 == i ? t.l1 : 0.f);
}

// The outputs [*lo, *hi) along an axis of `out` samples whose taps touch input index i.
SR_HD void bilinear_touching(int64_t i, int64_t in, int64_t out, bool align_corners, int64_t* lo,
                             int64_t* hi) {
  int64_t a = 0, b = out;  // first o with i1(o) >= i
  while (a < b) {
    int64_t m = (a + b) / 2;
    if (bilinear_tap(m, in, out, align_corners).i1 >= i)
      b = m;
    else
      a = m + 1;
  }
  *lo = a;
  b = out;  // first o with i0(o) > i
  while (a < b) {
    int64_t m = (a + b) / 2;
    if (bilinear_tap(m, in, out, align_corners).i0 > i)
      b = m;
    else
      a = m + 1;
  }
  *hi = a;
}

// Gradient of input pixel (iy, ix) of an (H, W) plane resized to (OH, OW), gathered from the
// output gradient plane g: sum over touching outputs of wy * wx * g (rows summed first).
SR_HD float bilinear_gather(const float* g, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t iy, int64_t ix, bool align_corners) {
  int64_t y0, y1, x0, x1;
  bilinear_touching(iy, H, OH, align_corners, &y0, &y1);
  bilinear_touching(ix, W, OW, align_corners, &x0, &x1);
  float acc = 0.f;
  for (int64_t oy = y0; oy < y1; ++oy) {
    const float wy = bilinear_tap_weight(bilinear_tap(oy, H, OH, align_corners), iy);
    if (wy == 0.f) continue;
    float row = 0.f;
    for (int64_t ox = x0; ox < x1; ++ox)
      row += bilinear_tap_weight(bilinear_tap(ox, W, OW, align_corners), ix) * g[oy * OW + ox];
    acc += wy * row;
  }
  return acc;
}

}  // namespace sr
