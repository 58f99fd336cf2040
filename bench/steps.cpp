// Training steps for benchmarks (see steps.h).
#include "bench/steps.h"

#include <algorithm>
#include <chrono>

#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "layers/drn.h"
#include "layers/resnet.h"
#include "layers/vae.h"

namespace sr {

std::vector<std::string> train_step_names() {
  return {"resnet18", "resnet18-w4", "vae", "drn-d22"};
}

namespace {

struct ClassifierStep {
  std::shared_ptr<ResNet18> net;
  std::unique_ptr<SGD> opt;
  Tensor x, y;
  void operator()() {
    Tensor loss = cross_entropy(net->forward(x), y);
    opt->zero_grad();
    loss.backward();
    opt->step();
  }
};

struct VaeStep {
  std::shared_ptr<Vae> vae;
  std::unique_ptr<Adam> opt;
  Tensor x;
  void operator()() {
    VaeOutput o = vae->forward_all(x);
    Tensor loss = add(mse_loss(o.recon, x), kl_normal(o.mu, o.logvar, KlReduction::batch_mean));
    opt->zero_grad();
    loss.backward();
    opt->step();
  }
};

struct SegmenterStep {
  std::shared_ptr<DrnD22> net;
  std::unique_ptr<SGD> opt;
  Tensor x, y;
  void operator()() {
    Tensor loss = cross_entropy(net->forward(x), y, kDrnIgnore);
    opt->zero_grad();
    loss.backward();
    opt->step();
  }
  static constexpr int64_t kDrnIgnore = 255;
};

double forward_flops(const std::function<void()>& forward) {
  NoGradGuard ng;
  FlopCounter fc;
  forward();
  return fc.flops();
}

}  // namespace

TrainStep make_train_step(const std::string& name, Device device) {
  Generator g(0);
  TrainStep s;
  s.name = name;
  if (name == "resnet18" || name == "resnet18-w4") {
    bool small = name == "resnet18-w4";
    int64_t C = small ? 1 : 3, H = small ? 28 : 32;
    auto st = std::make_shared<ClassifierStep>();
    st->net =
        std::make_shared<ResNet18>(ResNetConfig{ResNetForm::cifar, C, 10, small ? 0.25f : 1.f}, g);
    st->net->to(device);
    st->opt =
        std::make_unique<SGD>(st->net->parameters(), SgdOptions{0.1f, 0.9f, 0.f, 5e-4f, false});
    s.batch = 128;
    st->x = randn({s.batch, C, H, H}, g).to(device);
    std::vector<int64_t> labels(static_cast<size_t>(s.batch));
    for (auto& l : labels) l = g.randint(10);
    st->y = Tensor::from_vector(labels, {s.batch}).to(device);
    s.description = small ? "ResNet-18 (CIFAR form, width 1/4), 1x28x28, SGD"
                          : "ResNet-18 (CIFAR form), 3x32x32, SGD";
    s.flops = 3 * forward_flops([&] { st->net->forward(st->x); });
    s.run = [st, device] {
      (*st)();
      synchronize(device);  // CUDA work is asynchronous: time it to completion
    };
  } else if (name == "vae") {
    auto st = std::make_shared<VaeStep>();
    st->vae = std::make_shared<Vae>(VaeConfig{}, g, std::make_shared<Generator>(1));
    st->vae->to(device);
    st->opt = std::make_unique<Adam>(st->vae->parameters(), AdamOptions{5e-4f});
    s.batch = 64;
    st->x = randn({s.batch, 3, 32, 32}, g).to(device);
    s.description = "VAAL VAE (z 32), 3x32x32, MSE + KL, Adam";
    s.flops = 3 * forward_flops([&] { st->vae->forward_all(st->x); });
    s.run = [st, device] {
      (*st)();
      synchronize(device);  // CUDA work is asynchronous: time it to completion
    };
  } else if (name == "drn-d22") {
    // Cityscapes' 19 classes; one label in ten is the ignored 255, as unlabeled pixels are.
    constexpr int64_t kClasses = 19, kSide = 256;
    auto st = std::make_shared<SegmenterStep>();
    st->net = std::make_shared<DrnD22>(DrnConfig{3, kClasses, 1.f, 0.f}, g);
    st->net->to(device);
    st->opt =
        std::make_unique<SGD>(st->net->parameters(), SgdOptions{0.01f, 0.9f, 0.f, 1e-4f, false});
    s.batch = 8;
    st->x = randn({s.batch, 3, kSide, kSide}, g).to(device);
    std::vector<int64_t> labels(static_cast<size_t>(s.batch * kSide * kSide));
    for (auto& l : labels) l = g.randint(10) == 0 ? SegmenterStep::kDrnIgnore : g.randint(kClasses);
    st->y = Tensor::from_vector(labels, {s.batch, kSide, kSide}).to(device);
    s.description = "DRN-D-22, 3x256x256, 19 classes, per-pixel CE ignoring 255, SGD";
    s.flops = 3 * forward_flops([&] { st->net->forward(st->x); });
    s.run = [st, device] {
      (*st)();
      synchronize(device);  // CUDA work is asynchronous: time it to completion
    };
  } else {
    throw ValueError(fmt::format(
        "unknown benchmark step '{}' (expected resnet18, resnet18-w4, vae or drn-d22)", name));
  }
  return s;
}

Timing time_runs(const std::function<void()>& f, int warmup, int repeats) {
  SR_CHECK_VALUE(repeats > 0 && warmup >= 0, "bench: repeats {} must be positive", repeats);
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.repeats = repeats;
  t.min_ms = ms.front();
  t.max_ms = ms.back();
  t.median_ms =
      ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  return t;
}

double measure_sgemm_gflops(int64_t n) {
  Generator g(3);
  Tensor a = randn({n, n}, g), b = randn({n, n}, g), c = Tensor::empty({n, n});
  Timing t = time_runs([&] { kernels::gemm(Device::cpu, false, false, 1.f, a, b, 0.f, c); }, 1, 5);
  return 2.0 * double(n) * double(n) * double(n) / (t.min_ms * 1e-3) / 1e9;
}

}  // namespace sr
