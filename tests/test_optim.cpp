// Optimisers and schedules on hand-computed cases (PyTorch trajectories are in
// test_torch_parity.cpp).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/optim.h"

namespace sr {
namespace {

Tensor param(std::vector<float> v) {
  Tensor p = Tensor::from_vector(v, {int64_t(v.size())});
  p.set_requires_grad(true);
  return p;
}

TEST(Optim, PlainSgdStep) {
  Tensor p = param({1.f, -2.f});
  SGD opt({p}, {0.5f});
  p.set_grad(Tensor::from_vector(std::vector<float>{0.2f, 0.4f}, {2}));
  opt.step();
  EXPECT_EQ(p.to_vector(), (std::vector<float>{0.9f, -2.2f}));
}

TEST(Optim, MomentumBufferStartsWithFirstGradient) {
  Tensor p = param({0.f});
  SGD opt({p}, {1.f, 0.5f});
  p.set_grad(Tensor::from_vector(std::vector<float>{1.f}, {1}));
  opt.step();  // buf = 1, p = -1
  opt.step();  // buf = 0.5 + 1 = 1.5, p = -2.5
  EXPECT_FLOAT_EQ(p.to_vector()[0], -2.5f);
}

TEST(Optim, ParametersWithoutGradientAreSkipped) {
  Tensor a = param({1.f}), b = param({1.f});
  Adam opt({a, b}, {0.1f});
  a.set_grad(Tensor::from_vector(std::vector<float>{1.f}, {1}));
  opt.step();
  // First Adam step moves by lr * sign(g) (bias-corrected m / sqrt(v) = 1).
  EXPECT_NEAR(a.to_vector()[0], 0.9f, 1e-6);
  EXPECT_EQ(b.to_vector()[0], 1.f);
}

TEST(Optim, InvalidOptionsAreRejected) {
  Tensor p = param({0.f});
  EXPECT_THROW(SGD({p}, {-0.1f}), ValueError);
  EXPECT_THROW(SGD({p}, {0.1f, 0.f, 0.f, 0.f, true}), ValueError);  // Nesterov needs momentum
  EXPECT_THROW(Adam({p}, {0.1f, 1.0f}), ValueError);
}

TEST(Schedules, MultiStepStepCosineAndPoly) {
  MultiStepLR ms(0.1f, {3, 6}, 0.1f);
  EXPECT_FLOAT_EQ(ms.lr_at(0), 0.1f);
  EXPECT_FLOAT_EQ(ms.lr_at(2), 0.1f);
  EXPECT_FLOAT_EQ(ms.lr_at(3), 0.01f);
  EXPECT_NEAR(ms.lr_at(7), 0.001f, 1e-9);
  StepLR st(5e-4f, 10, 0.85f);
  EXPECT_FLOAT_EQ(st.lr_at(9), 5e-4f);
  EXPECT_FLOAT_EQ(st.lr_at(25), 5e-4f * 0.85f * 0.85f);
  CosineLR cs(1.f, 10, 0.1f);
  EXPECT_FLOAT_EQ(cs.lr_at(0), 1.f);
  EXPECT_NEAR(cs.lr_at(5), 0.55f, 1e-6);
  EXPECT_NEAR(cs.lr_at(10), 0.1f, 1e-6);
  // fyu/drn's poly: lr * (1 - epoch / epochs)^0.9
  PolyLR poly(0.01f, 10, 0.9f);
  EXPECT_FLOAT_EQ(poly.lr_at(0), 0.01f);
  EXPECT_NEAR(poly.lr_at(5), 0.01 * std::pow(0.5, 0.9), 1e-9);
  EXPECT_FLOAT_EQ(poly.lr_at(10), 0.f);
  EXPECT_FLOAT_EQ(poly.lr_at(12), 0.f);
  EXPECT_THROW(PolyLR(0.01f, 0), ValueError);
  Tensor p = param({0.f});
  SGD opt({p}, {0.1f});
  ms.step(opt);
  ms.step(opt);
  ms.step(opt);
  EXPECT_FLOAT_EQ(opt.lr(), 0.01f);
}

TEST(Devices, CudaTensorsRoundTripWhereAGpuExists) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device: " << cuda_info().reason;
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
  Tensor g = x.to(Device::cuda);
  EXPECT_EQ(g.device(), Device::cuda);
  EXPECT_EQ(g.to(Device::cpu).to_vector(), x.to_vector());
}

TEST(Devices, CudaRequestFailsClearlyWithoutAGpu) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present";
  try {
    require_device(Device::cuda);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("not available"), std::string::npos);
  }
  EXPECT_THROW(Tensor::zeros({2}).to(Device::cuda), DeviceError);
}

}  // namespace
}  // namespace sr

namespace sr {
namespace {

// The governor's decision: the CPUs other processes leave free, rounded, at least one.
TEST(ThreadGovernor, ThreadsForLoad) {
  EXPECT_EQ(threads_for_load(2, 0.0), 2);
  EXPECT_EQ(threads_for_load(2, 0.3), 2);
  EXPECT_EQ(threads_for_load(2, 0.7), 1);  // a neighbour squeezed to 2/3 of a core by us
  EXPECT_EQ(threads_for_load(2, 1.0), 1);
  EXPECT_EQ(threads_for_load(2, 5.0), 1);
  EXPECT_EQ(threads_for_load(16, 3.2), 13);
  EXPECT_EQ(threads_for_load(4, -0.2), 4);  // measurement noise
  EXPECT_EQ(threads_for_load(4, std::nan("")), 4);
  EXPECT_EQ(threads_for_load(1, 0.9), 1);
}

// A busy neighbour process lowers the count at the next look (a second later); a pinned count
// never moves.
TEST(ThreadGovernor, BusyNeighbourLowersTheCountUnlessPinned) {
  const int cpus = get_num_cpus();
  if (cpus < 2) GTEST_SKIP() << "one CPU: nothing to lower";
  auto burn = [](double seconds) {
    pid_t child = ::fork();
    if (child == 0) {
      auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
      volatile uint64_t x = 0;
      while (std::chrono::steady_clock::now() < end) x = x + 1;
      ::_exit(0);
    }
    return child;
  };
  unpin_threads();
  adapt_threads();  // first look: primes the counters
  pid_t child = burn(1.3);
  std::this_thread::sleep_for(std::chrono::milliseconds(1150));
  adapt_threads();
  int under_load = get_num_threads();
  ::waitpid(child, nullptr, 0);
  EXPECT_LT(under_load, cpus);

  set_num_threads(cpus);  // pinned again, as every other test runs
  adapt_threads();
  child = burn(1.3);
  std::this_thread::sleep_for(std::chrono::milliseconds(1150));
  adapt_threads();
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(get_num_threads(), cpus);
  EXPECT_FALSE(threads_adaptive());
}

}  // namespace
}  // namespace sr
