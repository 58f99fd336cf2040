// Central-difference gradient checks for every differentiable op at small shapes.
// Tolerances (float32): |analytic - numeric| <= 2e-3 + 2e-2 * max(|analytic|, |numeric|) with
// eps = 1e-3, unless a test states otherwise; points within eps of a kink are skipped.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

using test::gradcheck;
using test::random_input;
using V = std::vector<Tensor>;

TEST(OpGrad, BroadcastArithmetic) {
  Tensor a = random_input({3, 4}, 1), b = random_input({4}, 2), c = random_input({3, 1}, 3);
  Tensor d = random_input({3, 4}, 4, 0.5f, 2.f);
  EXPECT_TRUE(gradcheck([](const V& v) { return add(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sub(v[0], v[1]); }, {a, c}));
  EXPECT_TRUE(gradcheck([](const V& v) { return mul(v[0], v[1]); }, {a, c}));
  EXPECT_TRUE(gradcheck([](const V& v) { return div(v[0], v[1]); }, {a, d}));
  EXPECT_TRUE(gradcheck([](const V& v) { return div(v[0], v[1]); }, {b, d}));
  EXPECT_TRUE(gradcheck([](const V& v) { return 2.f - v[0] * 3.f + 1.f; }, {a}));
}

// minimum: operands at least 0.1 apart (never within eps of the kink), broadcasting both ways.
TEST(OpGrad, MinimumAndItsTies) {
  Tensor a = random_input({3, 4}, 21), b = random_input({4}, 22);
  std::vector<float> av = a.to_vector(), bv = b.to_vector();
  for (size_t i = 0; i < av.size(); ++i)
    if (std::fabs(av[i] - bv[i % 4]) < 0.1f) av[i] = bv[i % 4] + 0.2f;
  a = Tensor::from_vector(av, {3, 4});
  a.set_requires_grad(true);
  EXPECT_TRUE(gradcheck([](const V& v) { return minimum(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const V& v) { return minimum(v[1], v[0]); }, {a, b}));
  // Worked by hand: the smaller operand takes the gradient, a tie splits it (torch.minimum,
  // pytorch#56734), NaN wins the value; greater is the 0/1 mask of a > b.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = Tensor::from_vector(std::vector<float>{1.f, 2.f, 3.f, nan}, {4});
  Tensor y = Tensor::from_vector(std::vector<float>{2.f, 2.f, 1.f, 0.f}, {4});
  x.set_requires_grad(true);
  y.set_requires_grad(true);
  Tensor m = minimum(x, y);
  sum(m).backward();
  std::vector<float> mv = m.to_vector(), gx = x.grad().to_vector(), gy = y.grad().to_vector();
  mv.resize(3), gx.resize(3), gy.resize(3);  // the NaN element's value is checked below
  EXPECT_EQ(mv, (std::vector<float>{1.f, 2.f, 1.f}));
  EXPECT_TRUE(std::isnan(m.to_vector()[3]));
  EXPECT_EQ(gx, (std::vector<float>{1.f, 0.5f, 0.f}));
  EXPECT_EQ(gy, (std::vector<float>{0.f, 0.5f, 1.f}));
  Tensor g = greater(x, y);
  EXPECT_EQ(g.to_vector(), (std::vector<float>{0.f, 0.f, 1.f, 0.f}));
  EXPECT_FALSE(g.requires_grad());
}

TEST(OpGrad, UnaryFunctions) {
  Tensor x = random_input({5, 6}, 5, -2.f, 2.f);
  Tensor pos = random_input({5, 6}, 6, 0.5f, 2.f);
  EXPECT_TRUE(gradcheck([](const V& v) { return relu(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return leaky_relu(v[0], 0.2f); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sigmoid(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return tanh(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return exp(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return log(v[0]); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sqrt(v[0]); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return pow(v[0], 3.f); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return clamp(v[0], -0.5f, 0.7f); }, {x}));
}

// NaN propagates as in PyTorch 1.13 (values from torch.relu / clamp / leaky_relu and their
// backward on [nan, -1, 2, -0.]): a diverged model must not look finite after a ReLU.
TEST(OpGrad, NaNPropagatesAsInPyTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto run = [&](auto f, std::vector<float> want_y, std::vector<float> want_g) {
    Tensor x = Tensor::from_vector(std::vector<float>{nan, -1.f, 2.f, -0.f}, {4});
    x.set_requires_grad(true);
    Tensor y = f(x);
    sum(y).backward();
    std::vector<float> yv = y.to_vector(), gv = x.grad().to_vector();
    for (size_t i = 0; i < 4; ++i) {
      if (std::isnan(want_y[i]))
        EXPECT_TRUE(std::isnan(yv[i])) << "element " << i << ": " << yv[i];
      else
        EXPECT_EQ(yv[i], want_y[i]) << "element " << i;
      EXPECT_EQ(gv[i], want_g[i]) << "gradient of element " << i;
    }
  };
  run([](const Tensor& x) { return relu(x); }, {nan, 0.f, 2.f, 0.f}, {1.f, 0.f, 1.f, 0.f});
  run([](const Tensor& x) { return clamp(x, 0.f, 1.f); }, {nan, 0.f, 1.f, 0.f},
      {0.f, 0.f, 0.f, 1.f});
  run([](const Tensor& x) { return leaky_relu(x, 0.2f); }, {nan, -0.2f, 2.f, 0.f},
      {0.2f, 0.2f, 1.f, 0.2f});
}

TEST(OpGrad, UnaryOnChannelsLast) {
  Tensor x = random_input({2, 3, 4, 5}, 7);
  EXPECT_TRUE(gradcheck(
      [](const V& v) { return sigmoid(v[0].contiguous(MemoryFormat::channels_last)); }, {x}));
}

TEST(OpGrad, Reductions) {
  Tensor x = random_input({2, 3, 4, 5}, 8);
  EXPECT_TRUE(gradcheck([](const V& v) { return sum(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sum(v[0], {1}); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sum(v[0], {0, 2, 3}, true); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return mean(v[0], {2, 3}); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return mean(v[0]); }, {x}));
}

TEST(OpGrad, RunningSums) {
  Tensor x = random_input({3, 7}, 23);
  EXPECT_TRUE(gradcheck([](const V& v) { return cumsum(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return cumsum(v[0], true); }, {x}));
  Tensor img = random_input({2, 3, 5}, 24);
  EXPECT_TRUE(gradcheck([](const V& v) { return cumsum(v[0].narrow(2, 1, 3)); }, {img}));
  // Values: forward and from the end, and a row of 10^5 ones (exact in the double accumulator).
  Tensor r = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(cumsum(r).to_vector(), (std::vector<float>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(cumsum(r, true).to_vector(), (std::vector<float>{6, 5, 3, 15, 11, 6}));
  std::vector<float> ones = cumsum(Tensor::ones({100000})).to_vector();
  EXPECT_EQ(ones[99999], 100000.f);
  EXPECT_EQ(ones[4095], 4096.f);
  EXPECT_THROW(cumsum(Tensor::scalar(1.f)), ShapeError);
}

TEST(OpGrad, ShapeOps) {
  Tensor x = random_input({4, 6}, 9), y = random_input({4, 2}, 10);
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].reshape({3, 8}); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].narrow(1, 2, 3); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return concat({v[0], v[1]}, 1); }, {x, y}));
  EXPECT_TRUE(gradcheck([](const V& v) { return split(v[0], {2, 4}, 1)[1]; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return index_select(v[0], {3, 0, 3, 1}); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return transpose2d(v[0]); }, {x}));
  Tensor img = random_input({2, 3, 4, 4}, 11);
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].flatten(1); }, {img}));
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{2, 0, 2}, {3});
  EXPECT_EQ(one_hot(labels, 3).to_vector(), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(one_hot(labels, 3).shape(), (Shape{3, 3}));
  EXPECT_THROW(one_hot(labels, 2), ValueError);  // label 2 of 2 classes
  EXPECT_THROW(one_hot(labels.to_dtype(DType::f32), 3), DTypeError);
}

TEST(OpGrad, SoftmaxFamily) {
  Tensor x = random_input({3, 5}, 12, -2.f, 2.f);
  Tensor seg = random_input({2, 4, 3, 3}, 13, -2.f, 2.f);
  EXPECT_TRUE(gradcheck([](const V& v) { return softmax(v[0], 1); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return log_softmax(v[0], 1); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return softmax(v[0], 1); }, {seg}));
  EXPECT_TRUE(gradcheck([](const V& v) { return log_softmax(v[0], 0); }, {x}));
}

TEST(OpGrad, MatmulAndLinear) {
  Tensor a = random_input({3, 4}, 14), b = random_input({4, 5}, 15);
  Tensor w = random_input({6, 4}, 16), bias = random_input({6}, 17);
  EXPECT_TRUE(gradcheck([](const V& v) { return matmul(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const V& v) { return linear(v[0], v[1], v[2]); }, {a, w, bias}));
  EXPECT_TRUE(gradcheck([](const V& v) { return linear(v[0], v[1], Tensor()); }, {a, w}));
}

struct ConvCase {
  int64_t stride, padding, dilation;
  bool bias;
  MemoryFormat fmt;
};

class ConvGrad : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvGrad, Conv2d) {
  ConvCase c = GetParam();
  set_preferred_conv_format(c.fmt);
  Tensor x = random_input({2, 3, 7, 6}, 18), w = random_input({4, 3, 3, 3}, 19);
  Tensor b = c.bias ? random_input({4}, 20) : Tensor();
  V in = c.bias ? V{x, w, b} : V{x, w};
  EXPECT_TRUE(gradcheck(
      [c](const V& v) {
        return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), c.stride, c.padding, c.dilation);
      },
      in));
  set_preferred_conv_format(MemoryFormat::channels_last);
}

TEST_P(ConvGrad, ConvTranspose2d) {
  ConvCase c = GetParam();
  set_preferred_conv_format(c.fmt);
  Tensor x = random_input({2, 3, 4, 5}, 21), w = random_input({3, 2, 3, 3}, 22);
  Tensor b = c.bias ? random_input({2}, 23) : Tensor();
  V in = c.bias ? V{x, w, b} : V{x, w};
  int64_t op = c.stride > 1 ? 1 : 0;
  EXPECT_TRUE(gradcheck(
      [c, op](const V& v) {
        return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), c.stride, c.padding, op,
                                c.dilation);
      },
      in));
  set_preferred_conv_format(MemoryFormat::channels_last);
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvGrad,
                         ::testing::Values(ConvCase{1, 1, 1, true, MemoryFormat::channels_last},
                                           ConvCase{2, 1, 1, false, MemoryFormat::channels_last},
                                           ConvCase{1, 2, 2, true, MemoryFormat::channels_last},
                                           ConvCase{2, 0, 1, true, MemoryFormat::contiguous}));

TEST(OpGrad, BatchNormTrainAndEval) {
  for (MemoryFormat fmt : {MemoryFormat::contiguous, MemoryFormat::channels_last}) {
    Tensor x = random_input({4, 3, 3, 2}, 24, -2.f, 2.f);
    Tensor w = random_input({3}, 25, 0.5f, 1.5f), b = random_input({3}, 26);
    // Batch statistics: every output depends on every input of its channel.
    EXPECT_TRUE(gradcheck(
        [fmt](const V& v) {
          Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
          return batch_norm(v[0].contiguous(fmt), v[1], v[2], rm, rv, true);
        },
        {x, w, b}));
    Tensor rm = random_input({3}, 27, -0.5f, 0.5f, false),
           rv = random_input({3}, 28, 0.5f, 2.f, false);
    EXPECT_TRUE(gradcheck(
        [fmt, rm, rv](const V& v) mutable {
          return batch_norm(v[0].contiguous(fmt), v[1], v[2], rm, rv, false);
        },
        {x, w, b}));
  }
}

TEST(OpGrad, Pooling) {
  Tensor x = random_input({2, 3, 6, 5}, 29, -2.f, 2.f);
  EXPECT_TRUE(gradcheck([](const V& v) { return max_pool2d(v[0], 2, 2); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return max_pool2d(v[0], 3, 2, 1); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return avg_pool2d(v[0], 3, 2, 1); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return avg_pool2d(v[0], 3, 2, 1, false); }, {x}));
  EXPECT_TRUE(gradcheck(
      [](const V& v) { return max_pool2d(v[0].contiguous(MemoryFormat::channels_last), 2, 2); },
      {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return global_avg_pool(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck(
      [](const V& v) { return global_avg_pool(v[0].contiguous(MemoryFormat::channels_last)); },
      {x}));
}

TEST(OpGrad, BilinearUpsampling) {
  Tensor x = random_input({2, 2, 3, 4}, 30);
  EXPECT_TRUE(gradcheck([](const V& v) { return upsample_bilinear(v[0], 7, 9); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return upsample_bilinear(v[0], 5, 3, true); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return upsample_bilinear(v[0], 2, 2); }, {x}));
}

TEST(OpGrad, Dropout) {
  Tensor x = random_input({4, 8}, 31);
  // A fresh generator per call: the same mask for every probe.
  EXPECT_TRUE(gradcheck(
      [](const V& v) {
        Generator g(5);
        return dropout(v[0], 0.3f, true, g);
      },
      {x}));
}

// A share of a batch (first_row > 0) gets those rows of the whole batch's mask, forward and
// backward, in both memory formats: exactly (the same Philox numbers).
TEST(OpGrad, DropoutOfABatchShareIsThatShareOfTheWholeBatch) {
  for (bool channels_last : {false, true}) {
    Tensor whole = random_input({5, 3, 2, 4}, 39);
    if (channels_last) whole = whole.contiguous(MemoryFormat::channels_last);
    Generator g_whole(8);
    std::vector<float> want =
        dropout(whole, 0.4f, true, g_whole).narrow(0, 2, 3).contiguous().to_vector();
    const std::vector<float> xv = whole.narrow(0, 2, 3).contiguous().to_vector();
    Tensor part = Tensor::from_vector(xv, {3, 3, 2, 4});
    if (channels_last) part = part.contiguous(MemoryFormat::channels_last);
    part.set_requires_grad(true);
    Generator g_part(8);
    Tensor y = dropout(part, 0.4f, true, g_part, 2);
    EXPECT_EQ(y.contiguous().to_vector(), want) << "channels_last " << channels_last;
    sum(y).backward();
    // d/dx of sum(dropout(x)) is the mask scaled by 1/(1-p), so x * dx is y exactly.
    std::vector<float> gx = part.grad().contiguous().to_vector(), yv = y.contiguous().to_vector();
    ASSERT_EQ(gx.size(), xv.size());
    for (size_t i = 0; i < gx.size(); ++i) EXPECT_EQ(xv[i] * gx[i], yv[i]) << i;
  }
  Generator g(1);
  EXPECT_THROW(dropout(random_input({2, 3}, 40), 0.5f, true, g, -1), ValueError);
}

TEST(OpGrad, Losses) {
  Tensor logits = random_input({5, 4}, 32, -2.f, 2.f);
  Tensor target = Tensor::from_vector(std::vector<int64_t>{0, 3, 1, -100, 2}, {5});
  EXPECT_TRUE(gradcheck([target](const V& v) { return cross_entropy(v[0], target); }, {logits}));
  Tensor seg = random_input({2, 3, 2, 2}, 33, -2.f, 2.f);
  Tensor seg_t = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 255, 2, 2, 1, 0}, {2, 2, 2});
  EXPECT_TRUE(gradcheck([seg_t](const V& v) { return cross_entropy(v[0], seg_t, 255); }, {seg}));

  Tensor p = random_input({6}, 34, 0.1f, 0.9f), soft = random_input({6}, 35, 0.f, 1.f);
  Tensor z = random_input({6}, 36, -3.f, 3.f);
  EXPECT_TRUE(gradcheck([](const V& v) { return binary_cross_entropy(v[0], v[1]); }, {p, soft}));
  EXPECT_TRUE(gradcheck([](const V& v) { return binary_cross_entropy_with_logits(v[0], v[1]); },
                        {z, soft}));
  Tensor a = random_input({3, 4}, 37), b = random_input({3, 4}, 38);
  EXPECT_TRUE(gradcheck([](const V& v) { return mse_loss(v[0], v[1]); }, {a, b}));
  Tensor mu = random_input({3, 4}, 39), lv = random_input({3, 4}, 40);
  for (KlReduction r : {KlReduction::sum, KlReduction::batch_mean, KlReduction::mean})
    EXPECT_TRUE(gradcheck([r](const V& v) { return kl_normal(v[0], v[1], r); }, {mu, lv}));
}

TEST(OpGrad, Reparameterize) {
  Tensor mu = random_input({3, 4}, 41), lv = random_input({3, 4}, 42);
  EXPECT_TRUE(gradcheck(
      [](const V& v) {
        Generator g(9);
        return reparameterize(v[0], v[1], g);
      },
      {mu, lv}));
}

}  // namespace
}  // namespace sr
