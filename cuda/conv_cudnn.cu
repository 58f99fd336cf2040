// CUDA convolution and transposed convolution through cuDNN's convolution API: forward,
// backward-data and backward-filter, with bias (cudnnAddTensor / cudnnConvolutionBackwardBias).
//
// Shapes (kernels.h): x (N, Cin, H, W), y (N, Cout, OH, OW), NCHW or NHWC strides (passed to
// cuDNN as they are); w in PyTorch's layout, contiguous: conv (Cout, Cin, kh, kw), transposed
// (Cin, Cout, kh, kw). NHWC activations get an NHWC copy of the filter (and an NHWC filter
// gradient copied back), the layout cuDNN's NHWC kernels require.
//
// A transposed convolution y = convT(x, w) is the data gradient of the convolution that maps y
// to x with the same w (filter K = Cin, C = Cout: exactly PyTorch's transposed layout), so
//   transposed forward         = cudnnConvolutionBackwardData(w, dy := x, dx := y)
//   transposed backward-data   = cudnnConvolutionForward(x := gy, w, y := gx)
//   transposed backward-filter = cudnnConvolutionBackwardFilter(x := gy, dy := x, dw)
// and the bias gradient is the sum of gy over (N, H, W) in both cases.
//
// Algorithms are chosen once per geometry (shapes, strides, parameters, kind) and cached:
// cuDNN's heuristics (cudnnGet*Algorithm_v7, ranked) by default, or timing every candidate
// (cudnnFind*AlgorithmEx) when cudnn_benchmark(). deterministic() admits only algorithms cuDNN
// reports as CUDNN_DETERMINISTIC; without allow_tf32() the convolution math type is
// CUDNN_FMA_MATH (no TF32 tensor-core rounding). Candidates needing more than kMaxWorkspace
// bytes of scratch are skipped; the chosen one's scratch is the shared workspace().
#include <mutex>
#include <unordered_map>

#include "cuda/cudnn_util.h"
#include "engine/backend.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t(1) << 30;

enum class Kind : uint8_t { fwd, bwd_data, bwd_filter };

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t ws_bytes = 0;
};

std::mutex g_cache_mu;
std::unordered_map<std::string, Choice>& algo_cache() {
  static auto* c = new std::unordered_map<std::string, Choice>();
  return *c;
}

// The descriptors of one call, in the roles of the equivalent (non-transposed) convolution:
// xe is its input, ye its output.
struct ConvCall {
  TensorDesc xe, ye;
  FilterDesc w;
  ConvDesc conv;
  std::string key;
};

void setup(ConvCall& c, Kind kind, const Tensor& xe, const Tensor& ye, const Tensor& w,
           bool nhwc_filter, const ConvParams& p) {
  set_4d(c.xe, xe);
  set_4d(c.ye, ye);
  SR_CHECK_SHAPE(w.dim() == 4, "conv: weight must be 4-d, got {}", w.str());
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(c.w, CUDNN_DATA_FLOAT,
                                         nhwc_filter ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                         to_int(w.size(0), "K"), to_int(w.size(1), "C"),
                                         to_int(w.size(2), "kh"), to_int(w.size(3), "kw")));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      c.conv, to_int(p.padding[0], "pad"), to_int(p.padding[1], "pad"),
      to_int(p.stride[0], "stride"), to_int(p.stride[1], "stride"),
      to_int(p.dilation[0], "dilation"), to_int(p.dilation[1], "dilation"), CUDNN_CROSS_CORRELATION,
      CUDNN_DATA_FLOAT));
  const bool tf32 = allow_tf32();
  CUDNN_CHECK(cudnnSetConvolutionMathType(c.conv, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  c.key = fmt::format("{}|{}|{}|{}|{}|{},{},{},{},{},{}|{}{}{}", int(kind), strides_key(xe),
                      strides_key(ye), strides_key(w), int(nhwc_filter), p.padding[0], p.padding[1],
                      p.stride[0], p.stride[1], p.dilation[0], p.dilation[1], int(tf32),
                      int(deterministic()), int(cudnn_benchmark()));
}

// The first acceptable candidate of a ranked list (heuristics or timings, best first).
template <class Perf>
bool pick(const Perf* perfs, int n, Choice& out) {
  for (int i = 0; i < n; ++i) {
    const Perf& q = perfs[i];
    if (q.status != CUDNN_STATUS_SUCCESS) continue;
    if (deterministic() && q.determinism != CUDNN_DETERMINISTIC) continue;
    if (q.memory > kMaxWorkspace) continue;
    out.algo = int(q.algo);
    out.math = allow_tf32() ? q.mathType : CUDNN_FMA_MATH;
    out.ws_bytes = q.memory;
    return true;
  }
  return false;
}

// Scratch for cudnnFind*AlgorithmEx: as much as the candidates may use, within the free memory.
size_t find_workspace_bytes() {
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  size_t want = free_b / 2;
  return want < kMaxWorkspace ? want : kMaxWorkspace;
}

// Chooses (or recalls) the algorithm of `kind` for the call. The pointers are the call's own
// buffers, used only when timing candidates (their contents are overwritten by the call).
Choice choose(ConvCall& c, Kind kind, const void* xe, const void* ye, const void* w) {
  {
    std::lock_guard<std::mutex> lock(g_cache_mu);
    auto it = algo_cache().find(c.key);
    if (it != algo_cache().end()) return it->second;
  }
  Choice ch;
  bool ok = false;
  const bool bench = cudnn_benchmark();
  cudnnHandle_t h = cudnn();
  int n = 0;
  if (kind == Kind::fwd) {
    cudnnConvolutionFwdAlgoPerf_t perfs[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    if (bench) {
      size_t ws = find_workspace_bytes();
      CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
          h, c.xe, xe, c.w, w, c.conv, c.ye, const_cast<void*>(ye),
          CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perfs, workspace(ws), ws));
    } else {
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
          h, c.xe, c.w, c.conv, c.ye, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perfs));
    }
    ok = pick(perfs, n, ch);
  } else if (kind == Kind::bwd_data) {
    cudnnConvolutionBwdDataAlgoPerf_t perfs[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    if (bench) {
      size_t ws = find_workspace_bytes();
      CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
          h, c.w, w, c.ye, ye, c.conv, c.xe, const_cast<void*>(xe),
          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perfs, workspace(ws), ws));
    } else {
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
          h, c.w, c.ye, c.conv, c.xe, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perfs));
    }
    ok = pick(perfs, n, ch);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perfs[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    if (bench) {
      size_t ws = find_workspace_bytes();
      CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
          h, c.xe, xe, c.ye, ye, c.conv, c.w, const_cast<void*>(w),
          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perfs, workspace(ws), ws));
    } else {
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
          h, c.xe, c.ye, c.conv, c.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perfs));
    }
    ok = pick(perfs, n, ch);
  }
  SR_CHECK_T(ok, DeviceError,
             "cuDNN has no {}{} convolution algorithm for geometry {} (within {} MiB of workspace)",
             deterministic() ? "deterministic " : "",
             kind == Kind::fwd        ? "forward"
             : kind == Kind::bwd_data ? "backward-data"
                                      : "backward-filter",
             c.key, kMaxWorkspace >> 20);
  // The workspace the chosen algorithm needs with the math type we will run it with.
  CUDNN_CHECK(cudnnSetConvolutionMathType(c.conv, ch.math));
  if (kind == Kind::fwd)
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
        h, c.xe, c.w, c.conv, c.ye, cudnnConvolutionFwdAlgo_t(ch.algo), &ch.ws_bytes));
  else if (kind == Kind::bwd_data)
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        h, c.w, c.ye, c.conv, c.xe, cudnnConvolutionBwdDataAlgo_t(ch.algo), &ch.ws_bytes));
  else
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        h, c.xe, c.ye, c.conv, c.w, cudnnConvolutionBwdFilterAlgo_t(ch.algo), &ch.ws_bytes));
  std::lock_guard<std::mutex> lock(g_cache_mu);
  algo_cache().emplace(c.key, ch);
  return ch;
}

// out = conv(xe, w): cudnnConvolutionForward.
void run_fwd(const Tensor& xe, const Tensor& w, bool nhwc_w, const ConvParams& p, Tensor& ye) {
  ConvCall c;
  setup(c, Kind::fwd, xe, ye, w, nhwc_w, p);
  Choice ch = choose(c, Kind::fwd, xe.raw_data(), ye.raw_data(), w.raw_data());
  CUDNN_CHECK(cudnnSetConvolutionMathType(c.conv, ch.math));
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionForward(cudnn(), &one, c.xe, xe.raw_data(), c.w, w.raw_data(), c.conv,
                                      cudnnConvolutionFwdAlgo_t(ch.algo), workspace(ch.ws_bytes),
                                      ch.ws_bytes, &zero, c.ye, ye.raw_data()));
}

// xe = d conv / d input applied to ye: cudnnConvolutionBackwardData.
void run_bwd_data(const Tensor& ye, const Tensor& w, bool nhwc_w, const ConvParams& p, Tensor& xe) {
  ConvCall c;
  setup(c, Kind::bwd_data, xe, ye, w, nhwc_w, p);
  Choice ch = choose(c, Kind::bwd_data, xe.raw_data(), ye.raw_data(), w.raw_data());
  CUDNN_CHECK(cudnnSetConvolutionMathType(c.conv, ch.math));
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn(), &one, c.w, w.raw_data(), c.ye, ye.raw_data(),
                                           c.conv, cudnnConvolutionBwdDataAlgo_t(ch.algo),
                                           workspace(ch.ws_bytes), ch.ws_bytes, &zero, c.xe,
                                           xe.raw_data()));
}

// gw = d conv / d w for input xe and output gradient ye: cudnnConvolutionBackwardFilter.
void run_bwd_filter(const Tensor& xe, const Tensor& ye, bool nhwc_w, const ConvParams& p,
                    Tensor& gw) {
  ConvCall c;
  setup(c, Kind::bwd_filter, xe, ye, gw, nhwc_w, p);
  Choice ch = choose(c, Kind::bwd_filter, xe.raw_data(), ye.raw_data(), gw.raw_data());
  CUDNN_CHECK(cudnnSetConvolutionMathType(c.conv, ch.math));
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      cudnn(), &one, c.xe, xe.raw_data(), c.ye, ye.raw_data(), c.conv,
      cudnnConvolutionBwdFilterAlgo_t(ch.algo), workspace(ch.ws_bytes), ch.ws_bytes, &zero, c.w,
      gw.raw_data()));
}

// The filter in the activations' layout: w itself for NCHW, an NHWC copy for NHWC.
Tensor filter_for(const Tensor& w, bool nhwc) {
  if (!nhwc) return w;
  Tensor t = Tensor::empty(w.shape(), DType::f32, Device::cuda, MemoryFormat::channels_last);
  kernels::copy(Device::cuda, w, t);
  return t;
}

void conv_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p,
                       Tensor& y) {
  if (y.numel() == 0) return;
  const bool nhwc = is_nhwc(x);
  Tensor wf = filter_for(w, nhwc);
  if (p.transposed)
    run_bwd_data(x, wf, nhwc, p, y);
  else
    run_fwd(x, wf, nhwc, p, y);
  if (b.defined()) {
    TensorDesc bd, yd;
    set_channels(bd, b.numel());
    set_4d(yd, y);
    const float one = 1.f;
    CUDNN_CHECK(cudnnAddTensor(cudnn(), &one, bd, b.raw_data(), &one, yd, y.raw_data()));
  }
}

void conv_backward_data_cuda(const Tensor& gy, const Tensor& w, const ConvParams& p, Tensor& gx) {
  if (gx.numel() == 0) return;
  const bool nhwc = is_nhwc(gx);
  Tensor wf = filter_for(w, nhwc);
  if (p.transposed)
    run_fwd(gy, wf, nhwc, p, gx);
  else
    run_bwd_data(gy, wf, nhwc, p, gx);
}

void conv_backward_weights_cuda(const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                                Tensor& gb) {
  const bool nhwc = is_nhwc(x);
  if (gw.defined() && gw.numel() > 0) {
    Tensor gwf =
        nhwc ? Tensor::empty(gw.shape(), DType::f32, Device::cuda, MemoryFormat::channels_last)
             : gw;
    if (p.transposed)
      run_bwd_filter(gy, x, nhwc, p, gwf);
    else
      run_bwd_filter(x, gy, nhwc, p, gwf);
    if (nhwc) kernels::copy(Device::cuda, gwf, gw);
  }
  if (gb.defined() && gb.numel() > 0) {
    TensorDesc gyd, bd;
    set_4d(gyd, gy);
    set_channels(bd, gb.numel());
    const float one = 1.f, zero = 0.f;
    CUDNN_CHECK(
        cudnnConvolutionBackwardBias(cudnn(), &one, gyd, gy.raw_data(), &zero, bd, gb.raw_data()));
  }
}

}  // namespace

SR_REGISTER_KERNEL(conv_forward, cuda, conv_forward_cuda);
SR_REGISTER_KERNEL(conv_backward_data, cuda, conv_backward_data_cuda);
SR_REGISTER_KERNEL(conv_backward_weights, cuda, conv_backward_weights_cuda);

}  // namespace sr::cuda
