// Convolution kernels over a grid of geometries against a plain double-precision loop: forward,
// backward-data and backward-weights (with bias), NHWC and NCHW, 1x1 and 3x3, strides 1 and 2,
// channel counts below, at and above oneDNN's vector blocks (8 on AVX2, 16 on AVX-512), and
// transposed convolutions. oneDNN picks a different implementation per geometry and per ISA;
// ctest runs this suite once per ISA the machine can emulate (ONEDNN_MAX_CPU_ISA, see
// tests/CMakeLists.txt). The GEMM form (im2col + sgemm) runs the channels-last grids too, with
// its default im2col chunk and with chunks of a few rows (one image per chunk). Two threads, so
// that kernels whose per-thread buffers overlap show it in the results. Tolerance: |got - ref| <=
// 1e-4 + 1e-4 * |ref| (float32 sums of at most 9 * 33 * 50 products of values in [-1, 1]).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/backend.h"
#include "engine/cpu/conv_cpu.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/kernels.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

struct Geometry {
  int64_t n, ic, oc, h, w, k, stride, pad, dil;
  bool transposed;
  MemoryFormat fmt;
  std::string str() const {
    return fmt::format("{}{} n{} ic{} oc{} {}x{} k{} s{} p{} d{}", transposed ? "transposed " : "",
                       fmt == MemoryFormat::channels_last ? "NHWC" : "NCHW", n, ic, oc, h, w, k,
                       stride, pad, dil);
  }
};

// Element (n, c, y, x) of a 4-d CPU float tensor of any strides.
float& at(const Tensor& t, int64_t a, int64_t b, int64_t c, int64_t d) {
  return t.data<float>()[a * t.stride(0) + b * t.stride(1) + c * t.stride(2) + d * t.stride(3)];
}

Tensor random_4d(const Shape& s, uint64_t seed, MemoryFormat fmt) {
  return test::random_input(s, seed, -1.f, 1.f, false).contiguous(fmt);
}

// For a convolution, `lo` is the input (x) and `hi` the output (y); a transposed convolution is
// the same relation with the roles swapped (its input is `hi`, its output `lo`). In PyTorch's
// layouts the weight is (hi channels, lo channels, k, k) either way: (out, in) for a
// convolution, (in, out) for a transposed one.
struct Reference {
  const Geometry& g;
  int64_t oh, ow;  // the "hi" spatial size (conv output)
  // Visits every (n, c_lo, y_lo, x_lo, c_hi, y_hi, x_hi, ky, kx) product of the relation.
  template <class F>
  void each(int64_t c_lo_n, int64_t c_hi_n, F f) const {
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t ch = 0; ch < c_hi_n; ++ch)
        for (int64_t yh = 0; yh < oh; ++yh)
          for (int64_t xh = 0; xh < ow; ++xh)
            for (int64_t cl = 0; cl < c_lo_n; ++cl)
              for (int64_t ky = 0; ky < g.k; ++ky)
                for (int64_t kx = 0; kx < g.k; ++kx) {
                  int64_t yl = yh * g.stride - g.pad + ky * g.dil;
                  int64_t xl = xh * g.stride - g.pad + kx * g.dil;
                  if (yl < 0 || xl < 0 || yl >= g.h || xl >= g.w) continue;
                  f(n, cl, yl, xl, ch, yh, xh, ky, kx);
                }
  }
};

// The tolerance t of |got - ref| <= t + t * |ref|: 1e-4, or F(4x4, 3x3)'s
// (ConvGeometriesWinograd4).
double g_tolerance = 1e-4;

::testing::AssertionResult close(const std::vector<double>& ref, const Tensor& got,
                                 const std::string& what) {
  std::vector<float> g = got.to_vector();
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(std::fabs(g[i] - ref[i]) <= g_tolerance + g_tolerance * std::fabs(ref[i])))
      return ::testing::AssertionFailure()
             << what << ": element " << i << " is " << g[i] << ", reference " << ref[i];
  return ::testing::AssertionSuccess();
}

// Logical (row-major NCHW) index of a 4-d element.
size_t lin(const Shape& s, int64_t a, int64_t b, int64_t c, int64_t d) {
  return size_t(((a * s[1] + b) * s[2] + c) * s[3] + d);
}

void check_geometry(const Geometry& g, uint64_t seed) {
  const int64_t oh = (g.h + 2 * g.pad - g.dil * (g.k - 1) - 1) / g.stride + 1;
  const int64_t ow = (g.w + 2 * g.pad - g.dil * (g.k - 1) - 1) / g.stride + 1;
  ASSERT_GT(oh, 0);
  ASSERT_GT(ow, 0);
  // lo: the convolution's input side (ic channels, h x w); hi: its output side (oc, oh x ow).
  Shape lo_s{g.n, g.ic, g.h, g.w}, hi_s{g.n, g.oc, oh, ow};
  Shape w_s{g.oc, g.ic, g.k, g.k};
  Tensor lo = random_4d(lo_s, seed, g.fmt), hi = random_4d(hi_s, seed + 1, g.fmt);
  Tensor w = test::random_input(w_s, seed + 2, -1.f, 1.f, false);
  Tensor b = test::random_input({g.transposed ? g.ic : g.oc}, seed + 3, -1.f, 1.f, false);
  Reference r{g, oh, ow};
  ConvParams p;
  p.stride[0] = p.stride[1] = g.stride;
  p.padding[0] = p.padding[1] = g.pad;
  p.dilation[0] = p.dilation[1] = g.dil;
  p.transposed = g.transposed;
  if (g.transposed) {
    // The output size of the transposed convolution must be h x w: output_padding makes up the
    // rows the stride leaves out.
    p.output_padding[0] = g.h - ((oh - 1) * g.stride - 2 * g.pad + g.dil * (g.k - 1) + 1);
    p.output_padding[1] = g.w - ((ow - 1) * g.stride - 2 * g.pad + g.dil * (g.k - 1) + 1);
  }

  // "lo -> hi" (conv forward, transposed backward-data) and "hi -> lo" (conv backward-data,
  // transposed forward) references, and the weight gradient over products lo * hi.
  std::vector<double> to_hi(size_t(shape_numel(hi_s)), 0.0), to_lo(size_t(shape_numel(lo_s)), 0.0);
  std::vector<double> gw(size_t(shape_numel(w_s)), 0.0);
  r.each(g.ic, g.oc,
         [&](int64_t n, int64_t cl, int64_t yl, int64_t xl, int64_t ch, int64_t yh, int64_t xh,
             int64_t ky, int64_t kx) {
           double wv = at(w, ch, cl, ky, kx), lv = at(lo, n, cl, yl, xl),
                  hv = at(hi, n, ch, yh, xh);
           to_hi[lin(hi_s, n, ch, yh, xh)] += wv * lv;
           to_lo[lin(lo_s, n, cl, yl, xl)] += wv * hv;
           gw[lin(w_s, ch, cl, ky, kx)] += lv * hv;
         });

  Tensor hi_out = Tensor::empty(hi_s, DType::f32, Device::cpu, g.fmt);
  Tensor lo_out = Tensor::empty(lo_s, DType::f32, Device::cpu, g.fmt);
  Tensor gw_out = Tensor::empty(w_s), gb_out = Tensor::empty(b.shape());
  // As the kernels see it: a convolution maps x = lo to y = hi, a transposed one x = hi to y = lo.
  const Tensor& x = g.transposed ? hi : lo;
  const Tensor& gy = g.transposed ? lo : hi;  // the output gradient, y's shape
  Tensor& y_out = g.transposed ? lo_out : hi_out;
  Tensor& gx_out = g.transposed ? hi_out : lo_out;
  std::vector<double>& y_ref = g.transposed ? to_lo : to_hi;
  const std::vector<double>& gx_ref = g.transposed ? to_hi : to_lo;
  const std::string kind = g.transposed ? "transposed " : "";
  // y = conv(x, w) + b, the bias per output channel.
  std::vector<float> bv = b.to_vector();
  const size_t plane = size_t(y_out.size(2) * y_out.size(3));
  for (size_t i = 0; i < y_ref.size(); ++i) y_ref[i] += bv[(i / plane) % bv.size()];
  if (cpu_conv_algorithm() == CpuConvAlgorithm::gemm && g.fmt == MemoryFormat::channels_last) {
    cpu_conv::GemmGeometry gg;  // otherwise the slot would quietly run oneDNN instead
    ASSERT_TRUE(cpu_conv::gemm_geometry(x, w, y_out, p, gg));
  }
  if (cpu_conv_algorithm() == CpuConvAlgorithm::winograd) {
    cpu_conv::GemmGeometry gg;  // the Winograd grids hold only layers it takes
    ASSERT_TRUE(cpu_conv::winograd_applies(x, w, y_out, p, gg) ||
                cpu_conv::polyphase_applies(x, w, y_out, p, gg));
  }
  kernels::conv_forward(Device::cpu, x, w, b, p, y_out);
  EXPECT_TRUE(close(y_ref, y_out, kind + "forward"));
  kernels::conv_backward_data(Device::cpu, gy, w, p, gx_out);
  EXPECT_TRUE(close(gx_ref, gx_out, kind + "backward-data"));
  std::vector<double> gb(size_t(b.numel()), 0.0);
  for (int64_t n = 0; n < gy.size(0); ++n)
    for (int64_t c = 0; c < gy.size(1); ++c)
      for (int64_t r = 0; r < gy.size(2); ++r)
        for (int64_t q = 0; q < gy.size(3); ++q) gb[size_t(c)] += at(gy, n, c, r, q);
  kernels::conv_backward_weights(Device::cpu, x, gy, p, gw_out, gb_out);
  EXPECT_TRUE(close(gw, gw_out, "backward-weights"));
  EXPECT_TRUE(close(gb, gb_out, "backward-bias"));
}

void check(const Geometry& g, uint64_t seed) {
  SCOPED_TRACE(g.str());
  try {
    check_geometry(g, seed);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "exception: " << e.what();
  }
}

// oneDNN's kernels (ConvGeometries, run once per ISA by ctest) and the GEMM form
// (ConvGeometriesGemm: im2col + sgemm, engine/cpu/conv_gemm.cpp, channels-last only) on the same
// grids; the automatic choice picks one of the two per geometry.
class ConvGeometries : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_ = get_num_threads();
    algo_ = cpu_conv_algorithm();
    set_num_threads(2);
    set_cpu_conv_algorithm(algorithm());
  }
  void TearDown() override {
    set_num_threads(threads_);
    set_cpu_conv_algorithm(algo_);
    cpu_conv::set_gemm_chunk_floats(0);  // the default chunk, also after a failed test
    cpu_conv::set_winograd_schedule(cpu_conv::WinogradSchedule::automatic);
    cpu_conv::set_winograd_chunk_floats(0);
    cpu_conv::set_winograd_tile(0);
    g_tolerance = 1e-4;
  }
  virtual CpuConvAlgorithm algorithm() const { return CpuConvAlgorithm::onednn; }
  int threads_ = 1;
  CpuConvAlgorithm algo_ = CpuConvAlgorithm::automatic;
};

class ConvGeometriesGemm : public ConvGeometries {
 protected:
  CpuConvAlgorithm algorithm() const override { return CpuConvAlgorithm::gemm; }
};

// Winograd F(2x2, 3x3) (engine/cpu/conv_winograd.cpp) on 3x3 stride-1 padding-1 layers only,
// channels-last, all three passes.
class ConvGeometriesWinograd : public ConvGeometries {
 protected:
  void SetUp() override {
    ConvGeometries::SetUp();
    cpu_conv::set_winograd_tile(2);  // not the rule's, which depends on the machine
  }
  CpuConvAlgorithm algorithm() const override { return CpuConvAlgorithm::winograd; }
};

// The same with F(4x4, 3x3), whose transforms' coefficients (up to 8 in A^T, 5 in B^T, 1/24 in G)
// round more: tolerance 5e-4. At 1e-4 only the 256 x 256-channel geometry fails, by up to 2.9e-4
// on outputs of about 1 (sums of 2,304 products; F(2x2) stays inside 1e-4 there).
class ConvGeometriesWinograd4 : public ConvGeometriesWinograd {
 protected:
  void SetUp() override {
    ConvGeometriesWinograd::SetUp();
    cpu_conv::set_winograd_tile(4);
    g_tolerance = 5e-4;
  }
};

const std::vector<MemoryFormat> kBothFormats{MemoryFormat::channels_last, MemoryFormat::contiguous};

void one_by_one_and_three_by_three(const std::vector<MemoryFormat>& formats) {
  uint64_t seed = 100;
  for (MemoryFormat fmt : formats)
    for (int64_t k : {1, 3})
      for (int64_t stride : {1, 2})
        for (int64_t hw : {6, 7})
          for (int64_t ic : {1, 3, 4, 7, 8, 9, 17})
            for (int64_t oc : {1, 4, 8, 12, 16}) {
              check({2, ic, oc, hw, hw, k, stride, k / 2, 1, false, fmt}, seed);
              seed += 4;
            }
}

// The geometries of oneDNN 2.6.3's faulty 1x1 kernels (engine/cpu/conv_onednn.cpp): strided 1x1
// with fewer input channels than the vector (8 on AVX2, 16 on AVX-512), as ResNet-18's downsample
// convolutions at small widths.
// Without the work-around, under AVX2 or AVX-512 on two threads, the kernels' overlapping
// per-thread copies give wrong weight gradients on most of these.
void strided_one_by_one_few_channels() {
  uint64_t seed = 3000;
  for (bool transposed : {false, true})
    for (int64_t n : {1, 2, 3})
      for (int64_t hw : {4, 6, 8, 12})
        for (int64_t ic = 1; ic < 16; ++ic)
          for (int64_t oc : {4, 8, 16}) {
            check({n, ic, oc, hw, hw, 1, 2, 0, 1, transposed, MemoryFormat::channels_last}, seed);
            seed += 4;
          }
}

// ResNet-18's stem (7x7 stride 2) and dilated 3x3 as in DRN, at small channel counts.
void large_kernels_and_dilation(const std::vector<MemoryFormat>& formats) {
  uint64_t seed = 5000;
  for (MemoryFormat fmt : formats)
    for (int64_t ic : {1, 3, 8})
      for (int64_t oc : {4, 8, 16}) {
        check({2, ic, oc, 12, 10, 7, 2, 3, 1, false, fmt}, seed);
        check({2, ic, oc, 9, 9, 3, 1, 2, 2, false, fmt}, seed + 4);
        check({1, ic, oc, 9, 9, 3, 1, 4, 4, false, fmt}, seed + 8);
        seed += 12;
      }
}

// Transposed convolutions as in the VAE decoder (4x4 stride 2 pad 1) and 1x1/3x3 strided ones.
void transposed(const std::vector<MemoryFormat>& formats) {
  uint64_t seed = 9000;
  for (MemoryFormat fmt : formats)
    for (int64_t ic : {1, 3, 8, 9})
      for (int64_t oc : {2, 4, 8, 16}) {
        check({2, ic, oc, 8, 8, 4, 2, 1, 1, true, fmt}, seed);
        check({2, ic, oc, 6, 6, 1, 2, 0, 1, true, fmt}, seed + 4);
        check({2, ic, oc, 7, 7, 3, 2, 1, 1, true, fmt}, seed + 8);
        seed += 12;
      }
}

TEST_F(ConvGeometries, OneByOneAndThreeByThree) {
  one_by_one_and_three_by_three(kBothFormats);
}
TEST_F(ConvGeometries, StridedOneByOneFewChannels) {
  strided_one_by_one_few_channels();
}
TEST_F(ConvGeometries, LargeKernelsAndDilation) {
  large_kernels_and_dilation(kBothFormats);
}
TEST_F(ConvGeometries, Transposed) {
  transposed(kBothFormats);
}

TEST_F(ConvGeometriesGemm, OneByOneAndThreeByThree) {
  one_by_one_and_three_by_three({MemoryFormat::channels_last});
}
TEST_F(ConvGeometriesGemm, StridedOneByOneFewChannels) {
  strided_one_by_one_few_channels();
}
TEST_F(ConvGeometriesGemm, LargeKernelsAndDilation) {
  large_kernels_and_dilation({MemoryFormat::channels_last});
}
TEST_F(ConvGeometriesGemm, Transposed) {
  transposed({MemoryFormat::channels_last});
}
TEST_F(ConvGeometriesGemm, ChunksOfAFewRows) {
  cpu_conv::set_gemm_chunk_floats(100);  // 3x3 and 4x4 rows of up to 17 * 16 floats: 1-4 per chunk
  one_by_one_and_three_by_three({MemoryFormat::channels_last});
  large_kernels_and_dilation({MemoryFormat::channels_last});
  transposed({MemoryFormat::channels_last});
}

// Odd and even sizes (tiles past the right and bottom edges), single pixels, channel counts
// below and above the vector, convolutions and transposed ones; 5 images of 17x13 make 315 tiles,
// two blocks of the blocked schedule with a partial second one; 256 x 256 channels are where the
// automatic schedule takes the whole one.
void winograd_grid() {
  uint64_t seed = 12000;
  for (bool transposed : {false, true}) {
    for (int64_t n : {1, 3})
      for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {6, 6}, {7, 5}, {9, 12}})
        for (int64_t ic : {1, 3, 8, 17})
          for (int64_t oc : {1, 4, 16}) {
            check({n, ic, oc, h, w, 3, 1, 1, 1, transposed, MemoryFormat::channels_last}, seed);
            seed += 4;
          }
    check({5, 16, 16, 17, 13, 3, 1, 1, 1, transposed, MemoryFormat::channels_last}, seed);
    check({1, 256, 256, 4, 4, 3, 1, 1, 1, transposed, MemoryFormat::channels_last}, seed + 4);
    seed += 8;
  }
}

// 4x4 stride-2 padding-1 layers (engine/cpu/conv_polyphase.cpp): small sides of 1 to 5 pixels
// and non-square ones (tiles past the edges for both tiles), channel counts below, at and
// above the vector (the polyphase image's four segments of cb channels each), convolutions and
// transposed ones, and the VAE's 128 -> 256 at 8x8 -> 4x4 with bias. F(2x2, 2x2) holds 1e-4;
// F(4x4, 2x2) (coefficients up to 8 in A^T, 3 in B^T, 1/6 in G) takes ConvGeometriesWinograd4's
// 5e-4: at 1e-4 only the 128 x 256-channel geometry fails, by up to 1.5e-4 on outputs below 0.4
// (sums of 2,048 and 4,096 products).
void polyphase_grid() {
  uint64_t seed = 15000;
  for (bool transposed : {false, true}) {
    for (int64_t n : {1, 2})
      for (auto [h, w] : {std::pair<int64_t, int64_t>{2, 2}, {4, 6}, {6, 6}, {10, 8}})
        for (int64_t ic : {1, 3, 16, 17})
          for (int64_t oc : {1, 5, 16, 20}) {
            check({n, ic, oc, h, w, 4, 2, 1, 1, transposed, MemoryFormat::channels_last}, seed);
            seed += 4;
          }
    check({3, 33, 18, 18, 14, 4, 2, 1, 1, transposed, MemoryFormat::channels_last}, seed);
    check({2, 128, 256, 8, 8, 4, 2, 1, 1, transposed, MemoryFormat::channels_last}, seed + 4);
    seed += 8;
  }
}

TEST_F(ConvGeometriesWinograd, FourByFourStrideTwoPolyphase) {
  polyphase_grid();
}
TEST_F(ConvGeometriesWinograd, FourByFourStrideTwoPolyphaseChunks) {
  cpu_conv::set_winograd_chunk_floats(3000);  // 1-6 tiles per chunk below 300 channels
  polyphase_grid();
}
TEST_F(ConvGeometriesWinograd4, FourByFourStrideTwoPolyphase) {
  polyphase_grid();
}
TEST_F(ConvGeometriesWinograd4, FourByFourStrideTwoPolyphaseChunks) {
  cpu_conv::set_winograd_chunk_floats(3000);
  polyphase_grid();
}

TEST_F(ConvGeometriesWinograd, ThreeByThreeStrideOneBlocked) {
  cpu_conv::set_winograd_schedule(cpu_conv::WinogradSchedule::blocked);
  winograd_grid();
}
TEST_F(ConvGeometriesWinograd, ThreeByThreeStrideOneWhole) {
  cpu_conv::set_winograd_schedule(cpu_conv::WinogradSchedule::whole);
  winograd_grid();
}
TEST_F(ConvGeometriesWinograd, ChunksOfAFewTiles) {
  // 1-3 tiles per chunk for up to 17 + 16 channels, one for 256 + 256: every chunk boundary
  // of the whole schedule and of the weight gradient's sum over chunks.
  cpu_conv::set_winograd_chunk_floats(2000);
  cpu_conv::set_winograd_schedule(cpu_conv::WinogradSchedule::whole);
  winograd_grid();
}

TEST_F(ConvGeometriesWinograd4, ThreeByThreeStrideOneBlocked) {
  cpu_conv::set_winograd_schedule(cpu_conv::WinogradSchedule::blocked);
  winograd_grid();
}
TEST_F(ConvGeometriesWinograd4, ThreeByThreeStrideOneWhole) {
  cpu_conv::set_winograd_schedule(cpu_conv::WinogradSchedule::whole);
  winograd_grid();
}
TEST_F(ConvGeometriesWinograd4, ChunksOfAFewTiles) {
  cpu_conv::set_winograd_chunk_floats(2000);
  cpu_conv::set_winograd_schedule(cpu_conv::WinogradSchedule::whole);
  winograd_grid();
}

// The engine's results must not depend on the thread count (resumed runs, tests comparing runs):
// Winograd's three passes on one and on two threads, bitwise, with both schedules, on a layer
// large enough for both to split (5 images of 17x13, 315 tiles; 64 channels).
TEST(ConvWinograd, SameBitsOnOneAndTwoThreads) {
  const int threads = get_num_threads();
  const MemoryFormat cl = MemoryFormat::channels_last;
  Tensor x = random_4d({5, 64, 17, 13}, 1, cl), gy = random_4d({5, 64, 17, 13}, 2, cl);
  Tensor w = test::random_input({64, 64, 3, 3}, 3, -1.f, 1.f, false);
  ConvParams p;
  p.padding[0] = p.padding[1] = 1;
  using cpu_conv::WinogradSchedule;
  for (int tile : {2, 4})
    for (WinogradSchedule s : {WinogradSchedule::whole, WinogradSchedule::blocked}) {
      std::vector<std::vector<float>> got[2];
      for (int t : {1, 2}) {
        set_num_threads(t);
        Tensor y = Tensor::empty(x.shape(), DType::f32, Device::cpu, cl), gx = y.clone();
        Tensor gw = Tensor::empty(w.shape()), gb = Tensor::empty({64});
        cpu_conv::winograd_forward(x, w, Tensor(), p, y, s, tile);
        cpu_conv::winograd_backward_data(gy, w, p, gx, s, tile);
        cpu_conv::winograd_backward_weights(x, gy, p, gw, gb, tile);
        got[t - 1] = {y.to_vector(), gx.to_vector(), gw.to_vector(), gb.to_vector()};
      }
      set_num_threads(threads);
      for (size_t i = 0; i < 4; ++i)
        EXPECT_EQ(got[0][i], got[1][i]) << "F(" << tile << "x" << tile << ") output " << i;
    }
}

// The same for the polyphase path's three passes of both kinds (4 images of 12x10 -> 6x5, 64
// and 80 channels: enough tiles and sgemms to split).
TEST(ConvPolyphase, SameBitsOnOneAndTwoThreads) {
  const int threads = get_num_threads();
  const MemoryFormat cl = MemoryFormat::channels_last;
  Tensor big = random_4d({4, 64, 12, 10}, 1, cl), small = random_4d({4, 80, 6, 5}, 2, cl);
  Tensor w = test::random_input({80, 64, 4, 4}, 3, -1.f, 1.f, false);
  for (bool transposed : {false, true}) {
    ConvParams p;
    p.stride[0] = p.stride[1] = 2;
    p.padding[0] = p.padding[1] = 1;
    p.transposed = transposed;
    const Tensor& x = transposed ? small : big;
    const Tensor& gy = transposed ? big : small;
    for (int tile : {2, 4}) {
      std::vector<std::vector<float>> got[2];
      for (int t : {1, 2}) {
        set_num_threads(t);
        Tensor y = Tensor::empty(gy.shape(), DType::f32, Device::cpu, cl);
        Tensor gx = Tensor::empty(x.shape(), DType::f32, Device::cpu, cl);
        Tensor gw = Tensor::empty(w.shape()), gb = Tensor::empty({gy.size(1)});
        cpu_conv::polyphase_forward(x, w, Tensor(), p, y, tile);
        cpu_conv::polyphase_backward_data(gy, w, p, gx, tile);
        cpu_conv::polyphase_backward_weights(x, gy, p, gw, gb, tile);
        got[t - 1] = {y.to_vector(), gx.to_vector(), gw.to_vector(), gb.to_vector()};
      }
      set_num_threads(threads);
      for (size_t i = 0; i < 4; ++i)
        EXPECT_EQ(got[0][i], got[1][i])
            << (transposed ? "transposed " : "") << "F(" << tile << "x" << tile << ") output " << i;
    }
  }
}

// Layers the polyphase path must refuse: another kernel, stride or padding, an odd big side.
TEST(ConvPolyphase, AppliesToFourByFourStrideTwoPaddingOneOnly) {
  const MemoryFormat cl = MemoryFormat::channels_last;
  auto applies = [&](int64_t k, int64_t stride, int64_t pad, int64_t h) {
    ConvParams p;
    p.stride[0] = p.stride[1] = stride;
    p.padding[0] = p.padding[1] = pad;
    const int64_t oh = (h + 2 * pad - k) / stride + 1;
    Tensor x = Tensor::empty({1, 8, h, h}, DType::f32, Device::cpu, cl);
    Tensor y = Tensor::empty({1, 8, oh, oh}, DType::f32, Device::cpu, cl);
    Tensor w = Tensor::empty({8, 8, k, k});
    cpu_conv::GemmGeometry g;
    return cpu_conv::polyphase_applies(x, w, y, p, g);
  };
  EXPECT_TRUE(applies(4, 2, 1, 8));
  EXPECT_FALSE(applies(4, 2, 1, 7));  // odd: the last row has no partner
  EXPECT_FALSE(applies(3, 2, 1, 8));
  EXPECT_FALSE(applies(4, 1, 1, 8));
  EXPECT_FALSE(applies(4, 2, 0, 8));
  Tensor nchw = Tensor::empty({1, 8, 8, 8}), y = Tensor::empty({1, 8, 4, 4});
  ConvParams p;
  p.stride[0] = p.stride[1] = 2;
  p.padding[0] = p.padding[1] = 1;
  cpu_conv::GemmGeometry g;
  EXPECT_FALSE(cpu_conv::polyphase_applies(nchw, Tensor::empty({8, 8, 4, 4}), y, p, g));
}

// The polyphase tile rule: the fewer products ceil(h/m) ceil(w/m) (m+1)^2 over the small side,
// F(4x4) only with at least 4 of its tiles per image.
TEST(WinogradTileRule, PolyphaseFourWithFourTilesAndFewerProducts) {
  EXPECT_EQ(cpu_conv::polyphase_default_tile(1, 1), 2);  // 9 products against 25
  EXPECT_EQ(cpu_conv::polyphase_default_tile(4, 4), 2);  // fewer products (25), but one tile
  EXPECT_EQ(cpu_conv::polyphase_default_tile(6, 6), 2);  // 81 against 100
  EXPECT_EQ(cpu_conv::polyphase_default_tile(7, 7), 4);  // 100 against 144
  EXPECT_EQ(cpu_conv::polyphase_default_tile(8, 8), 4);
  EXPECT_EQ(cpu_conv::polyphase_default_tile(2, 16), 2);  // 4 tiles, 100 against 72
  EXPECT_EQ(cpu_conv::polyphase_default_tile(16, 16), 4);
}

// The tile rule (engine/cpu/conv_cpu.cpp): the tile with the fewer products per image,
// ceil(h/m) ceil(w/m) (m+2)^2, which is F(4x4) from 3x3 pixels up; F(2x2) with AMX.
TEST(WinogradTileRule, FourFromThreePixelsUpUnlessAmx) {
  if (onednn_isa().find("amx") != std::string::npos) {
    EXPECT_EQ(cpu_conv::winograd_default_tile(32, 32), 2);
    return;
  }
  EXPECT_EQ(cpu_conv::winograd_default_tile(1, 1), 2);  // 36 products against 16
  EXPECT_EQ(cpu_conv::winograd_default_tile(2, 2), 2);  // 36 against 16
  EXPECT_EQ(cpu_conv::winograd_default_tile(2, 8), 2);  // 72 against 64
  EXPECT_EQ(cpu_conv::winograd_default_tile(3, 3), 4);  // 36 against 64
  EXPECT_EQ(cpu_conv::winograd_default_tile(4, 4), 4);  // 36 against 64
  EXPECT_EQ(cpu_conv::winograd_default_tile(5, 5), 4);  // 144 against 144: the tie to F(4x4)
  EXPECT_EQ(cpu_conv::winograd_default_tile(32, 32), 4);
}

}  // namespace
}  // namespace sr
