// Winograd F(2x2, 3x3) for 3x3 stride-1 padding-1 convolutions, NHWC (conv_cpu.h): forward,
// backward-data and the transposed convolution's two data directions.
//
// An image of cin channels (h x w) maps to one of cout channels (h x w) through a filter
// g(o, i, 3, 3). With the output cut into 2x2 tiles p (ceil(h/2) x ceil(w/2) per image; a tile
// past the edge reads zeros and writes only its pixels inside) and the 4x4 input tile d[i][p]
// around each (Lavin & Gray 2016):
//   U[xi][i][o] = (G g(o, i) G^T)_xi        the filter, 16 positions xi of a 4x4 grid
//   V[xi][p][i] = (B^T d[i][p] B)_xi        the input tiles
//   M_xi (P x cout) = V_xi (P x cin) . U_xi (cin x cout)   16 sgemms
//   y[p][o] = A^T M[p][o] A                 the 2x2 outputs (+ bias)
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
// A^T = [1 1 1 0; 0 1 -1 -1]: 16 multiplications per tile and channel pair instead of 36.
//   lo -> hi (conv forward, transposed backward-data): g(o, i) = w[o][i], w (hi, lo, 3, 3)
//   hi -> lo (conv backward-data, transposed forward): g(o, i, r, q) = w[i][o][2 - r][2 - q]
// The weight gradient (both kinds: the products of lo and hi) runs the forward rule backwards:
// with the output-gradient tiles dY[o][p] (2x2, zeros past the edge) and A = (A^T)^T,
//   Z[xi][p][o] = (A dY[o][p] A^T)_xi       dM, the gradient of M
//   dU_xi (cin x cout) = V_xi^T . Z_xi      16 sgemms, summed over chunks of tiles
//   dw[o][i] = G^T dU(o, i) G               the 3x3 filter gradient
//
// The data passes have two schedules (bench/kernels/winograd.cpp's v1 and v2; docs/KERNELS.md):
//   whole    each stage over a chunk of tiles at once (the transforms split over the threads,
//            the sgemms multi-threaded), the chunk's V and M at most 64 MiB together; the better
//            one where U is large (deep layers: few tiles, many channels)
//   blocked  each thread takes blocks of tiles through all three stages in buffers of about
//            1 MiB that stay in its L2 (single-threaded sgemms); the better one where the tiles
//            are many
// automatic takes whole when cin * cout >= 256 * 256. The weight gradient runs as whole, its
// chunk set by the shape alone. No sum depends on the thread count: a tile's outputs come from
// the same products in the same order on any split, and OpenBLAS splits a product's rows and
// columns over its threads, never its sums (ConvWinograd.SameBitsOnOneAndTwoThreads).
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "engine/cpu/conv_cpu.h"
#include "engine/parallel.h"

namespace sr::cpu_conv {
namespace {

std::atomic<WinogradSchedule> g_schedule{WinogradSchedule::automatic};  // set_winograd_schedule
// The floats of V and M (or Z) in one chunk of tiles: 16M (64 MiB) unless a test sets it.
constexpr int64_t kDefaultChunkFloats = int64_t(16) << 20;
std::atomic<int64_t> g_chunk_floats{kDefaultChunkFloats};

// Tiles per chunk of the whole schedule and of the weight gradient: set by the shape alone.
int64_t chunk_tiles(int64_t tiles, int64_t ci, int64_t co) {
  return std::clamp<int64_t>(g_chunk_floats.load() / (16 * (ci + co)), 1, tiles);
}

struct Problem {
  int64_t n, h, w, cin, cout;
  int64_t th() const { return (h + 1) / 2; }
  int64_t tw() const { return (w + 1) / 2; }
  int64_t tiles() const { return n * th() * tw(); }
};

// Buffers are engine tensors, so that the allocator's accounting (and its cache) sees them.
float* floats(Tensor& t, int64_t n) {
  t = Tensor::empty({n});
  return t.data<float>();
}

// U (16, cin, cout) from the weight, for either relation, into u.
void filter_transform(const Problem& pr, const float* wt, bool flipped, float* u) {
  const int64_t ci = pr.cin, co = pr.cout;
  parallel_for(co, ci * 64, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t i = 0; i < ci; ++i) {
        float f[9];
        if (flipped) {  // w (cin, cout, 3, 3) rotated by 180 degrees
          const float* src = wt + (i * co + o) * 9;
          for (int k = 0; k < 9; ++k) f[k] = src[8 - k];
        } else {
          std::copy(wt + (o * ci + i) * 9, wt + (o * ci + i) * 9 + 9, f);
        }
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
          for (int q = 0; q < 4; ++q) u[((r * 4 + q) * ci + i) * co + o] = row[q];
        }
      }
  });
}

// V rows of tiles p0..p1 (vectorised over the channels): tile p's 16 rows go to
// v[(xi * ld + p - p0) * cin]. `d` and `t` are scratch of 16 * cin floats.
void input_transform(const Problem& pr, const float* x, int64_t p0, int64_t p1, float* v,
                     int64_t ld, float* d, float* t) {
  const int64_t C = pr.cin, th = pr.th(), tw = pr.tw();
  auto row = [C](float* a, int r, int q) { return a + (r * 4 + q) * C; };
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / (th * tw), ti = (p / tw) % th, tj = p % tw;
    for (int r = 0; r < 4; ++r)
      for (int q = 0; q < 4; ++q) {
        const int64_t i = 2 * ti + r - 1, j = 2 * tj + q - 1;
        float* dst = row(d, r, q);
        if (i < 0 || i >= pr.h || j < 0 || j >= pr.w)
          std::fill(dst, dst + C, 0.f);
        else
          std::copy_n(x + ((n * pr.h + i) * pr.w + j) * C, C, dst);
      }
    for (int q = 0; q < 4; ++q) {  // t = B^T d
      const float *d0 = row(d, 0, q), *d1 = row(d, 1, q), *d2 = row(d, 2, q), *d3 = row(d, 3, q);
      float *t0 = row(t, 0, q), *t1 = row(t, 1, q), *t2 = row(t, 2, q), *t3 = row(t, 3, q);
      for (int64_t c = 0; c < C; ++c) {
        t0[c] = d0[c] - d2[c];
        t1[c] = d1[c] + d2[c];
        t2[c] = d2[c] - d1[c];
        t3[c] = d1[c] - d3[c];
      }
    }
    for (int r = 0; r < 4; ++r) {  // V = t B
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

// y = A^T M A + bias for tiles p0..p1, vectorised over the output channels; tile p's 16 rows
// are m[(xi * ld + p - p0) * cout]. `s` is scratch of 8 * cout floats.
void output_transform(const Problem& pr, const float* m, int64_t ld, int64_t p0, int64_t p1,
                      const float* bias, float* y, float* s) {
  const int64_t K = pr.cout, th = pr.th(), tw = pr.tw();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / (th * tw), ti = (p / tw) % th, tj = p % tw;
    auto mm = [&](int r, int q) { return m + ((r * 4 + q) * ld + (p - p0)) * K; };
    for (int q = 0; q < 4; ++q) {  // A^T M
      const float *m0 = mm(0, q), *m1 = mm(1, q), *m2 = mm(2, q), *m3 = mm(3, q);
      float *s0 = s + q * K, *s1 = s + (4 + q) * K;
      for (int64_t k = 0; k < K; ++k) {
        s0[k] = m0[k] + m1[k] + m2[k];
        s1[k] = m1[k] - m2[k] - m3[k];
      }
    }
    for (int r = 0; r < 2; ++r) {  // (A^T M) A, the pixels inside the image
      const int64_t i = 2 * ti + r;
      if (i >= pr.h) break;
      const float *a0 = s + (r * 4 + 0) * K, *a1 = s + (r * 4 + 1) * K, *a2 = s + (r * 4 + 2) * K,
                  *a3 = s + (r * 4 + 3) * K;
      float* y0 = y + ((n * pr.h + i) * pr.w + 2 * tj) * K;
      for (int64_t k = 0; k < K; ++k) y0[k] = a0[k] + a1[k] + a2[k] + bias[k];
      if (2 * tj + 1 < pr.w)
        for (int64_t k = 0; k < K; ++k) y0[K + k] = a1[k] - a2[k] - a3[k] + bias[k];
    }
  }
}

// Z = A dY A^T for tiles p0..p1 of the output gradient dy (NHWC, cout channels), rows as V's:
// z[(xi * ld + p - p0) * cout]. `t` is scratch of 8 * cout floats.
void gradient_transform(const Problem& pr, const float* dy, int64_t p0, int64_t p1, float* z,
                        int64_t ld, float* t) {
  const int64_t K = pr.cout, th = pr.th(), tw = pr.tw();
  std::vector<float> zeros(size_t(K), 0.f);
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / (th * tw), ti = (p / tw) % th, tj = p % tw;
    auto pixel = [&](int r, int q) {  // dY[r][q], or zeros past the edge
      const int64_t i = 2 * ti + r, j = 2 * tj + q;
      return i < pr.h && j < pr.w ? dy + ((n * pr.h + i) * pr.w + j) * K : zeros.data();
    };
    for (int q = 0; q < 2; ++q) {  // t = A dY: 4 rows of 2
      const float *d0 = pixel(0, q), *d1 = pixel(1, q);
      float *t0 = t + q * K, *t1 = t + (2 + q) * K, *t2 = t + (4 + q) * K, *t3 = t + (6 + q) * K;
      for (int64_t k = 0; k < K; ++k) {
        t0[k] = d0[k];
        t1[k] = d0[k] + d1[k];
        t2[k] = d0[k] - d1[k];
        t3[k] = -d1[k];
      }
    }
    for (int r = 0; r < 4; ++r) {  // Z = t A^T
      const float *a0 = t + (2 * r) * K, *a1 = t + (2 * r + 1) * K;
      float* o0 = z + ((r * 4 + 0) * ld + (p - p0)) * K;
      float* o1 = z + ((r * 4 + 1) * ld + (p - p0)) * K;
      float* o2 = z + ((r * 4 + 2) * ld + (p - p0)) * K;
      float* o3 = z + ((r * 4 + 3) * ld + (p - p0)) * K;
      for (int64_t k = 0; k < K; ++k) {
        o0[k] = a0[k];
        o1[k] = a0[k] + a1[k];
        o2[k] = a0[k] - a1[k];
        o3[k] = -a1[k];
      }
    }
  }
}

// dw[o][i] = G^T dU(o, i) G for every (o, i), dU (16, cin, cout), dw (cout, cin, 3, 3).
void filter_gradient(const Problem& pr, const float* du, float* dw) {
  const int64_t ci = pr.cin, co = pr.cout;
  parallel_for(co, ci * 64, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t i = 0; i < ci; ++i) {
        float d[4][4], s[3][4];
        for (int xi = 0; xi < 16; ++xi) d[xi / 4][xi % 4] = du[(xi * ci + i) * co + o];
        for (int q = 0; q < 4; ++q) {  // G^T dU
          s[0][q] = d[0][q] + 0.5f * (d[1][q] + d[2][q]);
          s[1][q] = 0.5f * (d[1][q] - d[2][q]);
          s[2][q] = 0.5f * (d[1][q] + d[2][q]) + d[3][q];
        }
        float* f = dw + (o * ci + i) * 9;
        for (int r = 0; r < 3; ++r) {  // (G^T dU) G
          f[r * 3 + 0] = s[r][0] + 0.5f * (s[r][1] + s[r][2]);
          f[r * 3 + 1] = 0.5f * (s[r][1] - s[r][2]);
          f[r * 3 + 2] = 0.5f * (s[r][1] + s[r][2]) + s[r][3];
        }
      }
  });
}

// dw of the relation lo (cin channels) -> hi (cout channels): chunks of tiles of a size set by
// the shape alone (V and Z at most 64 MiB together), each chunk's 16 sgemms added into dU.
void weight_gradient(const Problem& pr, const float* lo, const float* hi, float* dw) {
  const int64_t P = pr.tiles(), ci = pr.cin, co = pr.cout;
  const int64_t chunk = chunk_tiles(P, ci, co);
  Tensor du_buf, v_buf, z_buf;
  float* du = floats(du_buf, 16 * ci * co);
  float* v = floats(v_buf, 16 * chunk * ci);
  float* z = floats(z_buf, 16 * chunk * co);
  for (int64_t c0 = 0; c0 < P; c0 += chunk) {
    const int64_t c1 = std::min(P, c0 + chunk), rows = c1 - c0;
    parallel_for(rows, (ci + co) * 64, [&](int64_t b, int64_t e) {
      std::vector<float> scratch(size_t(32 * ci + 8 * co));
      input_transform(pr, lo, c0 + b, c0 + e, v + b * ci, chunk, scratch.data(),
                      scratch.data() + 16 * ci);
      gradient_transform(pr, hi, c0 + b, c0 + e, z + b * co, chunk, scratch.data() + 32 * ci);
    });
    for (int64_t xi = 0; xi < 16; ++xi)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(ci), int(co), int(rows), 1.f,
                  v + xi * chunk * ci, int(ci), z + xi * chunk * co, int(co), c0 == 0 ? 0.f : 1.f,
                  du + xi * ci * co, int(co));
  }
  filter_gradient(pr, du, dw);
}

// M_xi (rows x cout) = V_xi (rows x cin) . U_xi (cin x cout), v and m with ld rows per xi.
void multiply(const Problem& pr, const float* u, const float* v, float* m, int64_t rows,
              int64_t ld) {
  const int64_t ci = pr.cin, co = pr.cout;
  for (int64_t xi = 0; xi < 16; ++xi)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(co), int(ci), 1.f,
                v + xi * ld * ci, int(ci), u + xi * ci * co, int(co), 0.f, m + xi * ld * co,
                int(co));
}

void run(const Problem& pr, const float* x, const float* wt, bool flipped,
         const float* bias_or_null, float* y, WinogradSchedule schedule) {
  const int64_t P = pr.tiles(), ci = pr.cin, co = pr.cout;
  std::vector<float> zeros;
  if (!bias_or_null) zeros.assign(size_t(co), 0.f);
  const float* bias = bias_or_null ? bias_or_null : zeros.data();
  Tensor u_buf, v_buf, m_buf;
  const float* u = floats(u_buf, 16 * ci * co);
  filter_transform(pr, wt, flipped, u_buf.data<float>());
  if (schedule == WinogradSchedule::automatic) schedule = g_schedule.load();
  if (schedule == WinogradSchedule::automatic)
    schedule = ci * co >= 256 * 256 ? WinogradSchedule::whole : WinogradSchedule::blocked;
  if (schedule == WinogradSchedule::whole) {
    const int64_t chunk = chunk_tiles(P, ci, co);
    float* v = floats(v_buf, 16 * chunk * ci);
    float* m = floats(m_buf, 16 * chunk * co);
    for (int64_t c0 = 0; c0 < P; c0 += chunk) {
      const int64_t c1 = std::min(P, c0 + chunk);
      parallel_for(c1 - c0, ci * 64, [&](int64_t b, int64_t e) {
        std::vector<float> d(size_t(32 * ci));
        input_transform(pr, x, c0 + b, c0 + e, v + b * ci, chunk, d.data(), d.data() + 16 * ci);
      });
      multiply(pr, u, v, m, c1 - c0, chunk);
      parallel_for(c1 - c0, co * 32, [&](int64_t b, int64_t e) {
        std::vector<float> s(size_t(8 * co));
        output_transform(pr, m + b * co, chunk, c0 + b, c0 + e, bias, y, s.data());
      });
    }
    return;
  }
  const int64_t block = std::clamp<int64_t>((1 << 18) / (16 * (ci + co)), 8, 256);
  const int64_t blocks = (P + block - 1) / block;
  parallel_for(blocks, block * ci * co * 32, [&](int64_t b, int64_t e) {
    Tensor vm;  // this thread's V and M
    float* v = floats(vm, 16 * block * (ci + co));
    float* m = v + 16 * block * ci;
    std::vector<float> scratch(size_t(32 * ci + 8 * co));
    for (int64_t blk = b; blk < e; ++blk) {
      const int64_t p0 = blk * block, p1 = std::min(P, p0 + block);
      input_transform(pr, x, p0, p1, v, block, scratch.data(), scratch.data() + 16 * ci);
      multiply(pr, u, v, m, p1 - p0, block);  // single-threaded in here
      output_transform(pr, m, block, p0, p1, bias, y, scratch.data() + 32 * ci);
    }
  });
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

bool winograd_applies(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                      GemmGeometry& g) {
  if (!gemm_geometry(x, w, y, p, g)) return false;
  for (int i = 0; i < 2; ++i)
    if (g.stride[i] != 1 || g.pad[i] != 1 || g.dil[i] != 1) return false;
  return g.kh == 3 && g.kw == 3 && g.oh == g.h && g.ow == g.w && p.output_padding[0] == 0 &&
         p.output_padding[1] == 0;
}

void winograd_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                      Tensor& y, WinogradSchedule s) {
  const GemmGeometry g = winograd_geometry(x, w, y, p, "conv_forward");
  const float* bias = b.defined() ? b.data<float>() : nullptr;
  if (p.transposed)  // hi (x) -> lo (y)
    run({g.n, g.h, g.w, g.oc, g.ic}, x.data<float>(), w.data<float>(), true, bias, y.data<float>(),
        s);
  else
    run({g.n, g.h, g.w, g.ic, g.oc}, x.data<float>(), w.data<float>(), false, bias, y.data<float>(),
        s);
}

void winograd_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx,
                            WinogradSchedule s) {
  const GemmGeometry g = winograd_geometry(gx, w, gy, p, "conv_backward_data");
  if (p.transposed)  // lo (gy) -> hi (gx)
    run({g.n, g.h, g.w, g.ic, g.oc}, gy.data<float>(), w.data<float>(), false, nullptr,
        gx.data<float>(), s);
  else
    run({g.n, g.h, g.w, g.oc, g.ic}, gy.data<float>(), w.data<float>(), true, nullptr,
        gx.data<float>(), s);
}

void winograd_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                               Tensor& gb) {
  const GemmGeometry g = winograd_geometry(x, gw, gy, p, "conv_backward_weights");
  const Tensor& lo = p.transposed ? gy : x;
  const Tensor& hi = p.transposed ? x : gy;
  weight_gradient({g.n, g.h, g.w, g.ic, g.oc}, lo.data<float>(), hi.data<float>(),
                  gw.data<float>());
  if (gb.defined())
    bias_grad(gy.data<float>(), gy.size(0) * gy.size(2) * gy.size(3), gy.size(1), gb.data<float>());
}

}  // namespace sr::cpu_conv
