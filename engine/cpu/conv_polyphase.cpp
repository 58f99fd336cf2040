// 4x4 stride-2 padding-1 convolutions and transposed convolutions (the VAE's layers), NHWC
// (conv_cpu.h), as 2x2 stride-1 ones on polyphase components, each by Winograd F(m x m, 2x2),
// m = 2 or 4: forward, backward-data and backward-weights of both kinds.
//
// The relation: a big image B (n, H, W, cb) and a small one S (n, h, w, cs), H = 2h, W = 2w,
// through the weight W (cs, cb, 4, 4) (a convolution's (out, in), a transposed one's (in, out)):
//   down  S[o][s] = sum_{k,b} B[2o - 1 + k][b] W[s][b][k]    conv forward, transposed backward-data
//   up    B[y][b] = sum_{2o - 1 + k = y} S[o][s] W[s][b][k]  transposed forward, conv backward-data
//   grad  dW[s][b][k] = sum_o S[o][s] B[2o - 1 + k][b]       backward-weights of both
// (in 1-d; 2-d takes the same rule on rows and columns). Splitting k = 2d + p:
//   down  S[o] = sum_{p,d} z_p[o + d] W[2d + p] with z_p[i] = B[2i + p - 1]: one 2x2 stride-1
//         convolution of the polyphase image z (h + 1 x w + 1, 4 cb channels: the four (py, px)
//         components side by side) into S; Winograd sums the components inside its K = 4 cb.
//   up    B[2i + q] = sum_d S[i - 1 + q + d] W[3 - q - 2d]: four 2x2 stride-1 convolutions of S
//         (one per output phase (qy, qx), each with its own 2x2 filter), each into every other
//         pixel of B.
//   grad  the weight gradient of down's 2x2 convolution, scattered back to the 4x4 taps.
// Each 2x2 convolution runs as Winograd F(m x m, 2x2) over m x m tiles of the small image
// (a = m + 1; Lavin & Gray 2016, as conv_winograd.cpp for 3x3):
//   U = G g G^T, V = B^T d B, M_xi = V_xi U_xi (a^2 sgemms), y = A^T M A
//   Z = A dY A^T, dU_xi = V_xi^T Z_xi, dg = G^T dU G
// a^2 multiplications per output tile and channel pair instead of 4 m^2: 1.78x fewer for m = 2,
// 2.56x for m = 4. The matrices come from Toom-Cook at the points 0, -1, inf (m = 2) and
// 0, 1, -1, 2, inf (m = 4) (bench/kernels/winograd_matrices.py derives and checks them): float32
// rounding 2.5e-6 and 6.2e-6 relative on 2-d sums of 512 products of normal values (1/2 or -2
// in place of 2: 8.2e-6 and 5.7e-6, no clear gain; F(4x4, 3x3)'s is 1.8e-5).
// One schedule (conv_winograd.cpp's "whole"): chunks of tiles through the three stages, the
// transforms split over the threads, the sgemms (per phase, position and a fixed column part)
// spread over them single-threaded, so that no bit depends on the thread count.
#include <cblas.h>

#include <algorithm>

#include "engine/cpu/conv_cpu.h"
#include "engine/cpu/winograd_transform.h"
#include "engine/parallel.h"

namespace sr::cpu_conv {
namespace {

using namespace winograd;

template <int M>
struct Transforms;
template <>
struct Transforms<2> {  // points 0, -1, inf
  static constexpr Matrix<3, 3> BT{{{1, 1, 0}, {0, 1, 0}, {0, 1, 1}}};
  static constexpr Matrix<3, 2> G{{{1, 0}, {-1, 1}, {0, 1}}};
  static constexpr Matrix<2, 3> AT{{{1, 1, 0}, {0, -1, 1}}};
};
template <>
struct Transforms<4> {  // points 0, 1, -1, 2, inf
  static constexpr Matrix<5, 5> BT{{{2, -1, -2, 1, 0},
                                    {0, -2, -1, 1, 0},
                                    {0, 2, -3, 1, 0},
                                    {0, -1, 0, 1, 0},
                                    {0, 2, -1, -2, 1}}};
  static constexpr Matrix<5, 2> G{
      {{1.f / 2, 0}, {-1.f / 2, -1.f / 2}, {-1.f / 6, 1.f / 6}, {1.f / 6, 1.f / 3}, {0, 1}}};
  static constexpr Matrix<4, 5> AT{
      {{1, 1, 1, 1, 0}, {0, 1, -1, 2, 0}, {0, 1, 1, 4, 0}, {0, 1, -1, 8, 1}}};
};

// F(M x M, 2 x 2): a = M + 1.
template <int M>
using Tile = winograd::Tile<Transforms<M>>;

// The relation's sizes and the tile grid over the small image.
struct Relation {
  int64_t n, h, w, cb, cs;  // B is (n, 2h, 2w, cb), S (n, h, w, cs)
  int m;                    // the output tile
  int64_t th() const { return (h + m - 1) / m; }
  int64_t tw() const { return (w + m - 1) / m; }
  int64_t tiles() const { return n * th() * tw(); }
  int64_t positions() const { return (m + 1) * (m + 1); }
  void origin(int64_t p, int64_t& img, int64_t& i0, int64_t& j0) const {
    img = p / (th() * tw()), i0 = (p / tw()) % th() * m, j0 = p % tw() * m;
  }
  // Pixel (i, j) of image img of B or S (c channels), or null outside it.
  const float* big(const float* b, int64_t img, int64_t i, int64_t j) const {
    return i < 0 || i >= 2 * h || j < 0 || j >= 2 * w ? nullptr
                                                      : b + ((img * 2 * h + i) * 2 * w + j) * cb;
  }
  const float* small(const float* s, int64_t img, int64_t i, int64_t j) const {
    return i < 0 || i >= h || j < 0 || j >= w ? nullptr : s + ((img * h + i) * w + j) * cs;
  }
};

float* floats(Tensor& t, int64_t n) {
  t = Tensor::empty({n});
  return t.data<float>();
}

// The 4x4 tap of sub-filter ph's tap (dy, dx), 0..15, for down and grad (ph = (py, px) of z) and
// for up (ph = the output phase (qy, qx)).
constexpr int down_tap(int ph, int dy, int dx) {
  return (2 * dy + ph / 2) * 4 + 2 * dx + ph % 2;
}
constexpr int up_tap(int ph, int dy, int dx) {
  return (3 - ph / 2 - 2 * dy) * 4 + 3 - ph % 2 - 2 * dx;
}

// U = G g G^T for the four 2x2 sub-filters g_ph(dy, dx) = f[tap(ph, dy, dx)] of each 4x4 filter
// f = filter(r, c) (16 floats) of rows x cols: sub-filter ph's position xi to dst(ph, r) +
// xi * xi_stride + c. 16 columns at once, one sub-filter after the other: a^2 output streams at
// a time (all four at once, 4 a^2 streams, took 1.1-1.3x the layer's time in the study; the
// block's filters stay in L2 between the sub-filters).
template <int M, auto Tap, class Filter, class Dst>
void filter_transform(int64_t rows, int64_t cols, int64_t xi_stride, Filter filter, Dst dst) {
  constexpr int a = Tile<M>::a;
  parallel_channel_blocks(cols, rows * kLanes * 64, [&](int64_t c0, int lanes) {
    for (int ph = 0; ph < 4; ++ph)
      for (int64_t r = 0; r < rows; ++r) {
        float f[4][kLanes] = {};
        for (int l = 0; l < lanes; ++l) {
          const float* src = filter(r, c0 + l);
          for (int t = 0; t < 4; ++t) f[t][l] = src[Tap(ph, t / 2, t % 2)];
        }
        vf g[2][2], out[a][a];
        for (int t = 0; t < 4; ++t) g[t / 2][t % 2] = load(f[t], kLanes);
        sandwich<Tile<M>::G>(g, out);
        float* d = dst(ph, r) + c0;
        for (int xi = 0; xi < a * a; ++xi) store(d + xi * xi_stride, out[xi / a][xi % a], lanes);
      }
  });
}

// grad's dg = G^T dU G, dU (a^2, 4 cb, cs) with row ph * cb + b, scattered to the 4x4 taps of
// dW (cs, cb, 4, 4): 16 columns s at once, one sub-filter after the other (a^2 input streams;
// all four sub-filters of a b at once, 4 a^2 streams, took 1.5x the time on the 512 -> 1024
// layer).
template <int M>
void filter_gradient(int64_t cb, int64_t cs, const float* du, float* dw) {
  constexpr int a = Tile<M>::a;
  const int64_t K = 4 * cb;
  parallel_channel_blocks(cs, cb * kLanes * 64, [&](int64_t c0, int lanes) {
    for (int ph = 0; ph < 4; ++ph)
      for (int64_t i = 0; i < cb; ++i) {
        vf d[a][a], g[2][2];
        for (int xi = 0; xi < a * a; ++xi)
          d[xi / a][xi % a] = load(du + (xi * K + ph * cb + i) * cs + c0, lanes);
        sandwich<Tile<M>::GT>(d, g);
        float f[4][kLanes];
        for (int t = 0; t < 4; ++t) store(f[t], g[t / 2][t % 2], kLanes);
        for (int l = 0; l < lanes; ++l)
          for (int t = 0; t < 4; ++t)
            dw[((c0 + l) * cb + i) * 16 + down_tap(ph, t / 2, t % 2)] = f[t][l];
      }
  });
}

// For tiles p0..p1: the S x S window of virtual pixels from the tile origin, whose segment s
// (seg channels of K = segs * seg) is src(img, i, j, s) (null: zeros), as out = L d L^T (a x a);
// tile p's row xi to out[(xi * ld + p - p0) * K].
template <int M, int S, const auto& L, class Src>
void window_transform(const Relation& r, int64_t p0, int64_t p1, int segs, int64_t seg, Src src,
                      float* out, int64_t ld) {
  constexpr int a = Tile<M>::a;
  const int64_t K = segs * seg;
  for (int64_t p = p0; p < p1; ++p) {
    int64_t img, i0, j0;
    r.origin(p, img, i0, j0);
    float* dst = out + (p - p0) * K;
    for (int s = 0; s < segs; ++s) {
      const float* px[S][S];
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) px[y][x] = src(img, i0 + y, j0 + x, s);
      channel_blocks(seg, [&](int64_t c0, int lanes) {
        vf d[S][S], t[a][a];
        for (int y = 0; y < S; ++y)
          for (int x = 0; x < S; ++x) d[y][x] = load(px[y][x] ? px[y][x] + c0 : nullptr, lanes);
        sandwich<L>(d, t);
        for (int xi = 0; xi < a * a; ++xi)
          store(dst + xi * ld * K + s * seg + c0, t[xi / a][xi % a], lanes);
      });
    }
  }
}

// y = A^T M A (+ bias) for tiles p0..p1 (tile p's a^2 rows m[(xi * ld + p - p0) * N]), pixel
// (i, j) of image img to dst(img, i, j) (N channels), inside the small image's h x w only.
template <int M, class Dst>
void output_transform(const Relation& r, const float* m, int64_t ld, int64_t p0, int64_t p1,
                      int64_t N, const float* bias, Dst dst) {
  constexpr int a = Tile<M>::a;
  for (int64_t p = p0; p < p1; ++p) {
    int64_t img, i0, j0;
    r.origin(p, img, i0, j0);
    const float* src = m + (p - p0) * N;
    channel_blocks(N, [&](int64_t c0, int lanes) {
      vf t[a][a], out[M][M];
      for (int xi = 0; xi < a * a; ++xi) t[xi / a][xi % a] = load(src + xi * ld * N + c0, lanes);
      sandwich<Tile<M>::AT>(t, out);
      const vf b = load(bias ? bias + c0 : nullptr, lanes);
      for (int y = 0; y < M && i0 + y < r.h; ++y)
        for (int x = 0; x < M && j0 + x < r.w; ++x)
          store(dst(img, i0 + y, j0 + x) + c0, out[y][x] + b, lanes);
    });
  }
}

// The column parts each position's sgemm is cut into, fixed by the shape: enough jobs for the
// threads to share evenly (a 3 x 3 grid of positions alone leaves one of two threads a ninth
// idle), parts of at least 128 columns.
int64_t column_parts(int64_t jobs, int64_t N) {
  return jobs >= 16 ? 1 : std::clamp<int64_t>(N / 128, 1, 4);
}

// Runs f(job, c0, c1) for jobs x column parts of N columns, spread over the threads; each call
// makes single-threaded sgemms (OpenBLAS runs one thread inside a parallel region), so every
// product is the same call on any thread count (conv_winograd.cpp's multiply_spread).
template <class F>
void spread(int64_t jobs, int64_t N, int64_t cost, F f) {
  const int64_t parts = column_parts(jobs, N), width = (N + parts - 1) / parts;
  parallel_for(jobs * parts, cost / parts, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t c0 = t % parts * width, c1 = std::min(N, c0 + width);
      if (c0 < c1) f(t / parts, c0, c1);
    }
  });
}

// The floats of V and M (or Z) in one chunk of tiles: winograd_chunk_floats() (conv_cpu.h).
int64_t chunk_tiles(const Relation& r, int64_t floats_per_tile) {
  return std::clamp<int64_t>(winograd_chunk_floats() / floats_per_tile, 1, r.tiles());
}

// `phases` independent 2x2 convolutions over the same tiles: phase q's filter is u + q a^2 K N,
// its input windows in(q, img, i, j, s) (segs segments of seg channels, K = segs * seg), its
// outputs out(q, img, i, j) (N channels).
template <int M, class In, class Out>
void data_pass(const Relation& r, int phases, int segs, int64_t seg, int64_t N, const float* u,
               const float* bias, In in, Out out) {
  const int64_t P = r.tiles(), K = segs * seg, xis = r.positions();
  const int64_t chunk = chunk_tiles(r, phases * xis * (K + N));
  Tensor v_buf, m_buf;
  float* v = floats(v_buf, phases * xis * chunk * K);
  float* m = floats(m_buf, phases * xis * chunk * N);
  for (int64_t c0 = 0; c0 < P; c0 += chunk) {
    const int64_t rows = std::min(P, c0 + chunk) - c0;
    parallel_for(phases * rows, K * 64, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e;) {  // runs of tiles of one phase
        const int q = int(t / rows);
        const int64_t p = t % rows, run = std::min(e - t, rows - p);
        window_transform<M, M + 1, Tile<M>::BT>(
            r, c0 + p, c0 + p + run, segs, seg,
            [&](int64_t img, int64_t i, int64_t j, int s) { return in(q, img, i, j, s); },
            v + (q * xis * chunk + p) * K, chunk);
        t += run;
      }
    });
    spread(phases * xis, N, rows * K * N * 2, [&](int64_t job, int64_t n0, int64_t n1) {
      const int64_t q = job / xis, xi = job % xis;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(n1 - n0), int(K), 1.f,
                  v + (q * xis + xi) * chunk * K, int(K), u + ((q * xis + xi) * K) * N + n0, int(N),
                  0.f, m + (q * xis + xi) * chunk * N + n0, int(N));
    });
    parallel_for(phases * rows, N * 32, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e;) {
        const int q = int(t / rows);
        const int64_t p = t % rows, run = std::min(e - t, rows - p);
        output_transform<M>(r, m + (q * xis * chunk + p) * N, chunk, c0 + p, c0 + p + run, N, bias,
                            [&](int64_t img, int64_t i, int64_t j) { return out(q, img, i, j); });
        t += run;
      }
    });
  }
}

// z's segment s = (py, px) at virtual pixel (i, j): B[2i + py - 1][2j + px - 1], or null.
auto polyphase(const Relation& r, const float* b) {
  return [&r, b](int64_t img, int64_t i, int64_t j, int s) {
    return r.big(b, img, 2 * i + s / 2 - 1, 2 * j + s % 2 - 1);
  };
}

// down: S = the 2x2 convolution of z (K = 4 cb) with g[dy][dx][(py, px, b)][s] = W[s][b][2dy +
// py][2dx + px], plus bias.
template <int M>
void down(const Relation& r, const float* big, const float* wt, const float* bias, float* small) {
  const int64_t cb = r.cb, cs = r.cs, K = 4 * cb;
  Tensor u_buf;
  float* u = floats(u_buf, r.positions() * K * cs);
  filter_transform<M, down_tap>(
      cb, cs, K * cs, [&](int64_t b, int64_t s) { return wt + (s * cb + b) * 16; },
      [&](int ph, int64_t b) { return u + (ph * cb + b) * cs; });
  const auto z = polyphase(r, big);
  data_pass<M>(
      r, 1, 4, cb, cs, u, bias,
      [&](int, int64_t img, int64_t i, int64_t j, int s) { return z(img, i, j, s); },
      [&](int, int64_t img, int64_t i, int64_t j) {
        return small + ((img * r.h + i) * r.w + j) * cs;
      });
}

// up: phase (qy, qx) of B = the 2x2 convolution of S from (i - 1 + qy, j - 1 + qx) with
// g_q[dy][dx][s][b] = W[s][b][3 - qy - 2dy][3 - qx - 2dx], plus bias.
template <int M>
void up(const Relation& r, const float* small, const float* wt, const float* bias, float* big) {
  const int64_t cb = r.cb, cs = r.cs, per_phase = r.positions() * cs * cb;
  Tensor u_buf;
  float* u = floats(u_buf, 4 * per_phase);
  filter_transform<M, up_tap>(
      cs, cb, cs * cb, [&](int64_t s, int64_t b) { return wt + (s * cb + b) * 16; },
      [&](int q, int64_t s) { return u + q * per_phase + s * cb; });
  data_pass<M>(
      r, 4, 1, cs, cb, u, bias,
      [&](int q, int64_t img, int64_t i, int64_t j, int) {
        return r.small(small, img, i - 1 + q / 2, j - 1 + q % 2);
      },
      [&](int q, int64_t img, int64_t i, int64_t j) {
        return big + ((img * 2 * r.h + 2 * i + q / 2) * 2 * r.w + 2 * j + q % 2) * cb;
      });
}

// grad: dW from down's 2x2 convolution: V from z's windows, Z from S's tiles, dU_xi = sum over
// chunks of V_xi^T Z_xi, and G^T dU G scattered to the 4x4 taps.
template <int M>
void grad(const Relation& r, const float* big, const float* small, float* dw) {
  const int64_t P = r.tiles(), cb = r.cb, cs = r.cs, K = 4 * cb, xis = r.positions();
  const int64_t chunk = chunk_tiles(r, xis * (K + cs));
  Tensor du_buf, v_buf, z_buf;
  float* du = floats(du_buf, xis * K * cs);
  float* v = floats(v_buf, xis * chunk * K);
  float* z = floats(z_buf, xis * chunk * cs);
  const auto zb = polyphase(r, big);
  for (int64_t c0 = 0; c0 < P; c0 += chunk) {
    const int64_t rows = std::min(P, c0 + chunk) - c0;
    parallel_for(rows, (K + cs) * 64, [&](int64_t b, int64_t e) {
      window_transform<M, M + 1, Tile<M>::BT>(r, c0 + b, c0 + e, 4, cb, zb, v + b * K, chunk);
      window_transform<M, M, Tile<M>::A>(
          r, c0 + b, c0 + e, 1, cs,
          [&](int64_t img, int64_t i, int64_t j, int) { return r.small(small, img, i, j); },
          z + b * cs, chunk);
    });
    spread(xis, cs, rows * K * cs * 2, [&](int64_t xi, int64_t n0, int64_t n1) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(K), int(n1 - n0), int(rows), 1.f,
                  v + xi * chunk * K, int(K), z + xi * chunk * cs + n0, int(cs),
                  c0 == 0 ? 0.f : 1.f, du + xi * K * cs + n0, int(cs));
    });
  }
  filter_gradient<M>(cb, cs, du, dw);
}

Relation relation(const GemmGeometry& g, int tile) {
  Relation r{g.n, g.oh, g.ow, g.ic, g.oc, 0};
  if (tile == 0) tile = winograd_tile_setting();
  if (tile == 0) tile = polyphase_default_tile(r.h, r.w);
  SR_CHECK_VALUE(tile == 2 || tile == 4,
                 "polyphase Winograd: the output tile must be 2 or 4, got {}", tile);
  r.m = tile;
  return r;
}

GemmGeometry geometry(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                      const char* op) {
  GemmGeometry g;
  SR_CHECK_SHAPE(polyphase_applies(x, w, y, p, g),
                 "{}: polyphase Winograd needs a 4x4 stride-2 padding-1 convolution of dense "
                 "channels-last tensors with an even input, got {} and {}",
                 op, shape_str(x.shape()), shape_str(y.shape()));
  return g;
}

template <class F>
void with_tile(const Relation& r, F f) {
  if (r.m == 4)
    f(std::integral_constant<int, 4>{});
  else
    f(std::integral_constant<int, 2>{});
}

}  // namespace

bool polyphase_applies(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                       GemmGeometry& g) {
  if (!gemm_geometry(x, w, y, p, g)) return false;
  for (int i = 0; i < 2; ++i)
    if (g.stride[i] != 2 || g.pad[i] != 1 || g.dil[i] != 1 || p.output_padding[i] != 0)
      return false;
  return g.kh == 4 && g.kw == 4 && g.h == 2 * g.oh && g.w == 2 * g.ow;
}

void polyphase_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                       Tensor& y, int tile) {
  const GemmGeometry g = geometry(x, w, y, p, "conv_forward");
  const Relation r = relation(g, tile);
  const float* bias = b.defined() ? b.data<float>() : nullptr;
  with_tile(r, [&](auto m) {
    if (p.transposed)
      up<decltype(m)::value>(r, x.data<float>(), w.data<float>(), bias, y.data<float>());
    else
      down<decltype(m)::value>(r, x.data<float>(), w.data<float>(), bias, y.data<float>());
  });
}

void polyphase_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx,
                             int tile) {
  const GemmGeometry g = geometry(gx, w, gy, p, "conv_backward_data");
  const Relation r = relation(g, tile);
  with_tile(r, [&](auto m) {
    if (p.transposed)
      down<decltype(m)::value>(r, gy.data<float>(), w.data<float>(), nullptr, gx.data<float>());
    else
      up<decltype(m)::value>(r, gy.data<float>(), w.data<float>(), nullptr, gx.data<float>());
  });
}

void polyphase_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                                Tensor& gb, int tile) {
  const GemmGeometry g = geometry(x, gw, gy, p, "conv_backward_weights");
  const Relation r = relation(g, tile);
  const Tensor& big = p.transposed ? gy : x;
  const Tensor& small = p.transposed ? x : gy;
  with_tile(r, [&](auto m) {
    grad<decltype(m)::value>(r, big.data<float>(), small.data<float>(), gw.data<float>());
  });
  if (gb.defined())
    bias_grad(gy.data<float>(), gy.size(0) * gy.size(2) * gy.size(3), gy.size(1), gb.data<float>());
}

}  // namespace sr::cpu_conv
