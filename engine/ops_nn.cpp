// Neural-network ops: linear/matmul, convolution, transposed convolution, batch norm, pooling,
// global average pooling, bilinear resizing and dropout.
//
// Gradient rules:
//   linear y = x W^T + b:  gx = g W,  gW = g^T x,  gb = sum_rows(g)
//   matmul y = a b:        ga = g b^T,  gb = a^T g
//   conv / conv_transpose / batch_norm / pooling: the device's backward kernels
//   global_avg_pool: g / (H W) broadcast;  upsample: the bilinear weights scattered back
//   dropout: g * mask / (1 - p), the mask regenerated from (seed, stream, first element)
#include "engine/autograd.h"
#include "engine/ops.h"

namespace sr {

namespace {
MemoryFormat g_conv_format = MemoryFormat::channels_last;

std::string conv_str(const ConvParams& p) {
  return fmt::format("stride ({}, {}), padding ({}, {}), dilation ({}, {})", p.stride[0],
                     p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1]);
}
}  // namespace

namespace {
thread_local FlopCounter* t_flops = nullptr;
}

FlopCounter::FlopCounter() : prev_(t_flops) {
  t_flops = this;
}
FlopCounter::~FlopCounter() {
  t_flops = prev_;
}
void FlopCounter::add(double flops) {
  for (FlopCounter* c = t_flops; c; c = c->prev_) c->flops_ += flops;
}

MemoryFormat preferred_conv_format() {
  return g_conv_format;
}
void set_preferred_conv_format(MemoryFormat fmt) {
  g_conv_format = fmt;
}

// ---------------------------------------------------------------- linear algebra

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_dim(a, 2, "matmul", "first operand");
  check_dim(b, 2, "matmul", "second operand");
  check_dtype(a, DType::f32, "matmul", "first operand");
  check_dtype(b, DType::f32, "matmul", "second operand");
  check_same_device(a, b, "matmul");
  SR_CHECK_SHAPE(a.size(1) == b.size(0), "matmul: inner sizes differ: {} x {}",
                 shape_str(a.shape()), shape_str(b.shape()));
  Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor y = Tensor::empty({a.size(0), b.size(1)}, DType::f32, a.device());
  kernels::gemm(a.device(), false, false, 1.f, ac, bc, 0.f, y);
  FlopCounter::add(2.0 * double(a.size(0)) * double(a.size(1)) * double(b.size(1)));
  record_op("matmul", {ac, bc}, {y}, [&] {
    return [sa = save(ac), sb = save(bc)](const std::vector<Tensor>& g) {
      Tensor gy = g[0].contiguous();
      Tensor ga = Tensor::empty(sa.shape(), DType::f32, gy.device());
      Tensor gb = Tensor::empty(sb.shape(), DType::f32, gy.device());
      kernels::gemm(gy.device(), false, true, 1.f, gy, sb, 0.f, ga);
      kernels::gemm(gy.device(), true, false, 1.f, sa, gy, 0.f, gb);
      return std::vector<Tensor>{ga, gb};
    };
  });
  return y;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_dim(x, 2, "linear", "input");
  check_dim(weight, 2, "linear", "weight");
  check_dtype(x, DType::f32, "linear", "input");
  check_same_device(x, weight, "linear");
  SR_CHECK_SHAPE(x.size(1) == weight.size(1),
                 "linear: input {} has {} features but weight {} expects {}", shape_str(x.shape()),
                 x.size(1), shape_str(weight.shape()), weight.size(1));
  int64_t N = x.size(0), O = weight.size(0);
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor y = Tensor::empty({N, O}, DType::f32, x.device());
  float beta = 0.f;
  if (bias.defined()) {
    check_same_device(x, bias, "linear");
    SR_CHECK_SHAPE(bias.dim() == 1 && bias.size(0) == O,
                   "linear: bias {} does not match {} outputs", shape_str(bias.shape()), O);
    kernels::copy(x.device(), make_view(bias, {N, O}, {0, bias.stride(0)}, bias.offset()), y);
    beta = 1.f;
  }
  kernels::gemm(x.device(), false, true, 1.f, xc, wc, beta, y);
  FlopCounter::add(2.0 * double(N) * double(O) * double(x.size(1)));
  record_op("linear", {xc, wc, bias}, {y}, [&] {
    bool need_x = xc.requires_grad(), need_w = wc.requires_grad();
    bool need_b = bias.defined() && bias.requires_grad();
    return [sx = need_w ? save(xc) : Tensor(), sw = need_x ? save(wc) : Tensor(), need_x, need_w,
            need_b, xs = xc.shape(), ws = wc.shape()](const std::vector<Tensor>& g) {
      Tensor gy = g[0].contiguous();
      Tensor gx, gw, gb;
      if (need_x) {
        gx = Tensor::empty(xs, DType::f32, gy.device());
        kernels::gemm(gy.device(), false, false, 1.f, gy, sw, 0.f, gx);
      }
      if (need_w) {
        gw = Tensor::empty(ws, DType::f32, gy.device());
        kernels::gemm(gy.device(), true, false, 1.f, gy, sx, 0.f, gw);
      }
      if (need_b) gb = sum(gy, {0});
      return std::vector<Tensor>{gx, gw, gb};
    };
  });
  return y;
}

// ---------------------------------------------------------------- convolution

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t dilation) {
  ConvParams p;
  p.stride[0] = p.stride[1] = stride;
  p.padding[0] = p.padding[1] = padding;
  p.dilation[0] = p.dilation[1] = dilation;
  return conv2d(x, weight, bias, p);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
                        int64_t padding, int64_t output_padding, int64_t dilation) {
  ConvParams p;
  p.stride[0] = p.stride[1] = stride;
  p.padding[0] = p.padding[1] = padding;
  p.dilation[0] = p.dilation[1] = dilation;
  p.output_padding[0] = p.output_padding[1] = output_padding;
  p.transposed = true;
  return conv2d(x, weight, bias, p);
}

// Handles both kinds: p.transposed selects the transposed convolution.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvParams& p) {
  const char* name = p.transposed ? "conv_transpose2d" : "conv2d";
  check_dim(x, 4, name, "input");
  check_dim(weight, 4, name, "weight");
  check_dtype(x, DType::f32, name, "input");
  check_dtype(weight, DType::f32, name, "weight");
  check_same_device(x, weight, name);
  for (int i = 0; i < 2; ++i)
    SR_CHECK_VALUE(p.stride[i] >= 1 && p.dilation[i] >= 1 && p.padding[i] >= 0,
                   "{}: invalid geometry {}", name, conv_str(p));
  int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  int64_t in_ch = p.transposed ? weight.size(0) : weight.size(1);
  int64_t out_ch = p.transposed ? weight.size(1) : weight.size(0);
  SR_CHECK_SHAPE(C == in_ch, "{}: input {} has {} channels but weight {} expects {}", name,
                 shape_str(x.shape()), C, shape_str(weight.shape()), in_ch);
  int64_t kh = weight.size(2), kw = weight.size(3);
  int64_t OH, OW;
  if (p.transposed) {
    for (int i = 0; i < 2; ++i)
      SR_CHECK_VALUE(
          p.output_padding[i] >= 0 && p.output_padding[i] < std::max(p.stride[i], p.dilation[i]),
          "{}: output_padding {} must be smaller than stride or dilation", name,
          p.output_padding[i]);
    OH = (H - 1) * p.stride[0] - 2 * p.padding[0] + p.dilation[0] * (kh - 1) + p.output_padding[0] +
         1;
    OW = (W - 1) * p.stride[1] - 2 * p.padding[1] + p.dilation[1] * (kw - 1) + p.output_padding[1] +
         1;
  } else {
    OH = (H + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0] + 1;
    OW = (W + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1] + 1;
    SR_CHECK_SHAPE(H + 2 * p.padding[0] >= p.dilation[0] * (kh - 1) + 1 &&
                       W + 2 * p.padding[1] >= p.dilation[1] * (kw - 1) + 1,
                   "{}: input {} is smaller than the kernel {} ({})", name, shape_str(x.shape()),
                   shape_str(weight.shape()), conv_str(p));
  }
  SR_CHECK_SHAPE(OH > 0 && OW > 0, "{}: input {} with weight {} and {} gives an empty output", name,
                 shape_str(x.shape()), shape_str(weight.shape()), conv_str(p));
  if (bias.defined()) {
    check_same_device(x, bias, name);
    SR_CHECK_SHAPE(bias.dim() == 1 && bias.size(0) == out_ch,
                   "{}: bias {} does not match {} outputs", name, shape_str(bias.shape()), out_ch);
  }
  MemoryFormat fmt = preferred_conv_format();
  Tensor xin = x.contiguous(fmt), w = weight.contiguous();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty({N, out_ch, OH, OW}, DType::f32, x.device(), fmt);
  kernels::conv_forward(x.device(), xin, w, b, p, y);
  // MACs: every (input pixel, kernel tap) pair of a transposed conv, every (output pixel, tap)
  // of a conv.
  double pixels = p.transposed ? double(N * H * W) : double(N * OH * OW);
  FlopCounter::add(2.0 * pixels * double(in_ch) * double(out_ch) * double(kh * kw));
  record_op(name, {xin, w, b}, {y}, [&] {
    bool need_x = xin.requires_grad();
    bool need_w = w.requires_grad() || (b.defined() && b.requires_grad());
    return [sx = need_w ? save(xin) : Tensor(), sw = need_x ? save(w) : Tensor(), need_x, need_w,
            has_b = b.defined(), p, fmt, xs = xin.shape(),
            ws = w.shape()](const std::vector<Tensor>& g) {
      Tensor gy = g[0].contiguous(fmt);
      Tensor gx, gw, gb;
      if (need_x) {
        gx = Tensor::empty(xs, DType::f32, gy.device(), fmt);
        kernels::conv_backward_data(gy.device(), gy, sw, p, gx);
      }
      if (need_w) {
        gw = Tensor::empty(ws, DType::f32, gy.device());
        if (has_b) gb = Tensor::empty({p.transposed ? ws[1] : ws[0]}, DType::f32, gy.device());
        kernels::conv_backward_weights(gy.device(), sx, gy, p, gw, gb);
      }
      return std::vector<Tensor>{gx, gw, gb};
    };
  });
  return y;
}

// ---------------------------------------------------------------- batch norm

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum, float eps) {
  check_dim(x, 4, "batch_norm", "input");
  check_dtype(x, DType::f32, "batch_norm", "input");
  int64_t C = x.size(1);
  auto check_vec = [&](const Tensor& t, const char* what) {
    if (!t.defined()) return;
    check_same_device(x, t, "batch_norm");
    SR_CHECK_SHAPE(t.dim() == 1 && t.size(0) == C, "batch_norm: {} {} does not match {} channels",
                   what, shape_str(t.shape()), C);
  };
  check_vec(weight, "weight");
  check_vec(bias, "bias");
  check_vec(running_mean, "running_mean");
  check_vec(running_var, "running_var");
  SR_CHECK_VALUE(training || (running_mean.defined() && running_var.defined()),
                 "batch_norm: eval mode needs running statistics");
  SR_CHECK_VALUE(!training || x.numel() / std::max<int64_t>(C, 1) > 1,
                 "batch_norm: training needs more than one value per channel, got input {}",
                 shape_str(x.shape()));
  MemoryFormat fmt = x.suggest_memory_format();
  Tensor xin = x.contiguous(fmt);
  Tensor w = weight.defined() ? weight.contiguous() : Tensor::ones({C}, DType::f32, x.device());
  Tensor b = bias.defined() ? bias.contiguous() : Tensor::zeros({C}, DType::f32, x.device());
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device(), fmt);
  Tensor save_mean, save_var;
  if (training) {
    save_mean = Tensor::empty({C}, DType::f32, x.device());
    save_var = Tensor::empty({C}, DType::f32, x.device());
  }
  kernels::batch_norm_forward(x.device(), xin, w, b, running_mean, running_var, training, momentum,
                              eps, y, save_mean, save_var);
  record_op("batch_norm", {xin, weight, bias}, {y}, [&] {
    Tensor m = training ? save_mean : save(running_mean);
    Tensor v = training ? save_var : save(running_var);
    return [sx = save(xin), sw = save(w), m, v, training, eps, fmt](const std::vector<Tensor>& g) {
      Tensor gy = g[0].contiguous(fmt);
      Tensor gx = Tensor::empty(sx.shape(), DType::f32, gy.device(), fmt);
      Tensor gw = Tensor::empty(sw.shape(), DType::f32, gy.device());
      Tensor gb = Tensor::empty(sw.shape(), DType::f32, gy.device());
      kernels::batch_norm_backward(gy.device(), sx, gy, sw, m, v, training, eps, gx, gw, gb);
      return std::vector<Tensor>{gx, gw, gb};
    };
  });
  return y;
}

// ---------------------------------------------------------------- pooling

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  PoolParams p;
  p.kind = PoolKind::max;
  p.kernel[0] = p.kernel[1] = kernel;
  p.stride[0] = p.stride[1] = stride;
  p.padding[0] = p.padding[1] = padding;
  return pool2d(x, p);
}

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding,
                  bool count_include_pad) {
  PoolParams p;
  p.kind = PoolKind::avg;
  p.kernel[0] = p.kernel[1] = kernel;
  p.stride[0] = p.stride[1] = stride;
  p.padding[0] = p.padding[1] = padding;
  p.count_include_pad = count_include_pad;
  return pool2d(x, p);
}

Tensor pool2d(const Tensor& x, const PoolParams& p) {
  const char* name = p.kind == PoolKind::max ? "max_pool2d" : "avg_pool2d";
  check_dim(x, 4, name, "input");
  check_dtype(x, DType::f32, name, "input");
  for (int i = 0; i < 2; ++i)
    SR_CHECK_VALUE(p.kernel[i] >= 1 && p.stride[i] >= 1 && p.padding[i] >= 0 &&
                       2 * p.padding[i] <= p.kernel[i],
                   "{}: invalid kernel {}x{}, stride {}, padding {} (padding at most half the "
                   "kernel)",
                   name, p.kernel[0], p.kernel[1], p.stride[i], p.padding[i]);
  int64_t H = x.size(2), W = x.size(3);
  SR_CHECK_SHAPE(H + 2 * p.padding[0] >= p.kernel[0] && W + 2 * p.padding[1] >= p.kernel[1],
                 "{}: input {} is smaller than the {}x{} kernel", name, shape_str(x.shape()),
                 p.kernel[0], p.kernel[1]);
  int64_t OH = (H + 2 * p.padding[0] - p.kernel[0]) / p.stride[0] + 1;
  int64_t OW = (W + 2 * p.padding[1] - p.kernel[1]) / p.stride[1] + 1;
  MemoryFormat fmt = x.suggest_memory_format();
  Tensor xin = x.contiguous(fmt);
  Tensor y = Tensor::empty({x.size(0), x.size(1), OH, OW}, DType::f32, x.device(), fmt);
  Tensor ws;
  bool grad = needs_grad({&xin});
  kernels::pool_forward(x.device(), xin, p, grad, y, ws);
  record_op(name, {xin}, {y}, [&] {
    return [sx = save(xin), sy = save(y), ws, p, fmt](const std::vector<Tensor>& g) {
      Tensor gy = g[0].contiguous(fmt);
      Tensor gx = Tensor::empty(sx.shape(), DType::f32, gy.device(), fmt);
      kernels::pool_backward(gy.device(), sx, sy, gy, ws, p, gx);
      return std::vector<Tensor>{gx};
    };
  });
  return y;
}

Tensor global_avg_pool(const Tensor& x) {
  check_dim(x, 4, "global_avg_pool", "input");
  check_dtype(x, DType::f32, "global_avg_pool", "input");
  MemoryFormat fmt = x.suggest_memory_format();
  Tensor xin = x.contiguous(fmt);
  Tensor y = Tensor::empty({x.size(0), x.size(1)}, DType::f32, x.device());
  kernels::global_avg_pool(x.device(), xin, y);
  record_op("global_avg_pool", {xin}, {y}, [&] {
    return [xs = x.shape(), fmt](const std::vector<Tensor>& g) {
      Tensor gx = Tensor::empty(xs, DType::f32, g[0].device(), fmt);
      kernels::global_avg_pool_backward(g[0].device(), g[0].contiguous(), gx);
      return std::vector<Tensor>{gx};
    };
  });
  return y;
}

// ---------------------------------------------------------------- resizing and dropout

Tensor upsample_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  check_dim(x, 4, "upsample_bilinear", "input");
  check_dtype(x, DType::f32, "upsample_bilinear", "input");
  SR_CHECK_VALUE(out_h > 0 && out_w > 0, "upsample_bilinear: output size {}x{} must be positive",
                 out_h, out_w);
  SR_CHECK_SHAPE(x.size(2) > 0 && x.size(3) > 0, "upsample_bilinear: empty input {}",
                 shape_str(x.shape()));
  Tensor xin = x.contiguous();
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, DType::f32, x.device());
  kernels::upsample_bilinear(x.device(), xin, align_corners, y);
  record_op("upsample_bilinear", {xin}, {y}, [&] {
    return [xs = x.shape(), align_corners](const std::vector<Tensor>& g) {
      Tensor gx = Tensor::empty(xs, DType::f32, g[0].device());
      kernels::upsample_bilinear_backward(g[0].device(), g[0].contiguous(), align_corners, gx);
      return std::vector<Tensor>{gx};
    };
  });
  return y;
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen, int64_t first_row) {
  check_dtype(x, DType::f32, "dropout", "input");
  SR_CHECK_VALUE(p >= 0.f && p <= 1.f, "dropout: probability {} outside [0, 1]", p);
  SR_CHECK_VALUE(first_row >= 0 && (first_row == 0 || x.dim() >= 1),
                 "dropout: first row {} of {} (must be >= 0, rows in dim 0)", first_row, x.str());
  if (!training || p == 0.f) return x;
  if (p == 1.f) return mul(x, 0.f);
  MemoryFormat fmt = x.suggest_memory_format();
  Tensor xin = x.contiguous(fmt);
  Tensor y = xin.empty_like();
  uint64_t seed = gen.seed(), stream = gen.next_stream();
  // Rows are outermost in both memory formats: row r's elements start at r * (numel / rows).
  const uint64_t first =
      first_row == 0 ? 0
                     : uint64_t(first_row) * uint64_t(x.numel() / std::max<int64_t>(1, x.size(0)));
  kernels::dropout(x.device(), xin, p, seed, stream, first, y);
  record_op("dropout", {xin}, {y}, [&] {
    // The mask is a function of (seed, stream, memory index): gy must share x's layout.
    return [fmt, p, seed, stream, first](const std::vector<Tensor>& g) {
      Tensor gy = g[0].contiguous(fmt);
      Tensor gx = gy.empty_like();
      kernels::dropout(gy.device(), gy, p, seed, stream, first, gx);
      return std::vector<Tensor>{gx};
    };
  });
  return y;
}

}  // namespace sr
