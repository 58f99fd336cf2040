// Kernel study: Winograd convolution for the 3x3 stride-1 padding-1 layers of ResNet-18 (CIFAR
// form, widths 1 and 1/4), NHWC, against the engine's direct convolution: forward,
// backward-data (the forward pass of the rotated filter) and backward-weights (beside the GEMM
// form too, which the AVX2 rule takes there).
//
// Winograd F(m x m, 3 x 3) computes an m x m output tile from an (m + 2) x (m + 2) input tile
// with (m + 2)^2 multiplications per (input, output channel) pair instead of 9 m^2: 2.25x fewer
// for m = 2. The transforms and their matrices are in engine/cpu/conv_winograd.cpp, which holds
// the versions studied here as its two schedules:
//   oneDNN direct  the engine's convolution (engine/cpu/conv_onednn.cpp): the oracle and the
//                  time to beat
//   v1 whole       transforms as loops over the channels (vectorised by the compiler, tiles
//                  split over the threads), the 16 products as sgemms over all tiles (in chunks
//                  of at most 64 MiB of V and M), spread over the threads, each single-threaded
//                  (until 2026-12-04 evening: one multi-threaded sgemm after the other)
//   v2 blocked     the same per block of tiles, each thread taking its block through all three
//                  stages in buffers that stay in its L2 cache
//   v3, v4         v1 and v2 with F(4x4, 3x3): 36 products per 4x4 output tile (4x fewer
//                  multiplications than the direct form), transforms with larger coefficients
// Backward-weights has v1 and v3: the gradient tiles' transform, a^2 sgemms V^T . Z per chunk
// of tiles and the filter's back-transform.
// Effective GFLOP/s count the direct convolution's 2 x 9 x C x K x H x W x N FLOPs, so a version
// above 100% of sgemm does fewer multiplications than the direct form. The check is max |y - y_ref|
// / max |y_ref| against oneDNN (Winograd's rounding grows with the tile: F(2x2) stays near
// float32's direct error, F(4x4) about ten times that). A naive loop checks both on a 2-image slice
// first.
//
//   bench_kernel_winograd [--repeats R] [--only w1|w4]
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/backend.h"
#include "engine/cpu/conv_cpu.h"
#include "engine/kernels.h"
#include "engine/ops.h"
#include "engine/parallel.h"

namespace sr::study {
namespace {

struct Layer {
  std::string name;
  int64_t n, c, h;  // batch, channels (in = out), height = width
};

std::vector<Layer> layers(const std::string& only) {
  std::vector<Layer> v;
  for (int64_t div : {1, 4}) {
    if ((only == "w1" && div != 1) || (only == "w4" && div != 4)) continue;
    int64_t c = 64 / div, hw = 32;
    for (int stage = 0; stage < 4; ++stage, c *= 2, hw /= 2)
      v.push_back(
          {fmt::format("{} {}>{} {}x{}", div == 1 ? "r18" : "r18/4", c, c, hw, hw), 128, c, hw});
  }
  return v;
}

// The direct convolution, one output at a time (NHWC x, w (K, C, 3, 3), y NHWC): the oracle's
// oracle, for a few images.
Tensor naive_conv(const Tensor& x, const Tensor& w) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), K = w.size(0);
  const Tensor xc = x.contiguous(MemoryFormat::channels_last);
  const float* xs = xc.data<float>();  // NHWC in memory
  std::vector<float> ws = w.to_vector();
  Tensor y = Tensor::empty({N, K, H, W}, DType::f32, Device::cpu, MemoryFormat::channels_last);
  float* yp = y.data<float>();
  parallel_for(N * H, W * K * C * 9, [&](int64_t b, int64_t e) {
    for (int64_t nh = b; nh < e; ++nh) {
      const int64_t n = nh / H, i = nh % H;
      for (int64_t j = 0; j < W; ++j)
        for (int64_t k = 0; k < K; ++k) {
          double s = 0;
          for (int64_t r = 0; r < 3; ++r)
            for (int64_t q = 0; q < 3; ++q) {
              const int64_t ii = i + r - 1, jj = j + q - 1;
              if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
              const float* xr = xs + ((n * H + ii) * W + jj) * C;
              for (int64_t c = 0; c < C; ++c)
                s += double(xr[c]) * ws[size_t(((k * C + c) * 3 + r) * 3 + q)];
            }
          yp[((n * H + i) * W + j) * K + k] = float(s);
        }
    }
  });
  return y;
}

ConvParams same_padding() {
  ConvParams p;
  p.padding[0] = p.padding[1] = 1;
  return p;
}

Tensor like(const Tensor& x, int64_t channels) {
  return Tensor::empty({x.size(0), channels, x.size(2), x.size(3)}, DType::f32, Device::cpu,
                       MemoryFormat::channels_last);
}

// The backward-data oracle: conv^T(gy, w) is the convolution of gy with w rotated by 180
// degrees and its two channel axes swapped.
Tensor rotated(const Tensor& w) {
  const int64_t K = w.size(0), C = w.size(1);
  std::vector<float> src = w.to_vector(), dst(src.size());
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c)
      for (int t = 0; t < 9; ++t)
        dst[size_t((c * K + k) * 9 + t)] = src[size_t((k * C + c) * 9 + 8 - t)];
  return Tensor::from_vector(dst, {C, K, 3, 3});
}

// The weight gradient, one weight at a time in double: the naive oracle of backward-weights.
Tensor naive_weight_grad(const Tensor& x, const Tensor& gy) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), K = gy.size(1);
  const Tensor xc = x.contiguous(MemoryFormat::channels_last);
  const Tensor gc = gy.contiguous(MemoryFormat::channels_last);
  const float *xs = xc.data<float>(), *gs = gc.data<float>();
  std::vector<float> gw(size_t(K * C * 9));
  parallel_for(K, N * H * W * C * 9, [&](int64_t b, int64_t e) {
    std::vector<double> acc(size_t(C * 9));
    for (int64_t k = b; k < e; ++k) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < H; ++i)
          for (int64_t j = 0; j < W; ++j) {
            const double g = gs[((n * H + i) * W + j) * K + k];
            for (int r = 0; r < 3; ++r)
              for (int q = 0; q < 3; ++q) {
                const int64_t ii = i + r - 1, jj = j + q - 1;
                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                const float* xr = xs + ((n * H + ii) * W + jj) * C;
                for (int64_t c = 0; c < C; ++c) acc[size_t(c * 9 + r * 3 + q)] += g * xr[c];
              }
          }
      for (int64_t t = 0; t < C * 9; ++t) gw[size_t(k * C * 9 + t)] = float(acc[size_t(t)]);
    }
  });
  return Tensor::from_vector(gw, {K, C, 3, 3});
}

enum class Pass { forward, backward_data, backward_weights };

struct Version {
  std::string name;
  // The pass on (a, b): forward (x, w), backward-data (gy, w), backward-weights (x, gy).
  std::function<Tensor(const Tensor&, const Tensor&)> run;
};

std::vector<Version> versions(Pass pass) {
  using cpu_conv::WinogradSchedule;
  auto wino = [pass](WinogradSchedule s, int tile) {
    return [pass, s, tile](const Tensor& a, const Tensor& b) {
      const ConvParams p = same_padding();
      Tensor y = like(a, a.size(1));
      if (pass == Pass::forward)
        cpu_conv::winograd_forward(a, b, Tensor(), p, y, s, tile);
      else
        cpu_conv::winograd_backward_data(a, b, p, y, s, tile);
      return y;
    };
  };
  if (pass == Pass::backward_weights) {
    auto weights = [](auto kernel) {
      return [kernel](const Tensor& x, const Tensor& gy) {
        const ConvParams p = same_padding();
        Tensor gw = Tensor::empty({gy.size(1), x.size(1), 3, 3});
        Tensor none;
        kernel(x, gy, p, gw, none);
        return gw;
      };
    };
    auto winograd_weights = [](int tile) {
      return [tile](const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                    Tensor& gb) { cpu_conv::winograd_backward_weights(x, gy, p, gw, gb, tile); };
    };
    return {{"oneDNN direct", weights(cpu_conv::onednn_backward_weights)},
            {"im2col + sgemm", weights(cpu_conv::gemm_backward_weights)},
            {"v1 F(2x2,3x3) whole", weights(winograd_weights(2))},
            {"v3 F(4x4,3x3) whole", weights(winograd_weights(4))}};
  }
  auto direct = [pass](const Tensor& a, const Tensor& b) {
    const ConvParams p = same_padding();
    Tensor y = like(a, a.size(1));
    if (pass == Pass::forward)
      cpu_conv::onednn_forward(a, b, Tensor(), p, y);
    else
      cpu_conv::onednn_backward_data(a, b, p, y);
    return y;
  };
  return {{"oneDNN direct", direct},
          {"v1 F(2x2,3x3) whole", wino(WinogradSchedule::whole, 2)},
          {"v2 F(2x2,3x3) blocked", wino(WinogradSchedule::blocked, 2)},
          {"v3 F(4x4,3x3) whole", wino(WinogradSchedule::whole, 4)},
          {"v4 F(4x4,3x3) blocked", wino(WinogradSchedule::blocked, 4)}};
}

void study_pass(const Layer& L, const Ceilings& ceil, int repeats, Pass pass) {
  const MemoryFormat cl = MemoryFormat::channels_last;
  Generator gen(7 + uint64_t(pass));
  Tensor a = randn({L.n, L.c, L.h, L.h}, gen).contiguous(cl);
  Tensor b = pass == Pass::backward_weights
                 ? randn({L.n, L.c, L.h, L.h}, gen).contiguous(cl)
                 : mul(randn({L.c, L.c, 3, 3}, gen), float(1.0 / std::sqrt(9.0 * double(L.c))));
  const double flops = 2.0 * double(L.n * L.h * L.h) * double(L.c * L.c * 9);

  // Every version against the naive loop on two images, then against oneDNN on the batch.
  Tensor as = a.narrow(0, 0, 2).contiguous(cl);
  Tensor bs = pass == Pass::backward_weights ? b.narrow(0, 0, 2).contiguous(cl) : b;
  const Tensor ref_small = pass == Pass::forward         ? naive_conv(as, b)
                           : pass == Pass::backward_data ? naive_conv(as, rotated(b))
                                                         : naive_weight_grad(as, bs);
  const char* names[] = {"forward", "backward-data", "backward-weights"};
  print_header(fmt::format("{} {} (n {})", L.name, names[int(pass)], L.n));
  const std::vector<Version> vs = versions(pass);
  const Tensor ref = vs[0].run(a, b);
  std::vector<Result> results;
  std::vector<std::function<void()>> runs;
  for (const Version& v : vs) {
    Result r(v.name);
    r.flops = flops;
    const double small = max_rel_diff(v.run(as, bs), ref_small);
    r.check = &v == &vs[0] ? fmt::format("oracle; vs naive {:.1e}", small)
                           : fmt::format("rel err {:.1e}; vs naive {:.1e}",
                                         max_rel_diff(v.run(a, b), ref), small);
    time_with_peak([&] { v.run(a, b); }, 0, 1, r.peak_mib);
    results.push_back(r);
    runs.push_back([&v, &a, &b] { v.run(a, b); });
  }
  time_and_print(results, runs, repeats, ceil);
}

void study_layer(const Layer& L, const Ceilings& ceil, int repeats) {
  for (Pass pass : {Pass::forward, Pass::backward_data, Pass::backward_weights})
    study_pass(L, ceil, repeats, pass);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr::study;
  return study_main(argc, argv, "bench_kernel_winograd [--only w1|w4] [--repeats R]", 7,
                    "; extra MiB: the output and the versions' U, V and M buffers",
                    [](const std::string& only, const Ceilings& c, int repeats) {
                      for (const Layer& L : layers(only)) study_layer(L, c, repeats);
                    });
}
