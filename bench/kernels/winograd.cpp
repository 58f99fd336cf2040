// Kernel study: Winograd convolution for the 3x3 stride-1 padding-1 layers of ResNet-18 (CIFAR
// form, widths 1 and 1/4), NHWC, against the engine's direct convolution: forward,
// backward-data (the forward pass of the rotated filter) and backward-weights (beside the GEMM
// form too, which the AVX2 rule takes there).
//
// Winograd F(m x m, 3 x 3) computes an m x m output tile from an (m + 2) x (m + 2) input tile
// with (m + 2)^2 multiplications per (input, output channel) pair instead of 9 m^2: 2.25x fewer
// for m = 2. The transforms and their matrices are in engine/cpu/conv_winograd.cpp, which holds
// the versions studied here as its two schedules:
//   oneDNN direct  the engine's convolution (engine/cpu/conv_onednn.cpp): the oracle and the
//                  time to beat
//   v1 whole       transforms as loops over the channels (vectorised by the compiler, tiles
//                  split over the threads), the 16 products as sgemms over all tiles (in chunks
//                  of at most 64 MiB of V and M), spread over the threads, each single-threaded
//                  (until 2026-12-04 evening: one multi-threaded sgemm after the other)
//   v2 blocked     the same per block of tiles, each thread taking its block through all three
//                  stages in buffers that stay in its L2 cache
//   v3, v4         v1 and v2 with F(4x4, 3x3): 36 products per 4x4 output tile (4x fewer
//                  multiplications than the direct form), transforms with larger coefficients
//   oneDNN Winograd  oneDNN's algorithm::convolution_winograd (F(4x4, 3x3), AVX-512 only) in its
//                  blocked layouts, the NHWC operands reordered in and out on every call
// Backward-weights has v1 and v3 (and oneDNN's Winograd): the gradient tiles' transform, a^2 sgemms
// V^T . Z per chunk of tiles and the filter's back-transform. Effective GFLOP/s count the direct
// convolution's 2 x 9 x C x K x H x W x N FLOPs, so a version above 100% of sgemm does fewer
// multiplications than the direct form. The check is max |y - y_ref| / max |y_ref| against oneDNN
// (Winograd's rounding grows with the tile: F(2x2) stays near float32's direct error, F(4x4) about
// ten times that). A naive loop checks both on a 2-image slice first.
//
//   bench_kernel_winograd [--repeats R] [--only w1|w4]
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/backend.h"
#include "engine/cpu/conv_cpu.h"
#include "engine/cpu/onednn_util.h"
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

ConvParams same_padding() {
  ConvParams p;
  p.padding[0] = p.padding[1] = 1;
  return p;
}

Tensor like(const Tensor& x, int64_t channels) {
  return Tensor::empty({x.size(0), channels, x.size(2), x.size(3)}, DType::f32, Device::cpu,
                       MemoryFormat::channels_last);
}

// The backward-data oracle: conv^T(gy, w) is the convolution of gy with w rotated by 180
// degrees and its two channel axes swapped.
Tensor rotated(const Tensor& w) {
  const int64_t K = w.size(0), C = w.size(1);
  std::vector<float> src = w.to_vector(), dst(src.size());
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c)
      for (int t = 0; t < 9; ++t)
        dst[size_t((c * K + k) * 9 + t)] = src[size_t((k * C + c) * 9 + 8 - t)];
  return Tensor::from_vector(dst, {C, K, 3, 3});
}

// The weight gradient, one weight at a time in double: the naive oracle of backward-weights.
Tensor naive_weight_grad(const Tensor& x, const Tensor& gy) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), K = gy.size(1);
  const Tensor xc = x.contiguous(MemoryFormat::channels_last);
  const Tensor gc = gy.contiguous(MemoryFormat::channels_last);
  const float *xs = xc.data<float>(), *gs = gc.data<float>();
  std::vector<float> gw(size_t(K * C * 9));
  parallel_for(K, N * H * W * C * 9, [&](int64_t b, int64_t e) {
    std::vector<double> acc(size_t(C * 9));
    for (int64_t k = b; k < e; ++k) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < H; ++i)
          for (int64_t j = 0; j < W; ++j) {
            const double g = gs[((n * H + i) * W + j) * K + k];
            for (int r = 0; r < 3; ++r)
              for (int q = 0; q < 3; ++q) {
                const int64_t ii = i + r - 1, jj = j + q - 1;
                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                const float* xr = xs + ((n * H + ii) * W + jj) * C;
                for (int64_t c = 0; c < C; ++c) acc[size_t(c * 9 + r * 3 + q)] += g * xr[c];
              }
          }
      for (int64_t t = 0; t < C * 9; ++t) gw[size_t(k * C * 9 + t)] = float(acc[size_t(t)]);
    }
  });
  return Tensor::from_vector(gw, {K, C, 3, 3});
}

enum class Pass { forward, backward_data, backward_weights };

struct Version {
  std::string name;
  // The pass on (a, b): forward (x, w), backward-data (gy, w), backward-weights (x, gy).
  std::function<Tensor(const Tensor&, const Tensor&)> run;
};

// oneDNN's own Winograd (algorithm::convolution_winograd; in 2.6 an F(4x4,3x3) for AVX-512 only,
// in blocked layouts of its choosing): the NHWC operands reordered in and the result reordered
// out on every call, as an engine that keeps NHWC tensors would have to. One primitive per pass
// and shape, made on first use; `make` throws dnnl::error where oneDNN has no such primitive.
class OnednnWinograd {
 public:
  OnednnWinograd(Pass pass, int64_t n, int64_t c, int64_t h) : pass_(pass) {
    using dnnl::memory;
    using tag = memory::format_tag;
    const memory::dims act{n, c, h, h}, wei{c, c, 3, 3}, one{1, 1};
    const memory::data_type f32 = memory::data_type::f32;
    act_ = memory::desc(act, f32, tag::nhwc);
    wei_ = memory::desc(wei, f32, tag::oihw);
    const memory::desc act_any(act, f32, tag::any), wei_any(wei, f32, tag::any);
    auto& eng = onednn::engine();
    const dnnl::algorithm wino = dnnl::algorithm::convolution_winograd;
    dnnl::convolution_forward::primitive_desc fwd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, wino, act_any, wei_any,
                                        act_any, one, one, one),
        eng);
    memory::desc in_a, in_b, out;  // the primitive's layouts of a, b and the result
    if (pass == Pass::forward) {
      in_a = fwd.src_desc(), in_b = fwd.weights_desc(), out = fwd.dst_desc();
      prim_ = dnnl::convolution_forward(fwd);
      slots_ = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    } else if (pass == Pass::backward_data) {
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(wino, act_any, wei_any, act_any, one, one, one),
          eng, fwd);
      in_a = pd.diff_dst_desc(), in_b = pd.weights_desc(), out = pd.diff_src_desc();
      prim_ = dnnl::convolution_backward_data(pd);
      slots_ = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    } else {
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(wino, act_any, wei_any, act_any, one, one, one),
          eng, fwd);
      in_a = pd.src_desc(), in_b = pd.diff_dst_desc(), out = pd.diff_weights_desc();
      prim_ = dnnl::convolution_backward_weights(pd);
      slots_ = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
    }
    a_ = memory(in_a, eng), b_ = memory(in_b, eng), out_ = memory(out, eng);
    const memory::desc user_b = pass == Pass::backward_weights ? act_ : wei_;
    const memory::desc user_out = pass == Pass::backward_weights ? wei_ : act_;
    reorder_a_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, act_, eng, in_a));
    reorder_b_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, user_b, eng, in_b));
    reorder_out_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, out, eng, user_out));
  }

  // forward (x, w) -> y, backward-data (gy, w) -> gx, backward-weights (x, gy) -> gw.
  Tensor operator()(const Tensor& a, const Tensor& b) {
    auto& eng = onednn::engine();
    auto& st = onednn::stream();
    const bool weights_out = pass_ == Pass::backward_weights;
    Tensor result = weights_out ? Tensor::empty({b.size(1), a.size(1), 3, 3}) : like(a, a.size(1));
    dnnl::memory ua(act_, eng, const_cast<float*>(a.data<float>()));
    dnnl::memory ub(weights_out ? act_ : wei_, eng, const_cast<float*>(b.data<float>()));
    dnnl::memory uo(weights_out ? wei_ : act_, eng, result.data<float>());
    reorder_a_.execute(st, ua, a_);
    reorder_b_.execute(st, ub, b_);
    prim_.execute(st, {{slots_[0], a_}, {slots_[1], b_}, {slots_[2], out_}});
    reorder_out_.execute(st, out_, uo);
    st.wait();
    return result;
  }

  // The primitive for this pass and shape, or nullptr where oneDNN has none.
  static OnednnWinograd* get(Pass pass, int64_t n, int64_t c, int64_t h) {
    static std::map<std::tuple<int, int64_t, int64_t, int64_t>, std::unique_ptr<OnednnWinograd>>
        cache;
    auto key = std::make_tuple(int(pass), n, c, h);
    auto it = cache.find(key);
    if (it == cache.end()) {
      std::unique_ptr<OnednnWinograd> made;
      try {
        made = std::make_unique<OnednnWinograd>(pass, n, c, h);
      } catch (const dnnl::error&) {
      }
      it = cache.emplace(key, std::move(made)).first;
    }
    return it->second.get();
  }

 private:
  Pass pass_;
  dnnl::memory::desc act_, wei_;
  dnnl::primitive prim_;
  std::vector<int> slots_;
  dnnl::memory a_, b_, out_;
  dnnl::reorder reorder_a_, reorder_b_, reorder_out_;
};

// The Version of oneDNN's Winograd for a pass (the shape from the operands: a is NHWC).
std::function<Tensor(const Tensor&, const Tensor&)> onednn_winograd(Pass pass) {
  return [pass](const Tensor& a, const Tensor& b) {
    return (*OnednnWinograd::get(pass, a.size(0), a.size(1), a.size(2)))(a, b);
  };
}

std::vector<Version> versions(Pass pass) {
  using cpu_conv::WinogradSchedule;
  auto wino = [pass](WinogradSchedule s, int tile) {
    return [pass, s, tile](const Tensor& a, const Tensor& b) {
      const ConvParams p = same_padding();
      Tensor y = like(a, a.size(1));
      if (pass == Pass::forward)
        cpu_conv::winograd_forward(a, b, Tensor(), p, y, s, tile);
      else
        cpu_conv::winograd_backward_data(a, b, p, y, s, tile);
      return y;
    };
  };
  if (pass == Pass::backward_weights) {
    auto weights = [](auto kernel) {
      return [kernel](const Tensor& x, const Tensor& gy) {
        const ConvParams p = same_padding();
        Tensor gw = Tensor::empty({gy.size(1), x.size(1), 3, 3});
        Tensor none;
        kernel(x, gy, p, gw, none);
        return gw;
      };
    };
    auto winograd_weights = [](int tile) {
      return [tile](const Tensor& x, const Tensor& gy, const ConvParams& p, Tensor& gw,
                    Tensor& gb) { cpu_conv::winograd_backward_weights(x, gy, p, gw, gb, tile); };
    };
    return {{"oneDNN direct", weights(cpu_conv::onednn_backward_weights)},
            {"im2col + sgemm", weights(cpu_conv::gemm_backward_weights)},
            {"v1 F(2x2,3x3) whole", weights(winograd_weights(2))},
            {"v3 F(4x4,3x3) whole", weights(winograd_weights(4))},
            {"oneDNN Winograd", onednn_winograd(pass)}};
  }
  auto direct = [pass](const Tensor& a, const Tensor& b) {
    const ConvParams p = same_padding();
    Tensor y = like(a, a.size(1));
    if (pass == Pass::forward)
      cpu_conv::onednn_forward(a, b, Tensor(), p, y);
    else
      cpu_conv::onednn_backward_data(a, b, p, y);
    return y;
  };
  return {{"oneDNN direct", direct},
          {"v1 F(2x2,3x3) whole", wino(WinogradSchedule::whole, 2)},
          {"v2 F(2x2,3x3) blocked", wino(WinogradSchedule::blocked, 2)},
          {"v3 F(4x4,3x3) whole", wino(WinogradSchedule::whole, 4)},
          {"v4 F(4x4,3x3) blocked", wino(WinogradSchedule::blocked, 4)},
          {"oneDNN Winograd", onednn_winograd(pass)}};
}

void study_pass(const Layer& L, const Ceilings& ceil, int repeats, Pass pass) {
  const MemoryFormat cl = MemoryFormat::channels_last;
  Generator gen(7 + uint64_t(pass));
  Tensor a = randn({L.n, L.c, L.h, L.h}, gen).contiguous(cl);
  Tensor b = pass == Pass::backward_weights
                 ? randn({L.n, L.c, L.h, L.h}, gen).contiguous(cl)
                 : mul(randn({L.c, L.c, 3, 3}, gen), float(1.0 / std::sqrt(9.0 * double(L.c))));
  const double flops = 2.0 * double(L.n * L.h * L.h) * double(L.c * L.c * 9);

  // Every version against the naive loop on two images, then against oneDNN on the batch.
  Tensor as = a.narrow(0, 0, 2).contiguous(cl);
  Tensor bs = pass == Pass::backward_weights ? b.narrow(0, 0, 2).contiguous(cl) : b;
  const Tensor ref_small = pass == Pass::forward         ? naive_conv(as, b)
                           : pass == Pass::backward_data ? naive_conv(as, rotated(b))
                                                         : naive_weight_grad(as, bs);
  const char* names[] = {"forward", "backward-data", "backward-weights"};
  print_header(fmt::format("{} {} (n {})", L.name, names[int(pass)], L.n));
  std::vector<Version> vs = versions(pass);
  if (!OnednnWinograd::get(pass, L.n, L.c, L.h) || !OnednnWinograd::get(pass, 2, L.c, L.h)) {
    vs.pop_back();
    std::printf("(oneDNN has no Winograd primitive for this pass and shape at this ISA)\n");
  }
  const Tensor ref = vs[0].run(a, b);
  std::vector<Result> results;
  std::vector<std::function<void()>> runs;
  for (const Version& v : vs) {
    Result r(v.name);
    r.flops = flops;
    const double small = max_rel_diff(v.run(as, bs), ref_small);
    r.check = &v == &vs[0] ? fmt::format("oracle; vs naive {:.1e}", small)
                           : fmt::format("rel err {:.1e}; vs naive {:.1e}",
                                         max_rel_diff(v.run(a, b), ref), small);
    time_with_peak([&] { v.run(a, b); }, 0, 1, r.peak_mib);
    results.push_back(r);
    runs.push_back([&v, &a, &b] { v.run(a, b); });
  }
  time_and_print(results, runs, repeats, ceil);
}

void study_layer(const Layer& L, const Ceilings& ceil, int repeats) {
  for (Pass pass : {Pass::forward, Pass::backward_data, Pass::backward_weights})
    study_pass(L, ceil, repeats, pass);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr::study;
  return study_main(argc, argv, "bench_kernel_winograd [--only w1|w4] [--repeats R]", 7,
                    "; extra MiB: the output and the versions' U, V and M buffers",
                    [](const std::string& only, const Ceilings& c, int repeats) {
                      for (const Layer& L : layers(only)) study_layer(L, c, repeats);
                    });
}
