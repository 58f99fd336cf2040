// Kernel study: Winograd convolution for the 3x3 stride-1 padding-1 layers of ResNet-18 (CIFAR
// form, widths 1 and 1/4), forward pass, NHWC, against the engine's direct convolution.
//
// Winograd F(m x m, 3 x 3) computes an m x m output tile from an (m + 2) x (m + 2) input tile
// with (m + 2)^2 multiplications per (input, output channel) pair instead of 9 m^2: 2.25x fewer
// for m = 2. With t = m + 2 and the tile transforms B (t x t), G (t x 3), A (t x m):
//   U[k][c] = G g[k][c] G^T               (filter, t x t per output k and input c)
//   V[c][p] = B^T d[c][p] B                (input tile p, t x t per input channel)
//   M_xi    = V_xi (P x C) . U_xi (C x K)  one GEMM per tile position xi of the t x t grid
//   y[p][k] = A^T M[p][k] A                (m x m outputs)
// Matrices of F(2x2, 3x3) (Lavin & Gray 2016):
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
//
//   oneDNN direct  the engine's convolution (engine/cpu/conv_onednn.cpp): the oracle and the
//                  time to beat (it runs at 90-98% of sgemm on these layers, docs/PERFORMANCE.md)
//   v1 F(2x2,3x3)  transforms as loops over the channels (vectorised by the compiler, tiles
//                  split over the threads), the 16 products as engine GEMMs (OpenBLAS sgemm)
//                  over all tiles at once
//   v2 blocked     the same per block of tiles, each thread taking its block through all three
//                  stages in buffers that stay in its L2 cache
// Effective GFLOP/s count the direct convolution's 2 x 9 x C x K x H x W x N FLOPs, so a version
// above 100% of sgemm does fewer multiplications than the direct form. The check is max |y - y_ref|
// / max |y_ref| against oneDNN (Winograd's rounding grows with the tile: F(2x2) stays near
// float32's direct error). A naive loop checks both on a 2-image slice first.
//
//   bench_kernel_winograd [--repeats R] [--only w1|w4]
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/backend.h"
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

// F(2x2, 3x3) with two schedules. U (16, C, K) is made from w at every call (a layer's weights
// change every step, so the filter transform is part of the cost).
//   v1 (blocked = false): V (16, P, C) and M (16, P, K) for all P tiles in memory, each stage
//      over all tiles (transforms split over the threads, the 16 GEMMs multi-threaded).
//   v2 (blocked = true): the tiles in blocks of B, each thread transforming, multiplying (16
//      single-threaded GEMMs of B x C x K) and back-transforming its block in its own V and M of
//      16 B (C + K) floats, sized to stay in the core's L2 (about 1 MiB).
class WinogradF2 {
 public:
  WinogradF2(int64_t n, int64_t c, int64_t k, int64_t h, bool blocked)
      : C(c),
        K(k),
        H(h),
        T(h / 2),
        P(n * (h / 2) * (h / 2)),
        blocked_(blocked),
        block_(std::clamp<int64_t>((1 << 18) / (16 * (c + k)), 8, 256)),
        U(Tensor::empty({16, C, K})) {
    SR_CHECK_VALUE(h % 2 == 0, "winograd F(2x2): even sizes only, got {}", h);
    if (!blocked_) V = Tensor::empty({16, P, C}), M = Tensor::empty({16, P, K});
  }

  // The buffers made once, before any run (U; V and M of v1), MiB. v2's per-thread blocks are
  // allocated in each run, where the study's peak measurement sees them.
  double preallocated_mib() const {
    const double tiles = blocked_ ? 0.0 : double(P);
    return (16.0 * double(C * K) + 16.0 * tiles * double(C + K)) * 4 / (1 << 20);
  }

  void run(const Tensor& x, const Tensor& w, Tensor& y) {
    filter_transform(w);
    const float* xs = x.data<float>();  // NHWC
    float* ys = y.data<float>();
    if (!blocked_) {
      parallel_for(P, C * 64, [&](int64_t b, int64_t e) {
        input_transform(xs, b, e, V.data<float>() + b * C, P);
      });
      multiply(V, M, P);
      parallel_for(P, K * 32, [&](int64_t b, int64_t e) {
        output_transform(M.data<float>() + b * K, P, b, e, ys);
      });
      return;
    }
    const int64_t blocks = (P + block_ - 1) / block_;
    parallel_for(blocks, block_ * C * K * 32, [&](int64_t b, int64_t e) {
      Tensor v = Tensor::empty({16, block_, C}), m = Tensor::empty({16, block_, K});
      for (int64_t blk = b; blk < e; ++blk) {
        const int64_t p0 = blk * block_, p1 = std::min(P, p0 + block_);
        input_transform(xs, p0, p1, v.data<float>(), block_);
        multiply(v, m, block_);  // inside the parallel region: OpenBLAS runs single-threaded
        output_transform(m.data<float>(), block_, p0, p1, ys);
      }
    });
  }

 private:
  // M_xi (rows x K) = V_xi (rows x C) . U_xi (C x K) for the 16 positions xi.
  void multiply(const Tensor& v, Tensor& m, int64_t rows) {
    for (int64_t xi = 0; xi < 16; ++xi) {
      Tensor vx = v.narrow(0, xi, 1).reshape({rows, C}), u = U.narrow(0, xi, 1).reshape({C, K});
      Tensor mx = m.narrow(0, xi, 1).reshape({rows, K});
      kernels::gemm(Device::cpu, false, false, 1.f, vx, u, 0.f, mx);
    }
  }

  // U = G g G^T for every (k, c), written at U[xi][c][k].
  void filter_transform(const Tensor& w) {
    const float* g = w.data<float>();  // (K, C, 3, 3)
    float* u = U.data<float>();
    parallel_for(K, C * 64, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k)
        for (int64_t c = 0; c < C; ++c) {
          const float* f = g + (k * C + c) * 9;
          float t[4][3];  // G g
          for (int q = 0; q < 3; ++q) {
            t[0][q] = f[q];
            t[1][q] = 0.5f * (f[q] + f[3 + q] + f[6 + q]);
            t[2][q] = 0.5f * (f[q] - f[3 + q] + f[6 + q]);
            t[3][q] = f[6 + q];
          }
          for (int r = 0; r < 4; ++r) {  // (G g) G^T
            const float a = t[r][0], bb = t[r][1], cc = t[r][2];
            const float row[4] = {a, 0.5f * (a + bb + cc), 0.5f * (a - bb + cc), cc};
            for (int q = 0; q < 4; ++q) u[((r * 4 + q) * C + c) * K + k] = row[q];
          }
        }
    });
  }

  // V = B^T d B for tiles p0..p1 and every channel c (vectorised over c): tile p's 16 rows go
  // to v[xi * ld + (p - p0)] (C floats each).
  void input_transform(const float* xs, int64_t p0, int64_t p1, float* v, int64_t ld) const {
    const int64_t W = H;
    std::vector<float> d(16 * size_t(C)), t(16 * size_t(C));
    auto row = [&](std::vector<float>& a, int r, int q) { return &a[size_t((r * 4 + q) * C)]; };
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / (T * T), ti = (p / T) % T, tj = p % T;
      for (int r = 0; r < 4; ++r)
        for (int q = 0; q < 4; ++q) {
          const int64_t i = 2 * ti + r - 1, j = 2 * tj + q - 1;
          float* dst = row(d, r, q);
          if (i < 0 || i >= H || j < 0 || j >= W) {
            std::fill(dst, dst + C, 0.f);
          } else {
            const float* src = xs + ((n * H + i) * W + j) * C;
            std::copy(src, src + C, dst);
          }
        }
      // t = B^T d (rows), then V = t B (columns).
      for (int q = 0; q < 4; ++q) {
        const float *d0 = row(d, 0, q), *d1 = row(d, 1, q), *d2 = row(d, 2, q), *d3 = row(d, 3, q);
        float *t0 = row(t, 0, q), *t1 = row(t, 1, q), *t2 = row(t, 2, q), *t3 = row(t, 3, q);
        for (int64_t c = 0; c < C; ++c) {
          t0[c] = d0[c] - d2[c];
          t1[c] = d1[c] + d2[c];
          t2[c] = d2[c] - d1[c];
          t3[c] = d1[c] - d3[c];
        }
      }
      for (int r = 0; r < 4; ++r) {
        const float *a0 = row(t, r, 0), *a1 = row(t, r, 1), *a2 = row(t, r, 2), *a3 = row(t, r, 3);
        float* o0 = v + ((r * 4 + 0) * ld + (p - p0)) * C;
        float* o1 = v + ((r * 4 + 1) * ld + (p - p0)) * C;
        float* o2 = v + ((r * 4 + 2) * ld + (p - p0)) * C;
        float* o3 = v + ((r * 4 + 3) * ld + (p - p0)) * C;
        for (int64_t c = 0; c < C; ++c) {
          o0[c] = a0[c] - a2[c];
          o1[c] = a1[c] + a2[c];
          o2[c] = a2[c] - a1[c];
          o3[c] = a1[c] - a3[c];
        }
      }
    }
  }

  // y = A^T M A for tiles p0..p1 and every output channel k (vectorised over k), NHWC; tile p's
  // 16 rows are m[xi * ld + (p - p0)] (K floats each).
  void output_transform(const float* m, int64_t ld, int64_t p0, int64_t p1, float* ys) const {
    const int64_t W = H;
    std::vector<float> s(8 * size_t(K));  // A^T M: 2 x 4 rows of K
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / (T * T), ti = (p / T) % T, tj = p % T;
      auto mm = [&](int r, int q) { return m + ((r * 4 + q) * ld + (p - p0)) * K; };
      for (int q = 0; q < 4; ++q) {
        const float *m0 = mm(0, q), *m1 = mm(1, q), *m2 = mm(2, q), *m3 = mm(3, q);
        float *s0 = &s[size_t(q * K)], *s1 = &s[size_t((4 + q) * K)];
        for (int64_t k = 0; k < K; ++k) {
          s0[k] = m0[k] + m1[k] + m2[k];
          s1[k] = m1[k] - m2[k] - m3[k];
        }
      }
      for (int r = 0; r < 2; ++r) {
        const float *a0 = &s[size_t((r * 4 + 0) * K)], *a1 = &s[size_t((r * 4 + 1) * K)],
                    *a2 = &s[size_t((r * 4 + 2) * K)], *a3 = &s[size_t((r * 4 + 3) * K)];
        float* y0 = ys + ((n * H + 2 * ti + r) * W + 2 * tj) * K;
        float* y1 = y0 + K;
        for (int64_t k = 0; k < K; ++k) {
          y0[k] = a0[k] + a1[k] + a2[k];
          y1[k] = a1[k] - a2[k] - a3[k];
        }
      }
    }
  }

  int64_t C, K, H, T, P;
  bool blocked_;
  int64_t block_;
  Tensor U, V, M;
};

Tensor direct(const Tensor& x, const Tensor& w) {
  ConvParams p;
  p.padding[0] = p.padding[1] = 1;
  Tensor y = Tensor::empty({x.size(0), w.size(0), x.size(2), x.size(3)}, DType::f32, Device::cpu,
                           MemoryFormat::channels_last);
  kernels::conv_forward(Device::cpu, x, w, Tensor(), p, y);
  return y;
}

Tensor winograd(WinogradF2& f, const Tensor& x, const Tensor& w) {
  Tensor y = Tensor::empty({x.size(0), w.size(0), x.size(2), x.size(3)}, DType::f32, Device::cpu,
                           MemoryFormat::channels_last);
  f.run(x, w, y);
  return y;
}

void study_layer(const Layer& L, const Ceilings& ceil, int repeats) {
  const MemoryFormat cl = MemoryFormat::channels_last;
  Generator gen(7);
  Tensor x = randn({L.n, L.c, L.h, L.h}, gen).contiguous(cl);
  Tensor w = mul(randn({L.c, L.c, 3, 3}, gen), float(1.0 / std::sqrt(9.0 * double(L.c))));
  const double flops = 2.0 * double(L.n * L.h * L.h) * double(L.c * L.c * 9);
  set_cpu_conv_algorithm(CpuConvAlgorithm::onednn);

  // Every version against the naive loop on two images, then against oneDNN on the batch.
  Tensor xs = x.narrow(0, 0, 2).contiguous(cl);
  const Tensor ref_small = naive_conv(xs, w);
  const Tensor ref = direct(x, w);
  print_header(fmt::format("{} forward (n {})", L.name, L.n));
  std::vector<Result> results;
  std::vector<std::function<void()>> runs;
  Result rd("oneDNN direct");
  rd.flops = flops;
  rd.check = fmt::format("oracle; vs naive {:.1e}", max_rel_diff(direct(xs, w), ref_small));
  time_with_peak([&] { direct(x, w); }, 0, 1, rd.peak_mib);
  results.push_back(rd);
  runs.push_back([&] { direct(x, w); });
  std::vector<std::unique_ptr<WinogradF2>> versions;
  for (bool blocked : {false, true}) {
    WinogradF2 small(2, L.c, L.c, L.h, blocked);
    versions.push_back(std::make_unique<WinogradF2>(L.n, L.c, L.c, L.h, blocked));
    WinogradF2& f = *versions.back();
    Result r(blocked ? "v2 F(2x2,3x3) blocked" : "v1 F(2x2,3x3)");
    r.flops = flops;
    r.check = fmt::format("rel err {:.1e}; vs naive {:.1e}", max_rel_diff(winograd(f, x, w), ref),
                          max_rel_diff(winograd(small, xs, w), ref_small));
    time_with_peak([&] { winograd(f, x, w); }, 0, 1, r.peak_mib);
    r.peak_mib += f.preallocated_mib();
    results.push_back(r);
    runs.push_back([&f, &x, &w] { winograd(f, x, w); });
  }
  time_and_print(results, runs, repeats, ceil);
  set_cpu_conv_algorithm(CpuConvAlgorithm::automatic);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr::study;
  return study_main(argc, argv, "bench_kernel_winograd [--only w1|w4] [--repeats R]", 7,
                    "; extra MiB of v1, v2: their U, V and M buffers",
                    [](const std::string& only, const Ceilings& c, int repeats) {
                      for (const Layer& L : layers(only)) study_layer(L, c, repeats);
                    });
}
