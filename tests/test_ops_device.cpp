// Every engine op on CUDA against the CPU: forward values and the gradients of every input
// (through the same autograd graph), under stated tolerances. Each test skips with the reason
// when this machine has no usable CUDA device (always the case in a CPU-only build).
//
// Tolerances: |cuda - cpu| <= atol + rtol * |cpu| per element, with
//   kExact  (0, 0)        integer results, copies, Philox uniforms, dropout masks
//   kTight  (1e-5, 1e-5)  element-wise ops (device libm vs host libm: a few ulps)
//   kReduce (1e-4, 1e-4)  sums, softmax, cross-entropy, bilinear (different summation orders)
//   kLib    (1e-3, 1e-3)  cuDNN / cuBLAS vs oneDNN / OpenBLAS (algorithm-dependent orders,
//                         float32 math: TF32 stays off in these tests)
// The scalar probed for gradients is L = sum(f(inputs) * R) with a fixed random R.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/kernels.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"
#include "engine/transfer.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

using test::all_close;
using test::random_input;
using V = std::vector<Tensor>;
using Fn = std::function<Tensor(const V&)>;

struct Tol {
  double atol, rtol;
};
constexpr Tol kExact{0, 0}, kTight{1e-5, 1e-5}, kReduce{1e-4, 1e-4}, kLib{1e-3, 1e-3};

#define SKIP_WITHOUT_CUDA() \
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device: " << cuda_info().reason

// Runs f on CPU copies and CUDA copies of `inputs` (float inputs require grad when `grad`),
// backpropagates L = sum(f * R) on both, and compares the outputs and every input gradient.
void expect_cuda_matches_cpu(const Fn& f, const V& inputs, Tol fwd, Tol bwd, bool grad = true) {
  V cpu, gpu;
  for (const Tensor& x : inputs) {
    Tensor c = x.detach().clone(), g = x.detach().to(Device::cuda);
    if (grad && x.dtype() == DType::f32) {
      c.set_requires_grad(true);
      g.set_requires_grad(true);
    }
    cpu.push_back(c);
    gpu.push_back(g);
  }
  Tensor yc = f(cpu), yg = f(gpu);
  ASSERT_EQ(yg.device(), Device::cuda);
  EXPECT_TRUE(all_close(yg.to(Device::cpu), yc, fwd.atol, fwd.rtol)) << "forward";
  if (!grad || yc.dtype() != DType::f32) return;
  Tensor r = random_input(yc.shape(), 777, -1.f, 1.f, false);
  sum(mul(yc, r)).backward();
  sum(mul(yg, r.to(Device::cuda))).backward();
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!cpu[k].requires_grad()) continue;
    ASSERT_TRUE(cpu[k].grad().defined()) << "input " << k;
    ASSERT_TRUE(gpu[k].grad().defined()) << "input " << k << " got no CUDA gradient";
    EXPECT_TRUE(all_close(gpu[k].grad().to(Device::cpu), cpu[k].grad(), bwd.atol, bwd.rtol))
        << "gradient of input " << k;
  }
}

Tensor input(const Shape& s, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  return random_input(s, seed, lo, hi, false);
}

// Settings changed by a test are restored when it ends.
struct SettingsGuard {
  bool det = deterministic(), tf32 = allow_tf32(), bench = cudnn_benchmark();
  MemoryFormat fmt = preferred_conv_format();
  ~SettingsGuard() {
    set_deterministic(det);
    set_allow_tf32(tf32);
    set_cudnn_benchmark(bench);
    set_preferred_conv_format(fmt);
  }
};

// ---------------------------------------------------------------- memory

TEST(OpsDevice, FillCopyAndConversions) {
  SKIP_WITHOUT_CUDA();
  Tensor x = input({3, 4, 5}, 1, -100.f, 100.f);
  Tensor g = x.to(Device::cuda);
  EXPECT_TRUE(all_close(g.to(Device::cpu), x, 0, 0));
  // strided copies: a transposed view made contiguous, a narrowed slice, NCHW <-> NHWC
  Tensor img = input({2, 3, 4, 5}, 2);
  Tensor gl = img.to(Device::cuda).contiguous(MemoryFormat::channels_last);
  EXPECT_TRUE(all_close(gl.to(Device::cpu), img, 0, 0));
  EXPECT_TRUE(all_close(gl.contiguous().to(Device::cpu), img, 0, 0));
  EXPECT_TRUE(all_close(g.narrow(1, 1, 2).contiguous().to(Device::cpu),
                        x.narrow(1, 1, 2).contiguous(), 0, 0));
  // dtype conversions (float -> int truncates as on the CPU)
  for (DType dt : {DType::i32, DType::i64}) {
    Tensor c = x.to_dtype(dt), d = g.to_dtype(dt);
    EXPECT_EQ(d.to(Device::cpu).to_vector(), c.to_vector());
    EXPECT_EQ(d.to_dtype(DType::f32).to(Device::cpu).to_vector(),
              c.to_dtype(DType::f32).to_vector());
  }
  Tensor f = Tensor::full({7, 3}, 2.5, DType::f32, Device::cuda);
  EXPECT_EQ(f.to_vector(), std::vector<float>(21, 2.5f));
  Tensor fi = Tensor::full({5}, -3, DType::i64, Device::cuda);
  EXPECT_EQ(fi.to_vector_as<int64_t>(), std::vector<int64_t>(5, -3));
  Tensor gv = g.narrow(2, 1, 3);  // non-dense fill goes through a copy
  gv.fill_(7.0);
  Tensor xv = x.clone();
  Tensor xs = xv.narrow(2, 1, 3);
  xs.fill_(7.0);
  EXPECT_TRUE(all_close(g.to(Device::cpu), xv, 0, 0));
}

TEST(OpsDevice, UploadOverlapsAndLands) {
  SKIP_WITHOUT_CUDA();
  Tensor host = input({64, 33}, 3);
  Upload up(host, Device::cuda);
  Tensor busy = mul(input({256, 256}, 4).to(Device::cuda), 2.f);  // work queued meanwhile
  Tensor got = up.get();
  EXPECT_EQ(got.device(), Device::cuda);
  EXPECT_TRUE(all_close(got.to(Device::cpu), host, 0, 0));
  for (int i = 0; i < 4; ++i) {  // staging buffers are reused
    Tensor h = input({1000 + i}, 10 + uint64_t(i));
    Upload u(h, Device::cuda);
    EXPECT_TRUE(all_close(u.get().to(Device::cpu), h, 0, 0));
  }
  synchronize(Device::cuda);
  EXPECT_GT(allocator_for(Device::cuda).peak_bytes(), size_t(0));
}

// ---------------------------------------------------------------- element-wise

TEST(OpsDevice, UnaryOps) {
  SKIP_WITHOUT_CUDA();
  Tensor x = input({7, 9}, 5, -2.f, 2.f), pos = input({7, 9}, 6, 0.5f, 2.f);
  for (auto f : std::vector<Fn>{
           [](const V& v) { return relu(v[0]); }, [](const V& v) { return leaky_relu(v[0], 0.2f); },
           [](const V& v) { return sigmoid(v[0]); }, [](const V& v) { return tanh(v[0]); },
           [](const V& v) { return exp(v[0]); },
           [](const V& v) { return clamp(v[0], -0.5f, 0.7f); },
           [](const V& v) { return affine(v[0], 3.f, -1.f); }})
    expect_cuda_matches_cpu(f, {x}, kTight, kTight);
  for (auto f :
       std::vector<Fn>{[](const V& v) { return log(v[0]); }, [](const V& v) { return sqrt(v[0]); },
                       [](const V& v) { return pow(v[0], 2.5f); }})
    expect_cuda_matches_cpu(f, {pos}, kTight, kTight);
}

TEST(OpsDevice, BroadcastingBinaryOps) {
  SKIP_WITHOUT_CUDA();
  Tensor a = input({3, 4, 5}, 7), b = input({4, 1}, 8), c = input({5}, 9);
  Tensor d = input({3, 1, 5}, 10, 0.5f, 2.f);
  expect_cuda_matches_cpu([](const V& v) { return add(v[0], v[1]); }, {a, b}, kTight, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return sub(v[0], v[1]); }, {a, c}, kTight, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return mul(v[0], v[1]); }, {a, d}, kTight, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return div(v[0], v[1]); }, {b, d}, kTight, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return add(mul(v[0], 2.f), 1.f); }, {a}, kTight, kTight);
  // minimum's gradient split at ties (a against itself), greater's exact mask
  expect_cuda_matches_cpu([](const V& v) { return minimum(v[0], v[1]); }, {a, b}, kExact, kTight);
  expect_cuda_matches_cpu([](const V& v) { return minimum(v[0], v[0].narrow(0, 1, 1)); }, {a},
                          kExact, kTight);
  expect_cuda_matches_cpu([](const V& v) { return greater(v[0], v[1]); }, {a, c}, kExact, kExact,
                          false);
  // channels_last operands (a dense non-row-major layout shared by a, b, out)
  Tensor e = input({2, 3, 4, 5}, 11).contiguous(MemoryFormat::channels_last);
  Tensor f = input({2, 3, 4, 5}, 12).contiguous(MemoryFormat::channels_last);
  expect_cuda_matches_cpu([](const V& v) { return mul(v[0], v[1]); }, {e, f}, kTight, kTight);
}

TEST(OpsDevice, PointwiseLosses) {
  SKIP_WITHOUT_CUDA();
  Tensor p = input({6, 5}, 13, 0.05f, 0.95f), t = input({6, 5}, 14, 0.f, 1.f);
  Tensor x = input({6, 5}, 15, -3.f, 3.f);
  expect_cuda_matches_cpu([](const V& v) { return binary_cross_entropy(v[0], v[1]); }, {p, t},
                          kReduce, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return binary_cross_entropy_with_logits(v[0], v[1]); },
                          {x, t}, kReduce, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return mse_loss(v[0], v[1]); }, {x, t}, kReduce,
                          kReduce);
  expect_cuda_matches_cpu([](const V& v) { return kl_normal(v[0], v[1]); }, {x, t}, kReduce,
                          kReduce);
}

// ---------------------------------------------------------------- reductions

TEST(OpsDevice, SumsOverAxes) {
  SKIP_WITHOUT_CUDA();
  Tensor x = input({4, 5, 6, 7}, 16);
  for (std::vector<int64_t> dims : std::vector<std::vector<int64_t>>{
           {0}, {1}, {3}, {0, 1}, {1, 2}, {0, 2}, {1, 3}, {0, 1, 2, 3}})
    expect_cuda_matches_cpu([dims](const V& v) { return sum(v[0], dims, true); }, {x}, kReduce,
                            kReduce);
  expect_cuda_matches_cpu([](const V& v) { return mean(v[0]); }, {x}, kReduce, kReduce);
  // long rows (several chunks per row) and a long column reduction
  Tensor big = input({3, 50000}, 17);
  expect_cuda_matches_cpu([](const V& v) { return sum(v[0], {1}); }, {big}, {1e-3, 1e-4}, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return sum(v[0], {0}); }, {big.reshape({50000, 3})},
                          {1e-3, 1e-4}, kReduce);
}

TEST(OpsDevice, RunningSums) {
  SKIP_WITHOUT_CUDA();
  // Both accumulate in double: float results a rounding apart. Many short rows, and rows of
  // many tiles (kThreads x kScanItems = 1024 per tile) from either end.
  Tensor x = input({37, 5}, 18), big = input({2, 50001}, 19, 0.f, 1.f);
  expect_cuda_matches_cpu([](const V& v) { return cumsum(v[0]); }, {x}, kTight, kTight);
  expect_cuda_matches_cpu([](const V& v) { return cumsum(v[0], true); }, {x}, kTight, kTight);
  expect_cuda_matches_cpu([](const V& v) { return cumsum(v[0]); }, {big}, kTight, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return cumsum(v[0], true); }, {big}, kTight, kReduce);
}

TEST(OpsDevice, ArgmaxSoftmaxAndCrossEntropy) {
  SKIP_WITHOUT_CUDA();
  Tensor x = input({9, 37}, 18, -4.f, 4.f);
  Tensor am = argmax(x.to(Device::cuda));
  EXPECT_EQ(am.to(Device::cpu).to_vector_as<int64_t>(), argmax(x).to_vector_as<int64_t>());
  Tensor ties = Tensor::from_vector(std::vector<float>{1, 3, 3, 0, 2, 2, 2, 2}, {2, 4});
  EXPECT_EQ(argmax(ties.to(Device::cuda)).to(Device::cpu).to_vector_as<int64_t>(),
            (std::vector<int64_t>{1, 0}));
  expect_cuda_matches_cpu([](const V& v) { return softmax(v[0], 1); }, {x}, kReduce, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return log_softmax(v[0], 1); }, {x}, kReduce, kReduce);
  Tensor x4 = input({2, 5, 3, 4}, 19, -3.f, 3.f);  // softmax over a middle dim (inner > 1)
  expect_cuda_matches_cpu([](const V& v) { return softmax(v[0], 1); }, {x4}, kReduce, kReduce);
  expect_cuda_matches_cpu([](const V& v) { return log_softmax(v[0], 2); }, {x4}, kReduce, kReduce);
  Tensor t = Tensor::from_vector(std::vector<int64_t>{0, 36, 5, -100, 7, 7, 1, 2, 30}, {9});
  expect_cuda_matches_cpu([](const V& v) { return cross_entropy(v[0], v[1]); }, {x, t}, kReduce,
                          kReduce);
  // per-pixel (N, C, H, W) logits with ignored pixels
  std::vector<int64_t> tv(2 * 3 * 4);
  for (size_t i = 0; i < tv.size(); ++i) tv[i] = i % 7 == 3 ? 255 : int64_t(i % 5);
  Tensor tp = Tensor::from_vector(tv, {2, 3, 4});
  expect_cuda_matches_cpu([](const V& v) { return cross_entropy(v[0], v[1], 255); }, {x4, tp},
                          kReduce, kReduce);
  Tensor bad = Tensor::from_vector(std::vector<int64_t>{0, 1, 99, 2, 3, 4, 5, 6, 7}, {9});
  EXPECT_THROW(cross_entropy(x.to(Device::cuda), bad.to(Device::cuda)), ValueError);
}

// ---------------------------------------------------------------- linear algebra

TEST(OpsDevice, MatmulAndLinear) {
  SKIP_WITHOUT_CUDA();
  SettingsGuard guard;
  set_allow_tf32(false);
  Tensor a = input({17, 33}, 20), b = input({33, 9}, 21);
  expect_cuda_matches_cpu([](const V& v) { return matmul(v[0], v[1]); }, {a, b}, kLib, kLib);
  Tensor x = input({8, 33}, 22), w = input({12, 33}, 23), bias = input({12}, 24);
  expect_cuda_matches_cpu([](const V& v) { return linear(v[0], v[1], v[2]); }, {x, w, bias}, kLib,
                          kLib);
  set_allow_tf32(true);  // TF32 products: about 1e-3 relative
  expect_cuda_matches_cpu([](const V& v) { return matmul(v[0], v[1]); }, {a, b}, {1e-2, 1e-2},
                          {1e-2, 1e-2});
}

// ---------------------------------------------------------------- convolution, norm, pooling

void conv_cases() {
  Tensor x = input({2, 3, 9, 8}, 25), w = input({4, 3, 3, 3}, 26), b = input({4}, 27);
  expect_cuda_matches_cpu([](const V& v) { return conv2d(v[0], v[1], v[2], 1, 1); }, {x, w, b},
                          kLib, kLib);
  expect_cuda_matches_cpu([](const V& v) { return conv2d(v[0], v[1], v[2], 2, 0, 2); }, {x, w, b},
                          kLib, kLib);
  expect_cuda_matches_cpu([](const V& v) { return conv2d(v[0], v[1], Tensor(), 1, 0); }, {x, w},
                          kLib, kLib);
  // transposed: weight (in, out, kh, kw), with output padding
  Tensor xt = input({2, 4, 5, 6}, 28), wt = input({4, 3, 3, 3}, 29), bt = input({3}, 30);
  expect_cuda_matches_cpu([](const V& v) { return conv_transpose2d(v[0], v[1], v[2], 2, 1, 1); },
                          {xt, wt, bt}, kLib, kLib);
  expect_cuda_matches_cpu([](const V& v) { return conv_transpose2d(v[0], v[1], v[2], 1, 0); },
                          {xt, wt, bt}, kLib, kLib);
}

TEST(OpsDevice, ConvolutionBothLayouts) {
  SKIP_WITHOUT_CUDA();
  SettingsGuard guard;
  set_allow_tf32(false);
  set_preferred_conv_format(MemoryFormat::contiguous);
  conv_cases();
  set_preferred_conv_format(MemoryFormat::channels_last);
  conv_cases();
}

TEST(OpsDevice, ConvolutionDeterministicAndBenchmarkModes) {
  SKIP_WITHOUT_CUDA();
  SettingsGuard guard;
  set_allow_tf32(false);
  set_deterministic(true);
  conv_cases();
  Tensor x = input({4, 8, 16, 16}, 31).to(Device::cuda), w = input({8, 8, 3, 3}, 32);
  Tensor wg = w.to(Device::cuda).set_requires_grad(true);
  auto run = [&] {
    wg.set_grad(Tensor());
    sum(conv2d(x, wg, Tensor(), 1, 1)).backward();
    return wg.grad().to(Device::cpu).to_vector();
  };
  EXPECT_EQ(run(), run()) << "deterministic mode: bitwise equal weight gradients";
  set_deterministic(false);
  set_cudnn_benchmark(true);
  conv_cases();
}

TEST(OpsDevice, BatchNormTrainingAndEval) {
  SKIP_WITHOUT_CUDA();
  for (MemoryFormat fmt : {MemoryFormat::contiguous, MemoryFormat::channels_last}) {
    Tensor x = input({4, 3, 5, 6}, 33, -2.f, 3.f).contiguous(fmt);
    Tensor w = input({3}, 34, 0.5f, 1.5f), b = input({3}, 35);
    Tensor rm_c = Tensor::zeros({3}), rv_c = Tensor::ones({3});
    Tensor rm_g = rm_c.to(Device::cuda), rv_g = rv_c.to(Device::cuda);
    expect_cuda_matches_cpu(
        [&](const V& v) {
          bool cuda = v[0].device() == Device::cuda;
          Tensor& rm = cuda ? rm_g : rm_c;
          Tensor& rv = cuda ? rv_g : rv_c;
          return batch_norm(v[0], v[1], v[2], rm, rv, true, 0.1f, 1e-5f);
        },
        {x, w, b}, kLib, kLib);
    EXPECT_TRUE(all_close(rm_g.to(Device::cpu), rm_c, 1e-5, 1e-4)) << "running mean";
    EXPECT_TRUE(all_close(rv_g.to(Device::cpu), rv_c, 1e-5, 1e-4)) << "running var (unbiased)";
    expect_cuda_matches_cpu(
        [&](const V& v) {
          bool cuda = v[0].device() == Device::cuda;
          Tensor& rm = cuda ? rm_g : rm_c;
          Tensor& rv = cuda ? rv_g : rv_c;
          return batch_norm(v[0], v[1], v[2], rm, rv, false);
        },
        {x, w, b}, kLib, kLib);
  }
}

TEST(OpsDevice, Pooling) {
  SKIP_WITHOUT_CUDA();
  SettingsGuard guard;
  for (MemoryFormat fmt : {MemoryFormat::contiguous, MemoryFormat::channels_last}) {
    Tensor x = input({2, 3, 9, 8}, 36).contiguous(fmt);
    expect_cuda_matches_cpu([](const V& v) { return max_pool2d(v[0], 2, 2); }, {x}, kExact, kTight);
    expect_cuda_matches_cpu([](const V& v) { return max_pool2d(v[0], 3, 2, 1); }, {x}, kExact,
                            kTight);
    expect_cuda_matches_cpu([](const V& v) { return avg_pool2d(v[0], 3, 2, 1, true); }, {x}, kTight,
                            kTight);
    expect_cuda_matches_cpu([](const V& v) { return avg_pool2d(v[0], 3, 2, 1, false); }, {x},
                            kTight, kTight);
    expect_cuda_matches_cpu([](const V& v) { return global_avg_pool(v[0]); }, {x}, kReduce,
                            kReduce);
  }
  set_deterministic(true);
  Tensor x = input({2, 3, 9, 8}, 37);
  expect_cuda_matches_cpu([](const V& v) { return max_pool2d(v[0], 3, 2, 1); }, {x}, kExact,
                          kTight);
}

// ---------------------------------------------------------------- resampling and indexing

TEST(OpsDevice, BilinearUpsampling) {
  SKIP_WITHOUT_CUDA();
  Tensor x = input({2, 3, 5, 7}, 38);
  for (bool align : {false, true}) {
    expect_cuda_matches_cpu([align](const V& v) { return upsample_bilinear(v[0], 11, 16, align); },
                            {x}, kReduce, kReduce);
    expect_cuda_matches_cpu([align](const V& v) { return upsample_bilinear(v[0], 3, 4, align); },
                            {x}, kReduce, kReduce);
    expect_cuda_matches_cpu([align](const V& v) { return upsample_bilinear(v[0], 1, 1, align); },
                            {x}, kReduce, kReduce);
  }
}

TEST(OpsDevice, IndexSelectAndIndexAdd) {
  SKIP_WITHOUT_CUDA();
  SettingsGuard guard;
  Tensor x = input({10, 3, 4}, 39);
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{3, 0, 3, 9, 3, 1, 1}, {7});
  for (bool det : {false, true}) {
    set_deterministic(det);
    expect_cuda_matches_cpu([](const V& v) { return index_select(v[0], v[1]); }, {x, idx}, kExact,
                            det ? kExact : kTight);
  }
  Tensor xi = Tensor::arange(12, DType::i64).reshape({6, 2});
  EXPECT_EQ(index_select(xi.to(Device::cuda), idx.narrow(0, 0, 3).to(Device::cuda))
                .to(Device::cpu)
                .to_vector_as<int64_t>(),
            index_select(xi, idx.narrow(0, 0, 3)).to_vector_as<int64_t>());
  Tensor oob = Tensor::from_vector(std::vector<int64_t>{0, 10}, {2});
  EXPECT_THROW(index_select(x.to(Device::cuda), oob.to(Device::cuda)), ValueError);
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{3, 0, 4, 3}, {4});
  EXPECT_EQ(one_hot(labels.to(Device::cuda), 5).to(Device::cpu).to_vector(),
            one_hot(labels, 5).to_vector());
}

// ---------------------------------------------------------------- randomness

TEST(OpsDevice, PhiloxStreamsMatchTheCpu) {
  SKIP_WITHOUT_CUDA();
  Generator gc(42), gg(42);
  EXPECT_EQ(rand({1000}, gg, Device::cuda).to(Device::cpu).to_vector(),
            rand({1000}, gc).to_vector());
  EXPECT_TRUE(
      all_close(randn({1000}, gg, Device::cuda).to(Device::cpu), randn({1000}, gc), 1e-5, 1e-5));
  Generator dc(7), dg(7);
  Tensor x = input({33, 31}, 40);
  expect_cuda_matches_cpu(
      [&](const V& v) {
        return dropout(v[0], 0.3f, true, v[0].device() == Device::cuda ? dg : dc);
      },
      {x}, kTight, kTight);
  expect_cuda_matches_cpu(  // a share of a batch: the element offset
      [&](const V& v) {
        return dropout(v[0], 0.3f, true, v[0].device() == Device::cuda ? dg : dc, 5);
      },
      {x}, kTight, kTight);
}

// ---------------------------------------------------------------- optimisers

template <class Opt, class Options>
void expect_steps_match(const Options& o) {
  // Many tensors of mixed sizes, one larger than a multi-tensor chunk.
  std::vector<Shape> shapes = {{3}, {70000}, {5, 7}, {1}, {64, 3, 3, 3}};
  for (int i = 0; i < 30; ++i) shapes.push_back({int64_t(i) + 2});
  V pc, pg;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Tensor p = input(shapes[i], 100 + i);
    pc.push_back(p.clone().set_requires_grad(true));
    pg.push_back(p.to(Device::cuda).set_requires_grad(true));
  }
  Opt oc(pc, o), og(pg, o);
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor g = input(shapes[i], 1000 + 31 * uint64_t(step) + i);
      pc[i].set_grad(g);
      pg[i].set_grad(g.to(Device::cuda));
    }
    oc.step();
    og.step();
  }
  for (size_t i = 0; i < shapes.size(); ++i)
    EXPECT_TRUE(all_close(pg[i].detach().to(Device::cpu), pc[i].detach(), 1e-6, 1e-5))
        << "parameter " << i;
}

TEST(OpsDevice, FusedOptimiserSteps) {
  SKIP_WITHOUT_CUDA();
  SgdOptions s;
  s.lr = 0.05f;
  s.momentum = 0.9f;
  s.weight_decay = 1e-4f;
  s.nesterov = true;
  expect_steps_match<SGD>(s);
  expect_steps_match<SGD>(SgdOptions{});
  AdamOptions a;
  a.lr = 1e-2f;
  a.weight_decay = 1e-3f;
  expect_steps_match<Adam>(a);
}

}  // namespace
}  // namespace sr
