// Winograd F(m x m, 3x3), m = 2 or 4, for 3x3 stride-1 padding-1 convolutions, NHWC
// (conv_cpu.h): forward, backward-data, backward-weights, and the transposed convolution's three.
//
// An image of cin channels (h x w) maps to one of cout channels (h x w) through a filter
// g(o, i, 3, 3). With the output cut into m x m tiles p (ceil(h/m) x ceil(w/m) per image; a tile
// past the edge reads zeros and writes only its pixels inside), a = m + 2, and the a x a input
// tile d[i][p] around each (Lavin & Gray 2016):
//   U[xi][i][o] = (G g(o, i) G^T)_xi        the filter, a^2 positions xi of an a x a grid
//   V[xi][p][i] = (B^T d[i][p] B)_xi        the input tiles
//   M_xi (P x cout) = V_xi (P x cin) . U_xi (cin x cout)   a^2 sgemms
//   y[p][o] = A^T M[p][o] A                 the m x m outputs (+ bias)
// a^2 multiplications per output tile and channel pair instead of 9 m^2: 2.25x fewer for m = 2,
// 4x fewer for m = 4 (whose transforms have larger coefficients, so larger rounding; the
// matrices are in Transforms below).
//   lo -> hi (conv forward, transposed backward-data): g(o, i) = w[o][i], w (hi, lo, 3, 3)
//   hi -> lo (conv backward-data, transposed forward): g(o, i, r, q) = w[i][o][2 - r][2 - q]
// The weight gradient (both kinds: the products of lo and hi) runs the forward rule backwards:
// with the output-gradient tiles dY[o][p] (m x m, zeros past the edge) and A = (A^T)^T,
//   Z[xi][p][o] = (A dY[o][p] A^T)_xi       dM, the gradient of M
//   dU_xi (cin x cout) = V_xi^T . Z_xi      a^2 sgemms, summed over chunks of tiles
//   dw[o][i] = G^T dU(o, i) G               the 3x3 filter gradient
// Every transform is one rule, out = L in L^T (sandwich below), on 16 channels at a time.
//
// The data passes have two schedules (bench/kernels/winograd.cpp's versions; docs/KERNELS.md):
//   whole    each stage over a chunk of tiles at once (the transforms split over the threads,
//            the a^2 sgemms spread over them, each single-threaded), the chunk's V and M at most
//            64 MiB together; the better one where U is large (deep layers: few tiles, many
//            channels)
//   blocked  each thread takes blocks of tiles through all three stages in buffers of about
//            1 MiB that stay in its L2 (single-threaded sgemms); the better one where the tiles
//            are many
// automatic takes whole when cin * cout >= 256 * 256. The weight gradient runs as whole, its
// chunk set by the shape alone. No result depends on the thread count: a tile's outputs come
// from the same products in the same order on any split, and every sgemm is one single-threaded
// call on operands fixed by the shape (a multi-threaded sgemm's split by the thread count moves
// bits; ConvWinograd.SameBitsOnOneAndTwoThreads).
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/cpu/conv_cpu.h"
#include "engine/cpu/winograd_transform.h"
#include "engine/parallel.h"

namespace sr::cpu_conv {
namespace {

using namespace winograd;

std::atomic<WinogradSchedule> g_schedule{WinogradSchedule::automatic};  // set_winograd_schedule
std::atomic<int> g_tile{0};                                             // set_winograd_tile
// The floats of V and M (or Z) in one chunk of tiles: 16M (64 MiB) unless a test sets it.
constexpr int64_t kDefaultChunkFloats = int64_t(16) << 20;
std::atomic<int64_t> g_chunk_floats{kDefaultChunkFloats};

// ---- The transforms (their machinery: winograd_transform.h) -------------------------------------

template <int M>
struct Transforms;
template <>
struct Transforms<2> {
  static constexpr Matrix<4, 4> BT{{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}};
  static constexpr Matrix<4, 3> G{{{1, 0, 0}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0, 0, 1}}};
  static constexpr Matrix<2, 4> AT{{{1, 1, 1, 0}, {0, 1, -1, -1}}};
};
template <>
struct Transforms<4> {
  static constexpr Matrix<6, 6> BT{{{4, 0, -5, 0, 1, 0},
                                    {0, -4, -4, 1, 1, 0},
                                    {0, 4, -4, -1, 1, 0},
                                    {0, -2, -1, 2, 1, 0},
                                    {0, 2, -1, -2, 1, 0},
                                    {0, 4, 0, -5, 0, 1}}};
  static constexpr Matrix<6, 3> G{{{1.f / 4, 0, 0},
                                   {-1.f / 6, -1.f / 6, -1.f / 6},
                                   {-1.f / 6, 1.f / 6, -1.f / 6},
                                   {1.f / 24, 1.f / 12, 1.f / 6},
                                   {1.f / 24, -1.f / 12, 1.f / 6},
                                   {0, 0, 1}}};
  static constexpr Matrix<4, 6> AT{
      {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};
};

// F(M x M, 3 x 3): a = M + 2.
template <int M>
using Tile = winograd::Tile<Transforms<M>>;

struct Problem {
  int64_t n, h, w, cin, cout;
  int m;  // the output tile
  int64_t th() const { return (h + m - 1) / m; }
  int64_t tw() const { return (w + m - 1) / m; }
  int64_t tiles() const { return n * th() * tw(); }
  int64_t positions() const { return (m + 2) * (m + 2); }
};

// Tiles per chunk of the whole schedule and of the weight gradient: set by the shape alone.
int64_t chunk_tiles(const Problem& pr, int64_t ci, int64_t co) {
  return std::clamp<int64_t>(g_chunk_floats.load() / (pr.positions() * (ci + co)), 1, pr.tiles());
}

// Buffers are engine tensors, so that the allocator's accounting (and its cache) sees them.
float* floats(Tensor& t, int64_t n) {
  t = Tensor::empty({n});
  return t.data<float>();
}

// Pixel (i, j) of image n's c channels, or null outside the image.
const float* pixel(const Problem& pr, const float* x, int64_t c, int64_t n, int64_t i, int64_t j) {
  return i < 0 || i >= pr.h || j < 0 || j >= pr.w ? nullptr : x + ((n * pr.h + i) * pr.w + j) * c;
}

// U (a^2, cin, cout) from the weight, for either relation, into u: 16 output channels at once.
template <int M>
void filter_transform(const Problem& pr, const float* wt, bool flipped, float* u) {
  constexpr int a = Tile<M>::a;
  const int64_t ci = pr.cin, co = pr.cout;
  parallel_channel_blocks(co, ci * kLanes * 64, [&](int64_t o0, int n) {
    for (int64_t i = 0; i < ci; ++i) {
      float f[9][kLanes] = {};
      for (int l = 0; l < n; ++l) {
        const int64_t o = o0 + l;
        for (int k = 0; k < 9; ++k)  // flipped: w (cin, cout, 3, 3) rotated by 180 degrees
          f[k][l] = flipped ? wt[(i * co + o) * 9 + 8 - k] : wt[(o * ci + i) * 9 + k];
      }
      vf g[3][3], t[a][a];
      for (int k = 0; k < 9; ++k) g[k / 3][k % 3] = load(f[k], kLanes);
      sandwich<Tile<M>::G>(g, t);
      for (int xi = 0; xi < a * a; ++xi) store(u + (xi * ci + i) * co + o0, t[xi / a][xi % a], n);
    }
  });
}

// The a^2 rows of tiles p0..p1 of an NHWC image of C channels: for tile p, the S x S window of
// pixels from (tile origin - shift) (zeros past the edges) as d, out = L d L^T (a x a), its row xi
// to out[(xi * ld + p - p0) * C].
template <int M, int S, const auto& L>
void window_transform(const Problem& pr, const float* img, int64_t C, int shift, int64_t p0,
                      int64_t p1, float* out, int64_t ld) {
  constexpr int a = Tile<M>::a;
  const int64_t th = pr.th(), tw = pr.tw();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / (th * tw), i0 = (p / tw) % th * M - shift, j0 = p % tw * M - shift;
    const float* src[S][S];
    for (int r = 0; r < S; ++r)
      for (int q = 0; q < S; ++q) src[r][q] = pixel(pr, img, C, n, i0 + r, j0 + q);
    float* dst = out + (p - p0) * C;
    channel_blocks(C, [&](int64_t c0, int lanes) {
      vf d[S][S], t[a][a];
      for (int r = 0; r < S; ++r)
        for (int q = 0; q < S; ++q) d[r][q] = load(src[r][q] ? src[r][q] + c0 : nullptr, lanes);
      sandwich<L>(d, t);
      for (int xi = 0; xi < a * a; ++xi) store(dst + xi * ld * C + c0, t[xi / a][xi % a], lanes);
    });
  }
}

// V = B^T d B: the a x a input tiles around each output tile, cin channels.
template <int M>
void input_transform(const Problem& pr, const float* x, int64_t p0, int64_t p1, float* v,
                     int64_t ld) {
  window_transform<M, Tile<M>::a, Tile<M>::BT>(pr, x, pr.cin, 1, p0, p1, v, ld);
}

// y = A^T M A + bias for tiles p0..p1; tile p's a^2 rows are m[(xi * ld + p - p0) * cout].
template <int M>
void output_transform(const Problem& pr, const float* m, int64_t ld, int64_t p0, int64_t p1,
                      const float* bias, float* y) {
  constexpr int a = Tile<M>::a;
  const int64_t K = pr.cout, th = pr.th(), tw = pr.tw();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / (th * tw), i0 = (p / tw) % th * M, j0 = p % tw * M;
    const float* src = m + (p - p0) * K;
    channel_blocks(K, [&](int64_t c0, int lanes) {
      vf t[a][a], out[M][M];
      for (int xi = 0; xi < a * a; ++xi) t[xi / a][xi % a] = load(src + xi * ld * K + c0, lanes);
      sandwich<Tile<M>::AT>(t, out);
      const vf b = load(bias + c0, lanes);
      for (int r = 0; r < M && i0 + r < pr.h; ++r)
        for (int q = 0; q < M && j0 + q < pr.w; ++q)
          store(y + ((n * pr.h + i0 + r) * pr.w + j0 + q) * K + c0, out[r][q] + b, lanes);
    });
  }
}

// Z = A dY A^T: the M x M tiles of the output gradient dy (NHWC, cout channels), rows as V's.
template <int M>
void gradient_transform(const Problem& pr, const float* dy, int64_t p0, int64_t p1, float* z,
                        int64_t ld) {
  window_transform<M, M, Tile<M>::A>(pr, dy, pr.cout, 0, p0, p1, z, ld);
}

// dw[o][i] = G^T dU(o, i) G for every (o, i), dU (a^2, cin, cout), dw (cout, cin, 3, 3).
template <int M>
void filter_gradient(const Problem& pr, const float* du, float* dw) {
  constexpr int a = Tile<M>::a;
  const int64_t ci = pr.cin, co = pr.cout;
  parallel_channel_blocks(co, ci * kLanes * 64, [&](int64_t o0, int n) {
    for (int64_t i = 0; i < ci; ++i) {
      vf d[a][a], g[3][3];
      for (int xi = 0; xi < a * a; ++xi) d[xi / a][xi % a] = load(du + (xi * ci + i) * co + o0, n);
      sandwich<Tile<M>::GT>(d, g);
      float f[9][kLanes];
      for (int k = 0; k < 9; ++k) store(f[k], g[k / 3][k % 3], kLanes);
      for (int l = 0; l < n; ++l)
        for (int k = 0; k < 9; ++k) dw[((o0 + l) * ci + i) * 9 + k] = f[k][l];
    }
  });
}

// dw of the relation lo (cin channels) -> hi (cout channels): chunks of tiles of a size set by
// the shape alone (V and Z at most 64 MiB together), each chunk's a^2 sgemms added into dU.
template <int M>
void weight_gradient(const Problem& pr, const float* lo, const float* hi, float* dw) {
  const int64_t P = pr.tiles(), ci = pr.cin, co = pr.cout, xis = pr.positions();
  const int64_t chunk = chunk_tiles(pr, ci, co);
  Tensor du_buf, v_buf, z_buf;
  float* du = floats(du_buf, xis * ci * co);
  float* v = floats(v_buf, xis * chunk * ci);
  float* z = floats(z_buf, xis * chunk * co);
  for (int64_t c0 = 0; c0 < P; c0 += chunk) {
    const int64_t c1 = std::min(P, c0 + chunk), rows = c1 - c0;
    parallel_for(rows, (ci + co) * 64, [&](int64_t b, int64_t e) {
      input_transform<M>(pr, lo, c0 + b, c0 + e, v + b * ci, chunk);
      gradient_transform<M>(pr, hi, c0 + b, c0 + e, z + b * co, chunk);
    });
    parallel_for(xis, rows * ci * co * 2, [&](int64_t b, int64_t e) {
      for (int64_t xi = b; xi < e; ++xi)  // single-threaded sgemms: see multiply_spread
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(ci), int(co), int(rows), 1.f,
                    v + xi * chunk * ci, int(ci), z + xi * chunk * co, int(co), c0 == 0 ? 0.f : 1.f,
                    du + xi * ci * co, int(co));
    });
  }
  filter_gradient<M>(pr, du, dw);
}

// M_xi (rows x cout) = V_xi (rows x cin) . U_xi (cin x cout), v and m with ld rows per xi.
void multiply(const Problem& pr, const float* u, const float* v, float* m, int64_t rows,
              int64_t ld) {
  const int64_t ci = pr.cin, co = pr.cout;
  for (int64_t xi = 0; xi < pr.positions(); ++xi)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(co), int(ci), 1.f,
                v + xi * ld * ci, int(ci), u + xi * ci * co, int(co), 0.f, m + xi * ld * co,
                int(co));
}

// multiply's a^2 sgemms spread over the threads, each single-threaded (OpenBLAS runs one thread
// inside a parallel region): every product is then the same call whatever the thread count. A
// multi-threaded sgemm splits its rows by the thread count, and that moves bits (OpenBLAS's
// Haswell kernels on the Zen 5: ConvWinograd.SameBitsOnOneAndTwoThreads).
void multiply_spread(const Problem& pr, const float* u, const float* v, float* m, int64_t rows,
                     int64_t ld) {
  const int64_t ci = pr.cin, co = pr.cout;
  parallel_for(pr.positions(), rows * ci * co * 2, [&](int64_t b, int64_t e) {
    for (int64_t xi = b; xi < e; ++xi)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(co), int(ci), 1.f,
                  v + xi * ld * ci, int(ci), u + xi * ci * co, int(co), 0.f, m + xi * ld * co,
                  int(co));
  });
}

template <int M>
void run(const Problem& pr, const float* x, const float* wt, bool flipped,
         const float* bias_or_null, float* y, WinogradSchedule schedule) {
  const int64_t P = pr.tiles(), ci = pr.cin, co = pr.cout, xis = pr.positions();
  std::vector<float> zeros;
  if (!bias_or_null) zeros.assign(size_t(co), 0.f);
  const float* bias = bias_or_null ? bias_or_null : zeros.data();
  Tensor u_buf, v_buf, m_buf;
  float* u = floats(u_buf, xis * ci * co);
  filter_transform<M>(pr, wt, flipped, u);
  if (schedule == WinogradSchedule::automatic) schedule = g_schedule.load();
  if (schedule == WinogradSchedule::automatic)
    schedule = ci * co >= 256 * 256 ? WinogradSchedule::whole : WinogradSchedule::blocked;
  if (schedule == WinogradSchedule::whole) {
    const int64_t chunk = chunk_tiles(pr, ci, co);
    float* v = floats(v_buf, xis * chunk * ci);
    float* m = floats(m_buf, xis * chunk * co);
    for (int64_t c0 = 0; c0 < P; c0 += chunk) {
      const int64_t c1 = std::min(P, c0 + chunk);
      parallel_for(c1 - c0, ci * 64, [&](int64_t b, int64_t e) {
        input_transform<M>(pr, x, c0 + b, c0 + e, v + b * ci, chunk);
      });
      multiply_spread(pr, u, v, m, c1 - c0, chunk);
      parallel_for(c1 - c0, co * 32, [&](int64_t b, int64_t e) {
        output_transform<M>(pr, m + b * co, chunk, c0 + b, c0 + e, bias, y);
      });
    }
    return;
  }
  const int64_t block = std::clamp<int64_t>((1 << 18) / (xis * (ci + co)), 8, 256);
  const int64_t blocks = (P + block - 1) / block;
  parallel_for(blocks, block * ci * co * 2 * xis, [&](int64_t b, int64_t e) {
    Tensor vm;  // this thread's V and M
    float* v = floats(vm, xis * block * (ci + co));
    float* m = v + xis * block * ci;
    for (int64_t blk = b; blk < e; ++blk) {
      const int64_t p0 = blk * block, p1 = std::min(P, p0 + block);
      input_transform<M>(pr, x, p0, p1, v, block);
      multiply(pr, u, v, m, p1 - p0, block);  // single-threaded in here
      output_transform<M>(pr, m, block, p0, p1, bias, y);
    }
  });
}

// The tile a call takes: its own, the test hook's, or the rule's (default_tile).
int tile_for(int tile, const Problem& pr) {
  if (tile == 0) tile = g_tile.load();
  if (tile == 0) tile = winograd_default_tile(pr.h, pr.w);
  SR_CHECK_VALUE(tile == 2 || tile == 4, "Winograd: the output tile must be 2 or 4, got {}", tile);
  return tile;
}

void run_any(Problem pr, int tile, const float* x, const float* wt, bool flipped, const float* bias,
             float* y, WinogradSchedule s) {
  pr.m = tile_for(tile, pr);
  if (pr.m == 4)
    run<4>(pr, x, wt, flipped, bias, y, s);
  else
    run<2>(pr, x, wt, flipped, bias, y, s);
}

GemmGeometry winograd_geometry(const Tensor& x, const Tensor& w, const Tensor& y,
                               const ConvParams& p, const char* op) {
  GemmGeometry g;
  SR_CHECK_SHAPE(winograd_applies(x, w, y, p, g),
                 "{}: Winograd F(2x2,3x3) needs a 3x3 stride-1 padding-1 convolution of dense "
                 "channels-last tensors, got {} and {}",
                 op, shape_str(x.shape()), shape_str(y.shape()));
  return g;
}

}  // namespace

void set_winograd_schedule(WinogradSchedule s) {
  g_schedule.store(s);
}

void set_winograd_chunk_floats(int64_t floats) {
  g_chunk_floats.store(floats > 0 ? floats : kDefaultChunkFloats);
}

int64_t winograd_chunk_floats() {
  return g_chunk_floats.load();
}

int winograd_tile_setting() {
  return g_tile.load();
}

void set_winograd_tile(int tile) {
  SR_CHECK_VALUE(tile == 0 || tile == 2 || tile == 4,
                 "set_winograd_tile: the output tile must be 0 (the rule's), 2 or 4, got {}", tile);
  g_tile.store(tile);
}

bool winograd_applies(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                      GemmGeometry& g) {
  if (!gemm_geometry(x, w, y, p, g)) return false;
  for (int i = 0; i < 2; ++i)
    if (g.stride[i] != 1 || g.pad[i] != 1 || g.dil[i] != 1) return false;
  return g.kh == 3 && g.kw == 3 && g.oh == g.h && g.ow == g.w && p.output_padding[0] == 0 &&
         p.output_padding[1] == 0;
}

void winograd_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                      Tensor& y, WinogradSchedule s, int tile) {
  const GemmGeometry g = winograd_geometry(x, w, y, p, "conv_forward");
  const float* bias = b.defined() ? b.data<float>() : nullptr;
  if (p.transposed)  // hi (x) -> lo (y)
    run_any({g.n, g.h, g.w, g.oc, g.ic, 0}, tile, x.data<float>(), w.data<float>(), true, bias,
            y.data<float>(), s);
  else
    run_any({g.n, g.h, g.w, g.ic, g.oc, 0}, tile, x.data<float>(), w.data<float>(), false, bias,
            y.data<float>(), s);
}

void winograd_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx,
                            WinogradSchedule s, int tile) {
  const GemmGeometry g = winograd_geometry(gx, w, gy, p, "conv_backward_data");
  if (p.transposed)  // lo (gy) -> hi (gx)
    run_any({g.n, g.h, g.w, g.ic, g.oc, 0}, tile, gy.data<float>(), w.data<float>(), false, nullptr,
            gx.data<float>(), s);
  else
    run_any({g.n, g.h, g.w, g.oc, g.ic, 0}, tile, gy.data<float>(), w.data<float>(), true, nullptr,
            gx.data<float>(), s);
}

void winograd_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                               Tensor& gb, int tile) {
  const GemmGeometry g = winograd_geometry(x, gw, gy, p, "conv_backward_weights");
  const Tensor& lo = p.transposed ? gy : x;
  const Tensor& hi = p.transposed ? x : gy;
  Problem pr{g.n, g.h, g.w, g.ic, g.oc, 0};
  pr.m = tile_for(tile, pr);
  if (pr.m == 4)
    weight_gradient<4>(pr, lo.data<float>(), hi.data<float>(), gw.data<float>());
  else
    weight_gradient<2>(pr, lo.data<float>(), hi.data<float>(), gw.data<float>());
  if (gb.defined())
    bias_grad(gy.data<float>(), gy.size(0) * gy.size(2) * gy.size(3), gy.size(1), gb.data<float>());
}

}  // namespace sr::cpu_conv
