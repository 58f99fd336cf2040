// Bilinear interpolation weights, shared by the CPU and CUDA kernels (PyTorch semantics).
//
// For output index o of an axis resized from `in` to `out` samples:
//   align_corners:  src = o * (in - 1) / (out - 1)
//   otherwise:      src = max((o + 0.5) * in / out - 0.5, 0)
// The sample mixes i0 = floor(src) and i1 = min(i0 + 1, in - 1) with weights (1 - l, l),
// l = src - i0. The backward pass scatters the output gradient with the same weights.
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

}  // namespace sr
