// Kernel study: the CPU convolution's implementations on the engine's layer shapes.
//
//   v1 oneDNN   the direct kernels oneDNN dispatches to on this CPU (conv_onednn.cpp)
//   v2 gemm     im2col + OpenBLAS sgemm, NHWC (conv_gemm.cpp)
//   v3 poly F2  4x4 stride-2 layers only: 2x2 stride-1 convolutions on polyphase components by
//               Winograd F(2x2, 2x2) (conv_polyphase.cpp)
//   v4 poly F4  the same with F(4x4, 2x2)
//   auto        what the engine runs by default (conv_cpu.cpp's rules)
// (ResNet-18's 3x3 stride-1 layers have their own study, bench/kernels/winograd.cpp.)
// For each layer and direction (forward, backward-data, backward-weights; a transposed
// convolution's forward is a convolution's backward-data and so on), median ms and GFLOP/s
// (2 per multiply-add of the direct convolution) against the sgemm rate measured in the same
// run; the versions alternate run by run. Check: v2 and auto against v1, max |diff| / max |v1|
// (float32; both sum the same products in different orders).
//
//   bench_kernel_conv [--only vae|resnet|NAME] [--repeats R]   (NAME: the layers whose name has it)
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/backend.h"
#include "engine/cpu/conv_cpu.h"
#include "engine/ops.h"

namespace sr::study {
namespace {

struct Layer {
  std::string name;
  int64_t n, in_c, out_c, h, w, k, stride, pad;
  bool transposed;
};

// The VAAL VAE (batch 64, 3x32x32: encoder 4x4/2 convolutions, decoder 4x4/2 transposed) and
// ResNet-18's CIFAR-form 3x3 convolutions and 1x1 stride-2 downsamples (batch 128, 32x32; width
// 1 and 1/4). Any other `only` keeps the layers whose name contains it.
std::vector<Layer> layers(const std::string& only) {
  std::vector<Layer> v;
  if (only != "vae" && only != "resnet" && !only.empty()) {
    for (const Layer& L : layers(""))
      if (L.name.find(only) != std::string::npos) v.push_back(L);
    return v;
  }
  if (only != "resnet") {
    v.push_back({"vae enc1 3>128 32>16", 64, 3, 128, 32, 32, 4, 2, 1, false});
    v.push_back({"vae enc2 128>256 16>8", 64, 128, 256, 16, 16, 4, 2, 1, false});
    v.push_back({"vae enc3 256>512 8>4", 64, 256, 512, 8, 8, 4, 2, 1, false});
    v.push_back({"vae enc4 512>1024 4>2", 64, 512, 1024, 4, 4, 4, 2, 1, false});
    v.push_back({"vae dec1 T1024>512 4>8", 64, 1024, 512, 4, 4, 4, 2, 1, true});
    v.push_back({"vae dec2 T512>256 8>16", 64, 512, 256, 8, 8, 4, 2, 1, true});
    v.push_back({"vae dec3 T256>128 16>32", 64, 256, 128, 16, 16, 4, 2, 1, true});
  }
  if (only != "vae") {
    for (int64_t div : {1, 4}) {
      const std::string wname = div == 1 ? "r18 " : "r18/4 ";
      int64_t c = 64 / div, hw = 32;
      for (int stage = 0; stage < 4; ++stage) {
        v.push_back({wname + fmt::format("{}>{} {}", c, c, hw), 128, c, c, hw, hw, 3, 1, 1, false});
        if (stage < 3) {
          v.push_back({wname + fmt::format("{}>{} {}/2", c, 2 * c, hw), 128, c, 2 * c, hw, hw, 3, 2,
                       1, false});
          v.push_back({wname + fmt::format("1x1 {}>{} {}/2", c, 2 * c, hw), 128, c, 2 * c, hw, hw,
                       1, 2, 0, false});
        }
        c *= 2, hw /= 2;
      }
    }
  }
  return v;
}

void study_layer(const Layer& L, const Ceilings& c, int repeats) {
  ConvParams p;
  p.stride[0] = p.stride[1] = L.stride;
  p.padding[0] = p.padding[1] = L.pad;
  p.transposed = L.transposed;
  const int64_t oh = L.transposed ? (L.h - 1) * L.stride - 2 * L.pad + L.k
                                  : (L.h + 2 * L.pad - L.k) / L.stride + 1;
  const int64_t ow = L.transposed ? (L.w - 1) * L.stride - 2 * L.pad + L.k
                                  : (L.w + 2 * L.pad - L.k) / L.stride + 1;
  const MemoryFormat cl = MemoryFormat::channels_last;
  Generator gen(7);
  Tensor x = randn({L.n, L.in_c, L.h, L.w}, gen).contiguous(cl);
  Tensor gy = randn({L.n, L.out_c, oh, ow}, gen).contiguous(cl);
  Shape ws = L.transposed ? Shape{L.in_c, L.out_c, L.k, L.k} : Shape{L.out_c, L.in_c, L.k, L.k};
  Tensor w = randn(ws, gen);
  Tensor b;
  // Multiply-adds: every (input pixel, tap) pair of a transposed conv, (output pixel, tap) of a
  // conv.
  const double pixels = L.transposed ? double(L.n * L.h * L.w) : double(L.n * oh * ow);
  const double flops = 2.0 * pixels * double(L.in_c * L.out_c * L.k * L.k);

  struct Dir {
    const char* name;
    std::function<Tensor()> run;
  };
  std::vector<Dir> dirs{
      {"forward",
       [&] {
         Tensor y = Tensor::empty({L.n, L.out_c, oh, ow}, DType::f32, Device::cpu, cl);
         kernels::conv_forward(Device::cpu, x, w, b, p, y);
         return y;
       }},
      {"backward-data",
       [&] {
         Tensor gx = Tensor::empty(x.shape(), DType::f32, Device::cpu, cl);
         kernels::conv_backward_data(Device::cpu, gy, w, p, gx);
         return gx;
       }},
      {"backward-weights", [&] {
         Tensor gw = Tensor::empty(ws), gb;
         kernels::conv_backward_weights(Device::cpu, x, gy, p, gw, gb);
         return gw;
       }}};
  struct Version {
    CpuConvAlgorithm algo;
    int tile;  // the Winograd tile (set_winograd_tile), 0 for the rule's
    const char* label;
  };
  std::vector<Version> algos{{CpuConvAlgorithm::onednn, 0, "v1 oneDNN"},
                             {CpuConvAlgorithm::gemm, 0, "v2 gemm"}};
  {
    Tensor y = Tensor::empty({L.n, L.out_c, oh, ow}, DType::f32, Device::cpu, cl);
    cpu_conv::GemmGeometry g;
    if (cpu_conv::polyphase_applies(x, w, y, p, g)) {
      algos.push_back({CpuConvAlgorithm::winograd, 2, "v3 poly F2"});
      algos.push_back({CpuConvAlgorithm::winograd, 4, "v4 poly F4"});
    }
  }
  algos.push_back({CpuConvAlgorithm::automatic, 0, "auto"});
  auto choose = [](const Version& v) {
    set_cpu_conv_algorithm(v.algo);
    cpu_conv::set_winograd_tile(v.tile);
  };
  for (const Dir& d : dirs) {
    print_header(fmt::format("{} {} (n {})", L.name, d.name, L.n));
    std::vector<Result> results;
    Tensor ref;
    for (const Version& v : algos) {  // check, warm-up, and the memory of one run
      choose(v);
      Tensor out = d.run();
      Result r(v.label);
      r.check = ref.defined() ? fmt::format("rel err {:.1e}", max_rel_diff(out, ref)) : "oracle";
      if (!ref.defined()) ref = out;
      r.flops = flops;
      time_with_peak([&] { d.run(); }, 0, 1, r.peak_mib);
      results.push_back(r);
    }
    std::vector<std::function<void()>> runs;
    for (const Version& v : algos)
      runs.push_back([&, v] {
        choose(v);
        d.run();
      });
    time_and_print(results, runs, repeats, c);
  }
  set_cpu_conv_algorithm(CpuConvAlgorithm::automatic);
  cpu_conv::set_winograd_tile(0);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr::study;
  return study_main(argc, argv, "bench_kernel_conv [--only vae|resnet|NAME] [--repeats R]", 5, "",
                    [](const std::string& only, const Ceilings& c, int repeats) {
                      for (const Layer& L : layers(only)) study_layer(L, c, repeats);
                    });
}
