// CPU convolution and transposed convolution through oneDNN: forward, backward-data and
// backward-weights (with bias).
//
// Activations are passed to oneDNN with their own strides (NCHW or NHWC: NHWC selects the fast
// brgemm/jit kernels); weights stay in PyTorch's layout (conv: O,I,kh,kw; transposed: I,O,kh,kw)
// and are reordered to the kernel's preferred blocked layout on the fly. Primitives are created
// once per geometry and cached.
//
// Two oneDNN 2.6.3 implementations are skipped for some geometries (see
// skip_faulty_bwd_weights): its 1x1 backward-weights kernels corrupt memory when they reduce a
// strided 1x1 convolution with few input channels to unit stride.

#include <algorithm>
#include <vector>

#include "engine/cpu/conv_cpu.h"
#include "engine/cpu/onednn_util.h"

namespace sr::cpu_conv {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

struct ConvPrims {
  memory::desc src, dst, user_w, bias;
  bool has_bias = false;
  bool transposed = false;
  memory::dims strides, dilates, pad_l, pad_r;
  // Forward (both kinds). The backward ones are made on first use.
  std::shared_ptr<dnnl::primitive_desc> fwd_pd;
  std::shared_ptr<dnnl::primitive> fwd;
  std::shared_ptr<dnnl::primitive_desc> bwd_data_pd;
  std::shared_ptr<dnnl::primitive> bwd_data;
  // Backward-weights, always as a convolution (see make_bwd_weights): its user weight layout,
  // and for a transposed convolution with bias the reduction that sums the bias gradient.
  std::shared_ptr<dnnl::primitive_desc> bwd_w_pd;
  std::shared_ptr<dnnl::primitive> bwd_w;
  memory::desc bwd_w_user, bias_sum_md;
  std::shared_ptr<dnnl::primitive> bias_sum;

  memory::desc any_w() const {
    return memory::desc(user_w.dims(), memory::data_type::f32, tag::any);
  }
};

onednn::PrimitiveCache<ConvPrims>& cache() {
  static onednn::PrimitiveCache<ConvPrims> c;
  return c;
}

// The geometry of the call: x and y as given, w in PyTorch layout.
std::shared_ptr<ConvPrims> prims_for(const Tensor& x, const Tensor& w, bool has_bias,
                                     const Tensor& y, const ConvParams& p) {
  std::string key =
      fmt::format("{}|{}|{}|{},{},{},{},{},{}|{},{}", onednn::key_of(x), onednn::key_of(w),
                  onednn::key_of(y), p.stride[0], p.stride[1], p.padding[0], p.padding[1],
                  p.dilation[0], p.dilation[1], int(p.transposed), int(has_bias));
  return cache().get(key, [&] {
    auto c = std::make_shared<ConvPrims>();
    c->transposed = p.transposed;
    c->has_bias = has_bias;
    MemoryFormat fmt = onednn::shared_format(y, x);
    c->src = onednn::desc_of(x, fmt);
    c->dst = onednn::desc_of(y, fmt);
    const Shape& ws = w.shape();
    if (p.transposed) {  // PyTorch (in, out, kh, kw) is oneDNN's (OC=out, IC=in) in iohw order
      c->user_w = memory::desc({ws[1], ws[0], ws[2], ws[3]}, memory::data_type::f32, tag::iohw);
      c->bias = memory::desc({ws[1]}, memory::data_type::f32, tag::a);
    } else {
      c->user_w = memory::desc({ws[0], ws[1], ws[2], ws[3]}, memory::data_type::f32, tag::oihw);
      c->bias = memory::desc({ws[0]}, memory::data_type::f32, tag::a);
    }
    c->strides = {p.stride[0], p.stride[1]};
    c->dilates = {p.dilation[0] - 1, p.dilation[1] - 1};
    c->pad_l = {p.padding[0], p.padding[1]};
    c->pad_r = {p.padding[0], p.padding[1]};
    memory::desc no_bias;
    if (p.transposed) {
      auto d = dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_training,
                                                 dnnl::algorithm::deconvolution_direct, c->src,
                                                 c->any_w(), has_bias ? c->bias : no_bias, c->dst,
                                                 c->strides, c->dilates, c->pad_l, c->pad_r);
      auto pd = std::make_shared<dnnl::deconvolution_forward::primitive_desc>(d, onednn::engine());
      c->fwd = std::make_shared<dnnl::deconvolution_forward>(*pd);
      c->fwd_pd = pd;
    } else {
      auto d = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                               dnnl::algorithm::convolution_direct, c->src,
                                               c->any_w(), has_bias ? c->bias : no_bias, c->dst,
                                               c->strides, c->dilates, c->pad_l, c->pad_r);
      auto pd = std::make_shared<dnnl::convolution_forward::primitive_desc>(d, onednn::engine());
      c->fwd = std::make_shared<dnnl::convolution_forward>(*pd);
      c->fwd_pd = pd;
    }
    return c;
  });
}

void make_bwd_data(ConvPrims& c) {
  if (c.bwd_data) return;
  if (c.transposed) {
    auto d = dnnl::deconvolution_backward_data::desc(dnnl::algorithm::deconvolution_direct, c.src,
                                                     c.any_w(), c.dst, c.strides, c.dilates,
                                                     c.pad_l, c.pad_r);
    auto hint = std::static_pointer_cast<dnnl::deconvolution_forward::primitive_desc>(c.fwd_pd);
    auto pd = std::make_shared<dnnl::deconvolution_backward_data::primitive_desc>(
        d, onednn::engine(), *hint);
    c.bwd_data = std::make_shared<dnnl::deconvolution_backward_data>(*pd);
    c.bwd_data_pd = pd;
  } else {
    auto d =
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, c.src, c.any_w(),
                                              c.dst, c.strides, c.dilates, c.pad_l, c.pad_r);
    auto hint = std::static_pointer_cast<dnnl::convolution_forward::primitive_desc>(c.fwd_pd);
    auto pd = std::make_shared<dnnl::convolution_backward_data::primitive_desc>(d, onednn::engine(),
                                                                                *hint);
    c.bwd_data = std::make_shared<dnnl::convolution_backward_data>(*pd);
    c.bwd_data_pd = pd;
  }
}

// oneDNN 2.6.3's 1x1 backward-weights kernels ("jit_1x1:avx2", "jit_1x1:avx512_core"), for a
// strided 1x1 convolution whose input has fewer channels than their vector (8 floats on AVX2,
// 16 on AVX-512), first copy the strided input into their scratchpad at unit stride ("reduce to
// unit stride") in whole vectors. The copies run past the end of the scratchpad (16 to 1,424
// bytes measured: heap corruption, crashes later in malloc) and the threads' copies overlap
// (wrong weight gradients). Measured with a canary after a user-managed scratchpad, over 7,644
// NHWC geometries (batch 1-3, 1x1/3x3, strides 1-2, 1-20 channels) per ISA and 1-4 threads:
// AVX2 at IC 1-7 on any thread count, AVX-512 at IC 1-12 (batch 1 or 3, 12x12) on 2 or more;
// never forward, backward-data, bias, other kernels or the SSE4.1/AVX ISAs. ResNet-18's
// downsample convolutions at width <= 1/8 (IC 4-7) hit it. Such geometries take oneDNN's next
// implementation (tests/test_conv_geometries.cpp covers every direction under each ISA).
void skip_faulty_bwd_weights(dnnl::convolution_backward_weights::primitive_desc& pd,
                             const memory::dims& strides, const memory::dims& w_dims) {
  const bool strided = strides[0] > 1 || strides[1] > 1;
  const bool one_by_one = w_dims[2] == 1 && w_dims[3] == 1;
  if (!(strided && one_by_one && w_dims[1] < 16)) return;
  while (std::string(pd.impl_info_str()).rfind("jit_1x1:", 0) == 0)
    if (!pd.next_impl())
      throw Error(
          fmt::format("conv_backward_weights: oneDNN offers no implementation besides "
                      "its faulty {} kernel for this geometry",
                      pd.impl_info_str()));
}

// Backward-weights of both kinds as one convolution: a transposed convolution's weight gradient
// is that of the convolution with input and output swapped (its output as the convolution's
// input), whose (out, in, kh, kw) weight is PyTorch's (in, out, kh, kw) transposed-convolution
// weight, byte for byte. (oneDNN's deconvolution does the same internally, but then offers no
// way around the faulty kernel.) Its bias gradient, a sum of the output gradient over
// (N, H, W), is a oneDNN reduction.
void make_bwd_weights(ConvPrims& c) {
  if (c.bwd_w) return;
  const memory::desc& conv_src = c.transposed ? c.dst : c.src;
  const memory::desc& conv_dst = c.transposed ? c.src : c.dst;
  memory::dims wd = c.user_w.dims();
  if (c.transposed) wd = {wd[1], wd[0], wd[2], wd[3]};
  c.bwd_w_user = memory::desc(wd, memory::data_type::f32, tag::oihw);
  memory::desc any_w(wd, memory::data_type::f32, tag::any);
  memory::desc no_bias;
  const bool conv_bias = c.has_bias && !c.transposed;
  auto fd = dnnl::convolution_forward::desc(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, conv_src, any_w,
      conv_bias ? c.bias : no_bias, conv_dst, c.strides, c.dilates, c.pad_l, c.pad_r);
  dnnl::convolution_forward::primitive_desc hint(fd, onednn::engine());
  auto d = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, conv_src,
                                                    any_w, conv_bias ? c.bias : no_bias, conv_dst,
                                                    c.strides, c.dilates, c.pad_l, c.pad_r);
  auto pd = std::make_shared<dnnl::convolution_backward_weights::primitive_desc>(
      d, onednn::engine(), hint);
  skip_faulty_bwd_weights(*pd, c.strides, wd);
  c.bwd_w = std::make_shared<dnnl::convolution_backward_weights>(*pd);
  c.bwd_w_pd = pd;
  // A single output pixel (1 image of 1 x 1) has nothing to reduce, and oneDNN refuses a
  // reduction whose source and destination shapes are equal: onednn_backward_weights copies.
  const memory::dims& out = c.dst.dims();
  if (c.has_bias && c.transposed && out[0] * out[2] * out[3] > 1) {
    memory::desc sum_md({1, c.bias.dims()[0], 1, 1}, memory::data_type::f32, tag::nchw);
    dnnl::reduction::primitive_desc rpd(
        dnnl::reduction::desc(dnnl::algorithm::reduction_sum, c.dst, sum_md, 0.f, 0.f),
        onednn::engine());
    c.bias_sum_md = sum_md;
    c.bias_sum = std::make_shared<dnnl::reduction>(rpd);
  }
}

}  // namespace

void onednn_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                    Tensor& y) {
  auto c = prims_for(x, w, b.defined(), y, p);
  memory wm = onednn::to_layout(memory(c->user_w, onednn::engine(), w.raw_data()),
                                c->fwd_pd->weights_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, onednn::memory_of(x, c->src)},
                                       {DNNL_ARG_WEIGHTS, wm},
                                       {DNNL_ARG_DST, onednn::memory_of(y, c->dst)}};
  if (b.defined()) args[DNNL_ARG_BIAS] = memory(c->bias, onednn::engine(), b.raw_data());
  onednn::run(*c->fwd, args);
}

void onednn_backward_data(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx) {
  // The geometry key uses gx/gy in place of x/y: same shapes and layouts by contract.
  auto c = prims_for(gx, w, false, gy, p);
  make_bwd_data(*c);
  memory wm = onednn::to_layout(memory(c->user_w, onednn::engine(), w.raw_data()),
                                c->bwd_data_pd->weights_desc());
  onednn::run(*c->bwd_data, {{DNNL_ARG_DIFF_DST, onednn::memory_of(gy, c->dst)},
                             {DNNL_ARG_WEIGHTS, wm},
                             {DNNL_ARG_DIFF_SRC, onednn::memory_of(gx, c->src)}});
}

void onednn_backward_weights(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                             Tensor& gb) {
  auto c = prims_for(x, gw, gb.defined(), gy, p);
  make_bwd_weights(*c);
  memory user_gw(c->bwd_w_user, onednn::engine(), gw.raw_data());
  memory::desc want = c->bwd_w_pd->diff_weights_desc();
  memory gwm = want == c->bwd_w_user ? user_gw : memory(want, onednn::engine());
  // The convolution's input and output gradient: swapped for a transposed convolution.
  memory in = c->transposed ? onednn::memory_of(gy, c->dst) : onednn::memory_of(x, c->src);
  memory out = c->transposed ? onednn::memory_of(x, c->src) : onednn::memory_of(gy, c->dst);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, in}, {DNNL_ARG_DIFF_DST, out}, {DNNL_ARG_DIFF_WEIGHTS, gwm}};
  if (gb.defined() && !c->transposed)
    args[DNNL_ARG_DIFF_BIAS] = memory(c->bias, onednn::engine(), gb.raw_data());
  onednn::run(*c->bwd_w, args);
  onednn::from_layout(gwm, user_gw);
  if (gb.defined() && c->transposed && c->bias_sum) {
    onednn::run(*c->bias_sum,
                {{DNNL_ARG_SRC, in},
                 {DNNL_ARG_DST, memory(c->bias_sum_md, onednn::engine(), gb.raw_data())}});
  } else if (gb.defined() && c->transposed) {  // one output pixel: its C values are the sum
    const std::vector<float> v = gy.to_vector();
    std::copy(v.begin(), v.end(), gb.data<float>());
  }
}

}  // namespace sr::cpu_conv
