// Autograd engine: accumulation, shared subexpressions, freed graphs, no-grad scopes.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

TEST(Autograd, ChainAndSharedInput) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}).set_requires_grad(true);
  // y = sum(x * x + 3x): dy/dx = 2x + 3
  Tensor y = sum(add(mul(x, x), mul(x, 3.f)));
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{5, 7, 9}));
}

TEST(Autograd, BackwardAccumulatesIntoLeaves) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, -2}, {2}).set_requires_grad(true);
  sum(mul(x, 2.f)).backward();
  sum(mul(x, 2.f)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{4, 4}));
}

TEST(Autograd, SecondBackwardThroughFreedGraphThrows) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2}, {2}).set_requires_grad(true);
  Tensor y = sum(exp(x));
  y.backward();
  EXPECT_THROW(y.backward(), AutogradError);
  Tensor z = sum(exp(x));
  z.backward(Tensor(), /*retain_graph=*/true);
  z.backward();
  std::vector<float> g = x.grad().to_vector();
  EXPECT_NEAR(g[0], 3 * std::exp(1.f), 1e-5);
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  Tensor y;
  {
    NoGradGuard ng;
    y = mul(x, 2.f);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Autograd, NonScalarRootNeedsGradient) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  Tensor y = mul(x, 2.f);
  EXPECT_THROW(y.backward(), AutogradError);
  y.backward(Tensor::from_vector(std::vector<float>{1, 10}, {2}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 20}));
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  Tensor x = Tensor::ones({1000}).set_requires_grad(true);
  std::weak_ptr<Storage> saved;
  {
    Tensor h = exp(x);  // exp saves its output
    saved = h.impl()->storage;
    Tensor y = sum(h);
    h = Tensor();
    EXPECT_FALSE(saved.expired());  // kept alive by the graph
    y.backward();
    EXPECT_TRUE(saved.expired());  // released by backward although y is still alive
  }
}

TEST(Autograd, DetachStopsGradient) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  Tensor y = sum(add(mul(x, 2.f), x.detach()));
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 2}));
}

}  // namespace
}  // namespace sr

namespace sr {
namespace {

// The checker itself must fail on a wrong gradient, smooth or piecewise linear.
TEST(Gradcheck, CatchesWrongGradients) {
  auto wrong_square = [](const std::vector<Tensor>& v) {
    Tensor x = v[0];
    Tensor y = Tensor::empty(x.shape());
    {
      NoGradGuard ng;
      y.copy_(mul(x, x));
    }
    record_op("wrong_square", {x}, {y}, [&] {
      return [sx = save(x)](const std::vector<Tensor>& g) {
        return std::vector<Tensor>{mul(mul(g[0], sx), 2.1f)};  // true rule: 2 x g
      };
    });
    return y;
  };
  Tensor x = test::random_input({6}, 3, 0.5f, 1.5f);
  EXPECT_FALSE(test::gradcheck(wrong_square, {x}));
  auto wrong_relu = [](const std::vector<Tensor>& v) {
    Tensor x = v[0];
    Tensor y = Tensor::empty(x.shape());
    {
      NoGradGuard ng;
      y.copy_(relu(x));
    }
    record_op("wrong_relu", {x}, {y}, [&] {
      return [](const std::vector<Tensor>& g) {
        return std::vector<Tensor>{g[0]};
      };  // ignores the mask
    });
    return y;
  };
  Tensor z = test::random_input({8}, 4, -1.f, 1.f);
  EXPECT_FALSE(test::gradcheck(wrong_relu, {z}));
}

}  // namespace
}  // namespace sr

namespace sr {
namespace {

// The hook a data-parallel reducer hangs on a parameter: called once per backward pass, after
// the leaf's gradient holds everything that pass produced for it (x is used twice here).
TEST(Autograd, PostAccumulateHookSeesTheLeafsWholeGradientOnce) {
  Tensor x = Tensor::from_vector(std::vector<float>{1.f, 2.f}, {2}).set_requires_grad(true);
  std::vector<std::vector<float>> seen;
  uint64_t id = add_post_accumulate_grad_hook(x, [&](const Tensor& leaf) {
    EXPECT_TRUE(leaf.is_same(x));
    seen.push_back(leaf.grad().to_vector());
  });
  sum(x * x + x * 3.f).backward();  // d/dx = 2x + 3
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (std::vector<float>{5.f, 7.f}));
  sum(x).backward();  // accumulates: the hook sees the sum so far
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], (std::vector<float>{6.f, 8.f}));
  remove_post_accumulate_grad_hook(x, id);
  sum(x).backward();
  EXPECT_EQ(seen.size(), 2u);
  Tensor y = x * 2.f;  // not a leaf
  EXPECT_THROW(add_post_accumulate_grad_hook(y, [](const Tensor&) {}), AutogradError);
}

}  // namespace
}  // namespace sr
