// The gather form of the bilinear backward (engine/math/resample_math.h: bilinear_touching,
// bilinear_gather), which the CUDA kernel runs, against the CPU kernel's scatter, on the CPU:
// the same sums in another order, so equal to float rounding (|d| <= 1e-5 + 1e-5 |cpu|).
#include <gtest/gtest.h>

#include <vector>

#include "engine/kernels.h"
#include "engine/math/resample_math.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

TEST(ResampleMath, TouchingRangesAreExactlyTheTapsThatNameAnInput) {
  for (bool align : {false, true})
    for (int64_t in : {1, 2, 3, 5, 8})
      for (int64_t out : {1, 2, 3, 7, 16}) {
        for (int64_t i = 0; i < in; ++i) {
          int64_t lo = 0, hi = 0;
          bilinear_touching(i, in, out, align, &lo, &hi);
          for (int64_t o = 0; o < out; ++o) {
            BilinearTap t = bilinear_tap(o, in, out, align);
            bool names = t.i0 == i || t.i1 == i;
            EXPECT_EQ(names, o >= lo && o < hi)
                << "in " << in << " out " << out << " align " << align << " i " << i << " o " << o;
          }
        }
      }
}

TEST(ResampleMath, GatherBackwardEqualsTheCpuScatter) {
  struct Case {
    int64_t H, W, OH, OW;
  };
  for (bool align : {false, true})
    for (Case c : {Case{5, 7, 11, 16}, Case{5, 7, 3, 4}, Case{4, 4, 1, 1}, Case{1, 3, 4, 9},
                   Case{6, 5, 6, 5}}) {
      Tensor gy = test::random_input({2, 3, c.OH, c.OW}, 50, -1.f, 1.f, false);
      Tensor gx = Tensor::empty({2, 3, c.H, c.W});
      kernels::upsample_bilinear_backward(Device::cpu, gy, align, gx);
      std::vector<float> g = gy.to_vector(), want = gx.to_vector();
      for (int64_t pl = 0; pl < 6; ++pl)
        for (int64_t iy = 0; iy < c.H; ++iy)
          for (int64_t ix = 0; ix < c.W; ++ix) {
            float got =
                bilinear_gather(g.data() + pl * c.OH * c.OW, c.H, c.W, c.OH, c.OW, iy, ix, align);
            float w = want[size_t((pl * c.H + iy) * c.W + ix)];
            EXPECT_NEAR(got, w, 1e-5 + 1e-5 * std::fabs(w))
                << c.H << "x" << c.W << " -> " << c.OH << "x" << c.OW << " align " << align;
          }
    }
}

}  // namespace
}  // namespace sr
