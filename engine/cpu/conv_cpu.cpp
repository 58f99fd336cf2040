// The CPU convolution slots: oneDNN's direct kernels, the GEMM form, Winograd F(2x2 or 4x4, 3x3)
// or polyphase Winograd F(2x2 or 4x4, 2x2) for 4x4 stride-2 layers (conv_cpu.h), per call.
//
// automatic: the Winograd paths and the GEMM form where the rules below say so (measured,
// docs/KERNELS.md and docs/PERFORMANCE.md), oneDNN everywhere else; onednn / gemm / winograd
// force one (gemm falls back to oneDNN where it does not apply, winograd to the automatic
// choice on the layers that are neither 3x3 stride 1 nor 4x4 stride 2).
#include <algorithm>
#include <string>

#include "engine/backend.h"
#include "engine/cpu/conv_cpu.h"
#include "engine/cpu/cpu_backend.h"

namespace sr::cpu_conv {
namespace {

enum class Direction { lo_to_hi, hi_to_lo, weights };

// Whether the automatic choice takes the GEMM form for this geometry and direction. The rule is
// bench/kernels/conv.cpp's study on the Zen 2 CPU (oneDNN at avx2; docs/PERFORMANCE.md): oneDNN's
// AVX2 direct kernels lose where the hi side's image is small (few pixels to block over) and the
// channels many, and in backward-weights wherever both channel counts are 64 or more; the GEMM
// form then runs at 70-93% of sgemm. Where oneDNN dispatches to AVX-512 its kernels run ResNet-18
// at 98% of sgemm (Zen 4), so there the rule keeps oneDNN but for one case: the VAE's study on
// the Zen 5 at avx512 (bench/kernels/conv.cpp, docs/KERNELS.md) found oneDNN's kernels 3-7x
// slower than the GEMM form (41-94 ms against 13-15) in the data passes of its 512 -> 1024 layer at
// 2x2 pixels, the one polyphase Winograd leaves (polyphase_wins); the GEMM form takes data passes
// with at most 4 hi pixels and 256 channels or more there.
bool rule_on() {
  static const bool avx512 = onednn_isa().rfind("avx512", 0) == 0;
  return !avx512;
}

bool gemm_wins(const GemmGeometry& g, Direction d) {
  const int64_t hi_pixels = g.oh * g.ow;
  const bool strided = g.stride[0] > 1 || g.stride[1] > 1;
  if (g.kh * g.kw == 1) return false;  // 1x1: im2col is a bare copy, oneDNN's kernels win
  if (!rule_on())
    return onednn_isa().find("amx") == std::string::npos && d != Direction::weights &&
           hi_pixels <= 4 && std::min(g.ic, g.oc) >= 256;
  switch (d) {
    case Direction::lo_to_hi:
      return g.oc >= 128 && (hi_pixels <= 16 || (strided && hi_pixels <= 64));
    case Direction::hi_to_lo:
      return g.oc >= 256 && (strided || hi_pixels <= 16);
    case Direction::weights:
      return std::min(g.ic, g.oc) >= 64;
  }
  return false;
}

bool use_gemm(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p, Direction d) {
  const CpuConvAlgorithm algo = cpu_conv_algorithm();
  if (algo == CpuConvAlgorithm::onednn) return false;
  GemmGeometry g;
  if (!gemm_geometry(x, w, y, p, g)) return false;
  return algo == CpuConvAlgorithm::gemm || gemm_wins(g, d);
}

// Whether the automatic choice takes Winograd for a 3x3 stride-1 layer. The rule is
// bench/kernels/winograd.cpp's study of ResNet-18's 3x3 layers (docs/KERNELS.md), F(4x4, 3x3)
// with the engine's automatic schedule (winograd_default_tile).
// At avx512 (Zen 4, no AMX): forward and backward-data (the forward pass of the rotated filter:
// the same cost) took 0.44-0.69x oneDNN's time on every layer of 32 channels or more (16
// channels: 1.1x); backward-weights 0.62-0.80x from 128 channels and on 64 at 8x8 (0.91x), but
// 1.22x on 64 at 32x32 and 1.41x on 32 at 16x16. The Zen 5 agrees (0.43-0.99x and 0.48-0.84x
// where the rule takes them; the data passes 1.1-1.4x at 16 channels).
// On AVX2 (an x86-64-v3 build, oneDNN and OpenBLAS capped at AVX2 on the Zen 5): the data passes
// 0.37-0.76x oneDNN's time from 32 channels (16: 0.78x forward but 1.10x backward-data);
// backward-weights 0.34-0.58x the better of oneDNN and im2col + sgemm from 64 channels (32 at
// 16x16: 0.91x, 16 at 32x32: 1.7x).
// On the Xeon with AMX Winograd lost on 6 of 8 layers forward, so there the rule keeps oneDNN.
bool winograd_wins(const GemmGeometry& g, Direction d) {
  static const std::string isa = onednn_isa();
  const int64_t channels = std::min(g.ic, g.oc), pixels = g.h * g.w;
  if (isa.find("amx") != std::string::npos) return false;
  if (isa.rfind("avx512", 0) != 0) return channels >= (d == Direction::weights ? 64 : 32);
  if (d == Direction::weights) return channels >= 128 || (channels >= 64 && pixels <= 64);
  return channels >= 32;
}

bool use_winograd(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                  Direction d) {
  const CpuConvAlgorithm algo = cpu_conv_algorithm();
  if (algo == CpuConvAlgorithm::onednn || algo == CpuConvAlgorithm::gemm) return false;
  GemmGeometry g;
  if (!winograd_applies(x, w, y, p, g)) return false;
  return algo == CpuConvAlgorithm::winograd || winograd_wins(g, d);
}

// Whether the automatic choice takes polyphase Winograd for a 4x4 stride-2 layer (the VAE's;
// g.oh x g.ow is the small side). The rule is bench/kernels/conv.cpp's study of the VAE's
// layers on the Zen 5 at avx512 and capped at AVX2 (docs/KERNELS.md): from 128 channels it took
// 0.48-0.93x the time of the better of oneDNN and im2col + sgemm in every pass (one tie, 1.02x)
// but the data passes at 2x2 pixels (one F(2x2) tile per image: sgemms of n rows against a
// weight transform 2.25x the weight; 1.1-1.6x there). The 3-channel first layer stays with
// oneDNN (polyphase 1.5-5.3x slower).
bool polyphase_wins(const GemmGeometry& g, Direction d) {
  static const std::string isa = onednn_isa();
  if (isa.find("amx") != std::string::npos) return false;
  return std::min(g.ic, g.oc) >= 64 && (d == Direction::weights || g.oh * g.ow >= 16);
}

bool use_polyphase(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                   Direction d) {
  const CpuConvAlgorithm algo = cpu_conv_algorithm();
  if (algo == CpuConvAlgorithm::onednn || algo == CpuConvAlgorithm::gemm) return false;
  GemmGeometry g;
  if (!polyphase_applies(x, w, y, p, g)) return false;
  return algo == CpuConvAlgorithm::winograd || polyphase_wins(g, d);
}

void conv_forward_cpu(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                      Tensor& y) {
  if (use_winograd(x, w, y, p, Direction::lo_to_hi))
    winograd_forward(x, w, b, p, y);
  else if (use_polyphase(x, w, y, p, Direction::lo_to_hi))
    polyphase_forward(x, w, b, p, y);
  else if (use_gemm(x, w, y, p, p.transposed ? Direction::hi_to_lo : Direction::lo_to_hi))
    gemm_forward(x, w, b, p, y);
  else
    onednn_forward(x, w, b, p, y);
}

void conv_backward_data_cpu(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx) {
  if (use_winograd(gx, w, gy, p, Direction::hi_to_lo))
    winograd_backward_data(gy, w, p, gx);
  else if (use_polyphase(gx, w, gy, p, Direction::hi_to_lo))
    polyphase_backward_data(gy, w, p, gx);
  else if (use_gemm(gx, w, gy, p, p.transposed ? Direction::lo_to_hi : Direction::hi_to_lo))
    gemm_backward_data(gy, w, p, gx);
  else
    onednn_backward_data(gy, w, p, gx);
}

void conv_backward_weights_cpu(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                               Tensor& gb) {
  if (use_winograd(x, gw, gy, p, Direction::weights))
    winograd_backward_weights(x, gy, p, gw, gb);
  else if (use_polyphase(x, gw, gy, p, Direction::weights))
    polyphase_backward_weights(x, gy, p, gw, gb);
  else if (use_gemm(x, gw, gy, p, Direction::weights))
    gemm_backward_weights(x, gy, p, gw, gb);
  else
    onednn_backward_weights(x, gy, p, gw, gb);
}

}  // namespace

SR_REGISTER_KERNEL(conv_forward, cpu, conv_forward_cpu);
SR_REGISTER_KERNEL(conv_backward_data, cpu, conv_backward_data_cpu);
SR_REGISTER_KERNEL(conv_backward_weights, cpu, conv_backward_weights_cpu);

// The tile with the fewer products per image, ceil(h/m) ceil(w/m) (m+2)^2: F(4x4) from 3x3
// pixels up, 4x fewer multiplications than the direct form against F(2x2)'s 2.25x; in the study
// 0.5-0.8x F(2x2)'s time on the layers of 32 channels or more at avx512 (Zen 4) and 0.66-0.93x
// at AVX2 (Zen 5 capped). F(2x2) with AMX, where the rule keeps oneDNN and F(4x4) was never
// measured (--cpu-conv winograd there).
int winograd_default_tile(int64_t h, int64_t w) {
  if (onednn_isa().find("amx") != std::string::npos) return 2;
  auto products = [h, w](int64_t m) {
    return (h + m - 1) / m * ((w + m - 1) / m) * (m + 2) * (m + 2);
  };
  return products(4) <= products(2) ? 4 : 2;
}

// Polyphase F(m x m, 2x2) over the small side's h x w: the fewer products, ceil(h/m) ceil(w/m)
// (m+1)^2 per image, but F(4x4) only with 4 or more of its tiles per image: with fewer the
// sgemms have few rows against a weight transform 25/4 of the weight, and in the study F(4x4)
// took 1.1-2.2x F(2x2)'s time at 4x4 pixels (one tile) and 0.80-1.09x at 8x8 (four).
int polyphase_default_tile(int64_t h, int64_t w) {
  auto tiles = [h, w](int64_t m) { return (h + m - 1) / m * ((w + m - 1) / m); };
  return tiles(4) >= 4 && tiles(4) * 25 <= tiles(2) * 9 ? 4 : 2;
}

}  // namespace sr::cpu_conv

namespace sr {
std::string cpu_conv_summary() {
  switch (cpu_conv_algorithm()) {
    case CpuConvAlgorithm::onednn:
      return "onednn (oneDNN's direct kernels only)";
    case CpuConvAlgorithm::gemm:
      return "gemm (im2col + sgemm wherever it applies)";
    case CpuConvAlgorithm::winograd:
      return "winograd (F(2x2,3x3) or F(4x4,3x3) for every 3x3 stride-1 layer, polyphase "
             "F(m x m,2x2) for every 4x4 stride-2 one, else auto)";
    default:
      return cpu_conv::rule_on()
                 ? "auto (oneDNN's direct kernels; Winograd F(4x4,3x3), polyphase Winograd for "
                   "4x4 stride-2 layers and im2col + sgemm for the AVX2 rules' shapes)"
             : onednn_isa().find("amx") != std::string::npos
                 ? "auto (oneDNN's direct kernels: the Winograd and im2col + sgemm rules are off "
                   "with AMX)"
                 : "auto (oneDNN's direct kernels; Winograd F(4x4,3x3) and polyphase Winograd for "
                   "the avx512 rules' shapes, im2col + sgemm for 2x2-pixel deep layers)";
  }
}
}  // namespace sr
