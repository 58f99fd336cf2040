// The CPU convolution's implementations behind one set of slots (conv_cpu.cpp chooses):
// oneDNN's direct kernels (conv_onednn.cpp), the GEMM form, im2col + OpenBLAS sgemm
// (conv_gemm.cpp), and Winograd F(2x2 or 4x4, 3x3) for 3x3 stride-1 layers (conv_winograd.cpp). All
// take the kernels' contract (engine/kernels.h): x, y, gx, gy in NCHW logical shape (the GEMM
// form and Winograd need them dense channels-last), weights in PyTorch's layout
// (conv (out, in, kh, kw), transposed (in, out, kh, kw)), results overwritten.
#pragma once

#include <cstdint>

#include "engine/kernels.h"

namespace sr::cpu_conv {

// oneDNN's direct convolution and deconvolution (conv_onednn.cpp).
void onednn_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                    Tensor& y);
void onednn_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx);
void onednn_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                             Tensor& gb);

// A convolution seen as a matrix product: the "lo" side (the convolution's input; a transposed
// convolution's output) has ic channels of h x w, the "hi" side (the convolution's output; a
// transposed convolution's input) oc channels of oh x ow, and the weight is (oc, ic, kh, kw)
// for both kinds. Each hi pixel p = (n, oh, ow) reads one im2col row of kh*kw*ic values
// (taps outer, channels inner, as NHWC lays them out).
struct GemmGeometry {
  int64_t n, ic, h, w, oc, oh, ow, kh, kw;
  int64_t stride[2], pad[2], dil[2];
  int64_t rows() const { return n * oh * ow; }   // P: hi pixels
  int64_t cols() const { return kh * kw * ic; }  // one im2col row
};

// The geometry of a call (x and y as the slot receives them), or false when the GEMM form does
// not apply: tensors not dense channels-last, or sizes beyond int (BLAS's index type).
bool gemm_geometry(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                   GemmGeometry& g);

// The im2col matrix is built in chunks of at most this many floats (at least one row, or one
// image's rows for hi -> lo); 0 restores the default (4M). For tests of the chunk boundaries.
void set_gemm_chunk_floats(int64_t floats);

// gb = the column sums of gy (rows x c, dense): the bias gradient, in double over fixed chunks
// of rows, so that it does not depend on the thread count.
void bias_grad(const float* gy, int64_t rows, int64_t c, float* gb);

void gemm_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                  Tensor& y);
void gemm_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx);
void gemm_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                           Tensor& gb);

// Winograd F(m x m, 3x3), m = 2 or 4, for 3x3 stride-1 padding-1 convolutions and transposed
// convolutions (conv_winograd.cpp), dense channels-last. winograd_applies fills g as
// gemm_geometry does. The schedule and the tile are for the kernel study and the tests (the
// weight gradient has one schedule); the engine takes automatic and 0 (the tile rule's).
enum class WinogradSchedule { automatic, whole, blocked };
bool winograd_applies(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                      GemmGeometry& g);
void winograd_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                      Tensor& y, WinogradSchedule s = WinogradSchedule::automatic, int tile = 0);
void winograd_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx,
                            WinogradSchedule s = WinogradSchedule::automatic, int tile = 0);
void winograd_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                               Tensor& gb, int tile = 0);
// The output tile (2 or 4) the engine takes for an h x w image (conv_cpu.cpp, from the study).
int winograd_default_tile(int64_t h, int64_t w);
// The schedule that automatic calls take; automatic (the default) restores the size rule. For
// tests of both schedules through the slots.
void set_winograd_schedule(WinogradSchedule s);
// The tile that calls with tile 0 take: 2 or 4, or 0 (the default) for the rule's. For tests.
void set_winograd_tile(int tile);
// The whole schedule and the weight gradient take the tiles in chunks of at most this many
// floats of V and M (at least one tile); 0 restores the default (16M). For tests of the chunks.
void set_winograd_chunk_floats(int64_t floats);
// The settings above as both Winograd paths read them.
int64_t winograd_chunk_floats();
int winograd_tile_setting();

// 4x4 stride-2 padding-1 convolutions and transposed convolutions (an even big side) as 2x2
// stride-1 ones on polyphase components, each by Winograd F(m x m, 2x2), m = 2 or 4
// (conv_polyphase.cpp), dense channels-last. The tile (0: set_winograd_tile's, else the rule's)
// and the chunk (set_winograd_chunk_floats) are shared with the 3x3 path.
bool polyphase_applies(const Tensor& x, const Tensor& w, const Tensor& y, const ConvParams& p,
                       GemmGeometry& g);
void polyphase_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                       Tensor& y, int tile = 0);
void polyphase_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx,
                             int tile = 0);
void polyphase_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                                Tensor& gb, int tile = 0);
// The output tile (2 or 4) for a small side of h x w: the fewer products, ceil(h/m) ceil(w/m)
// (m+1)^2 (conv_cpu.cpp).
int polyphase_default_tile(int64_t h, int64_t w);

}  // namespace sr::cpu_conv
