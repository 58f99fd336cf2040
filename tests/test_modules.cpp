// Modules and models: names, state dicts, gradient checks through whole modules, backward
// accumulation, determinism, and that a small model learns.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "layers/drn.h"
#include "layers/resnet.h"
#include "layers/vae.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

using test::gradcheck;
using test::random_input;
using V = std::vector<Tensor>;

// Gradient check of `f` with respect to every parameter of `m` (and the input x).
::testing::AssertionResult module_gradcheck(Module& m, const Tensor& x,
                                            const std::function<Tensor(const Tensor&)>& f,
                                            const test::GradcheckOptions& opt = {}) {
  V inputs{x};
  for (auto& p : m.parameters()) inputs.push_back(p);
  return gradcheck([&](const V& v) { return f(v[0]); }, inputs, opt);
}

TEST(Modules, ResNetStateDictNamesMatchTorchvision) {
  Generator g(0);
  ResNet18 net({ResNetForm::cifar, 3, 10, 1.f}, g);
  NamedTensors sd = net.state_dict();
  std::vector<std::string> first;
  for (size_t i = 0; i < 8; ++i) first.push_back(sd[i].first);
  EXPECT_EQ(first,
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                      "bn1.running_var", "bn1.num_batches_tracked",
                                      "layer1.0.conv1.weight", "layer1.0.bn1.weight"}));
  std::set<std::string> names;
  for (auto& [n, t] : sd) names.insert(n);
  EXPECT_TRUE(names.count("layer2.0.downsample.0.weight"));
  EXPECT_TRUE(names.count("layer4.1.bn2.running_var"));
  EXPECT_TRUE(names.count("fc.bias"));
  EXPECT_EQ(sd.size(), 122u);  // torchvision resnet18: 62 parameters + 60 buffers
  // 11.17M parameters at full width (SPEC section 8).
  EXPECT_EQ(net.num_parameters(), 11173962);
}

TEST(Modules, LoadStateDictNamesEveryProblem) {
  Generator g(0);
  Linear a(4, 3, g), b(4, 3, g);
  NamedTensors sd = a.state_dict();
  b.load_state_dict(sd);
  EXPECT_EQ(b.weight.to_vector(), a.weight.to_vector());
  NamedTensors bad = {{"weight", Tensor::zeros({3, 5})}, {"extra", Tensor::zeros({1})}};
  try {
    b.load_state_dict(bad);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("1 of another shape ('weight' [3, 5] (model [3, 4]))"), std::string::npos)
        << m;
    EXPECT_NE(m.find("1 missing ('bias')"), std::string::npos) << m;
    EXPECT_NE(m.find("1 unexpected ('extra')"), std::string::npos) << m;
  }
}

// What PyTorch's load_state_dict takes: DataParallel's `module.` prefix and BatchNorm states
// without num_batches_tracked. A file of another model gives a short message: counts, and the
// first four names only.
TEST(Modules, LoadStateDictTakesPyTorchForms) {
  Generator g(0);
  ResNet18 a(ResNetConfig{ResNetForm::cifar, 3, 10, 0.25f}, g),
      b(ResNetConfig{ResNetForm::cifar, 3, 10, 0.25f}, g);
  NamedTensors prefixed, no_counter;
  for (const auto& [n, t] : a.state_dict()) {
    prefixed.emplace_back("module." + n, t);
    if (n.find("num_batches_tracked") == std::string::npos) no_counter.emplace_back(n, t);
  }
  auto fc = [](const Module& m) {
    for (const auto& [n, t] : m.state_dict())
      if (n == "fc.weight") return t.to_vector();
    return std::vector<float>{};
  };
  b.load_state_dict(prefixed);
  EXPECT_EQ(fc(b), fc(a));
  ResNet18 c(ResNetConfig{ResNetForm::cifar, 3, 10, 0.25f}, g);
  c.load_state_dict(no_counter);
  EXPECT_EQ(fc(c), fc(a));

  NamedTensors other;
  for (int i = 0; i < 1000; ++i)
    other.emplace_back(fmt::format("encoder.{}.weight", i), Tensor::zeros({1}));
  try {
    c.load_state_dict(other);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("1000 unexpected ('encoder.0.weight', 'encoder.1.weight', 'encoder.2.weight', "
                     "'encoder.3.weight' and 996 more)"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("102 missing ('conv1.weight'"), std::string::npos) << m;
    EXPECT_LT(m.size(), 600u) << m;
  }
}

TEST(Modules, LayerGradients) {
  Generator g(1);
  Conv2d conv({3, 4, 3, 2, 1, 1, true}, g);
  EXPECT_TRUE(module_gradcheck(conv, random_input({2, 3, 6, 6}, 50),
                               [&](const Tensor& x) { return conv(x); }));
  ConvTranspose2d deconv({3, 2, 4, 2, 1, 0, 1, true}, g);
  EXPECT_TRUE(module_gradcheck(deconv, random_input({2, 3, 3, 3}, 51),
                               [&](const Tensor& x) { return deconv(x); }));
  BatchNorm2d bn(3);
  EXPECT_TRUE(
      module_gradcheck(bn, random_input({4, 3, 2, 2}, 52), [&](const Tensor& x) { return bn(x); }));
  Linear lin(5, 3, g);
  EXPECT_TRUE(
      module_gradcheck(lin, random_input({4, 5}, 53), [&](const Tensor& x) { return lin(x); }));
}

TEST(Modules, ResNetGradientsBothForms) {
  for (ResNetForm form : {ResNetForm::cifar, ResNetForm::imagenet}) {
    Generator g(2);
    ResNet18 net({form, 1, 3, 1.f / 16}, g);
    net.eval();  // BN with running statistics: the network is piecewise linear
    // Give the running statistics non-trivial values.
    for (auto& [n, t] : net.named_buffers())
      if (n.find("running_var") != std::string::npos) t.fill_(1.5);
    int64_t size = form == ResNetForm::cifar ? 8 : 20;
    test::GradcheckOptions opt;
    opt.max_points = 12;
    EXPECT_TRUE(module_gradcheck(
        net, random_input({2, 1, size, size}, 54), [&](const Tensor& x) { return net(x); }, opt));
  }
}

TEST(Modules, DrnStateDictNamesMatchFyuDrnSeg) {
  Generator g(0);
  DrnD22 net({3, 19, 1.f}, g);
  NamedTensors sd = net.state_dict();
  std::vector<std::string> first;
  for (size_t i = 0; i < 7; ++i) first.push_back(sd[i].first);
  EXPECT_EQ(first, (std::vector<std::string>{"base.0.0.weight", "base.0.1.weight", "base.0.1.bias",
                                             "base.0.1.running_mean", "base.0.1.running_var",
                                             "base.0.1.num_batches_tracked", "base.1.0.weight"}));
  std::set<std::string> names;
  for (auto& [n, t] : sd) names.insert(n);
  for (const char* n : {"base.3.0.downsample.0.weight", "base.6.0.downsample.1.running_var",
                        "base.6.1.conv2.weight", "base.7.0.weight", "base.8.1.running_var"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(sd[sd.size() - 3].first, "seg.weight");
  EXPECT_EQ(sd[sd.size() - 2].first, "seg.bias");
  EXPECT_EQ(sd.back().first, "up.weight");
  EXPECT_EQ(sd.back().second.shape(), (Shape{19, 1, 16, 16}));
  // fyu/drn DRNSeg('drn_d_22', 19): 153 state_dict entries, 15,890,499 trained parameters
  // (counted by tests/fixtures/gen_fixtures.py's DrnSeg); up.weight is a frozen buffer here.
  EXPECT_EQ(sd.size(), 153u);
  EXPECT_EQ(net.num_parameters(), 15890499);
  // The dilations of the reference: layer5 2/2, layer6 4/4, layer7 2, layer8 1.
  std::map<std::string, int64_t> dil;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m,
                                                                    const std::string& prefix) {
    if (auto* c = dynamic_cast<const Conv2d*>(&m)) dil[prefix] = c->opt.dilation;
    for (auto& [n, child] : m.children()) walk(*child, prefix + n + ".");
  };
  walk(net, "");
  EXPECT_EQ(dil["base.4.1.conv2."], 1);
  EXPECT_EQ(dil["base.5.0.conv1."], 2);
  EXPECT_EQ(dil["base.5.1.conv2."], 2);
  EXPECT_EQ(dil["base.6.0.conv1."], 4);
  EXPECT_EQ(dil["base.6.1.conv2."], 4);
  EXPECT_EQ(dil["base.7.0."], 2);
  EXPECT_EQ(dil["base.8.0."], 1);
}

TEST(Modules, DrnShapesAndBadInput) {
  Generator g(6);
  DrnD22 net({3, 5, 1.f / 16}, g);
  NoGradGuard ng;
  DrnOutput o = net.forward_all(Tensor::zeros({2, 3, 24, 40}));
  EXPECT_EQ(o.logits.shape(), (Shape{2, 5, 24, 40}));
  EXPECT_EQ(o.features.shape(), (Shape{2, net.channels()[7], 3, 5}));
  EXPECT_THROW(net(Tensor::zeros({1, 3, 28, 32})), ShapeError);  // 28 not a multiple of 8
  EXPECT_THROW(net(Tensor::zeros({1, 1, 32, 32})), ShapeError);  // wrong channels
}

// DRNSeg's up is a depthwise ConvTranspose2d(16, stride 8, padding 4) with bilinear weights: the
// same transposed convolution with a diagonal (C, C, 16, 16) kernel is an independent reference.
TEST(Modules, DrnUpEqualsTheBilinearTransposedConvolution) {
  const int64_t c = 3;
  DrnUp up(c);
  std::vector<float> k = drn_up_weights(c).to_vector(), full(size_t(c * c * 256), 0.f);
  for (int64_t i = 0; i < c; ++i)
    std::copy(k.begin() + i * 256, k.begin() + (i + 1) * 256, full.begin() + (i * c + i) * 256);
  Tensor w = Tensor::from_vector(full, {c, c, 16, 16});
  Tensor x = random_input({2, c, 5, 7}, 57, -1.f, 1.f, false);
  Tensor want = conv_transpose2d(x, w, Tensor(), 8, 4);
  EXPECT_TRUE(test::all_close(up(x), want, 1e-5, 1e-5));
  EXPECT_FLOAT_EQ(k[7 * 16 + 7], (1 - 1.f / 16) * (1 - 1.f / 16));  // the centre taps, c = 15/16
  DrnUp up2(2);
  EXPECT_TRUE(module_gradcheck(up2, random_input({1, 2, 3, 4}, 58),
                               [&](const Tensor& t) { return up2(t); }));
}

TEST(Modules, DrnRejectsATrainedUpsampling) {
  Generator g(7);
  DrnD22 net({3, 4, 1.f / 16}, g);
  NamedTensors sd = net.state_dict();
  sd.back().second = sd.back().second.clone();
  NoGradGuard ng;
  sd.back().second.fill_(0.5);
  try {
    net.load_state_dict(sd);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("up.weight"), std::string::npos) << e.what();
  }
}

// The whole network is checked against PyTorch (TorchParity.DrnD22); here the dilated block by
// finite differences.
TEST(Modules, DrnDilatedBlockGradients) {
  Generator g(8);
  BasicBlock block(4, 6, 1, g, 2, 4);  // a downsampled block at dilations 2 and 4
  block.eval();
  test::GradcheckOptions opt;
  opt.max_points = 16;
  EXPECT_TRUE(module_gradcheck(
      block, random_input({2, 4, 9, 9}, 59), [&](const Tensor& x) { return block(x); }, opt));
}

TEST(Modules, VaeAndGeneratorGradients) {
  Generator g(3);
  VaeConfig cfg;
  cfg.in_channels = 1, cfg.height = 28, cfg.width = 28, cfg.z_dim = 8, cfg.base_width = 4;
  cfg.num_classes = 3;
  cfg.classifier_hidden = {6, 5};
  auto noise = std::make_shared<Generator>(4);
  auto gen = make_sraal_generator(cfg, g, noise);
  gen->eval();
  test::GradcheckOptions opt;
  opt.max_points = 8;
  // A fresh noise stream per probe keeps the sample fixed.
  EXPECT_TRUE(module_gradcheck(
      *gen, random_input({2, 1, 28, 28}, 55),
      [&](const Tensor& x) {
        *noise = Generator(4);
        VaeOutput o = gen->forward_all(x);
        return concat({o.recon.flatten(1), o.logits, o.mu}, 1);
      },
      opt));
  Discriminator d(8, 6, 3, g);
  EXPECT_TRUE(module_gradcheck(d, random_input({4, 8}, 56), [&](const Tensor& z) { return d(z); }));
}

TEST(Modules, VaeShapesForEveryDatasetSize) {
  struct Case {
    int64_t c, h, w;
  };
  for (Case s : {Case{1, 28, 28}, Case{3, 32, 32}, Case{3, 220, 220}}) {
    Generator g(5);
    VaeConfig cfg;
    cfg.in_channels = s.c, cfg.height = s.h, cfg.width = s.w, cfg.z_dim = 8, cfg.base_width = 2;
    cfg.num_classes = 10;
    auto gen = make_sraal_generator(cfg, g, std::make_shared<Generator>(1));
    NoGradGuard ng;
    VaeOutput o = gen->forward_all(Tensor::zeros({2, s.c, s.h, s.w}));
    EXPECT_EQ(o.recon.shape(), (Shape{2, s.c, s.h, s.w}));
    EXPECT_EQ(o.logits.shape(), (Shape{2, 10}));
    EXPECT_EQ(o.mu.shape(), (Shape{2, 8}));
    ResNet18 net({s.h > 64 ? ResNetForm::imagenet : ResNetForm::cifar, s.c, 10, 0.125f}, g);
    EXPECT_EQ(net(Tensor::zeros({2, s.c, s.h, s.w})).shape(), (Shape{2, 10}));
  }
}

TEST(Modules, VaalVaeMatchesReleasedLayout) {
  Generator g(6);
  Vae vae(VaeConfig{}, g, std::make_shared<Generator>(0));
  NamedTensors sd = vae.state_dict();
  std::set<std::string> names;
  for (auto& [n, t] : sd) names.insert(n);
  for (const char* n :
       {"encoder.0.weight", "encoder.1.running_mean", "encoder.9.weight", "encoder.10.bias",
        "fc_mu.weight", "fc_logvar.bias", "decoder.0.weight", "decoder.2.weight",
        "decoder.3.weight", "decoder.8.weight", "decoder.11.weight", "decoder.11.bias"})
    EXPECT_TRUE(names.count(n)) << n;
  std::map<std::string, Shape> shapes;
  for (auto& [n, t] : sd) shapes[n] = t.shape();
  EXPECT_EQ(shapes["fc_mu.weight"], (Shape{32, 4096}));
  EXPECT_EQ(shapes["decoder.0.weight"], (Shape{16384, 32}));
  EXPECT_EQ(shapes["decoder.11.weight"], (Shape{128, 3, 1, 1}));
}

TEST(Modules, BackwardAccumulatesIntoExistingGradients) {
  Generator g(7);
  ResNet18 net({ResNetForm::cifar, 1, 3, 1.f / 16}, g);
  Tensor x = random_input({4, 1, 8, 8}, 57, -1, 1, false);
  Tensor t = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 1}, {4});
  cross_entropy(net(x), t).backward();
  std::vector<std::vector<float>> once;
  for (auto& p : net.parameters()) once.push_back(p.grad().to_vector());
  cross_entropy(net(x), t).backward();  // BN statistics are the same: same gradient again
  size_t i = 0;
  for (auto& p : net.parameters()) {
    std::vector<float> twice = p.grad().to_vector();
    for (size_t k = 0; k < twice.size(); ++k)
      ASSERT_NEAR(twice[k], 2 * once[i][k], 1e-5 + 1e-4 * std::fabs(once[i][k]));
    ++i;
  }
}

// Trains a small ResNet for `steps` SGD steps on a fixed synthetic task; returns the weights
// and the loss trajectory.
std::pair<std::vector<float>, std::vector<float>> train_run(uint64_t seed, int steps) {
  Generator g(seed);
  ResNet18 net({ResNetForm::cifar, 1, 2, 1.f / 8}, g);
  SGD opt(net.parameters(), {0.05f, 0.9f, 0.f, 5e-4f, false});
  auto noise = std::make_shared<Generator>(seed + 1);
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s) {
    // Class 1 images are brighter in the upper half: a task a conv net learns quickly.
    Tensor x = randn({16, 1, 8, 8}, *noise);
    std::vector<int64_t> labels(16);
    std::vector<float> shift(16 * 64, 0.f);
    for (int i = 0; i < 16; ++i) {
      labels[size_t(i)] = noise->randint(2);
      if (labels[size_t(i)])
        for (int p = 0; p < 32; ++p) shift[size_t(i * 64 + p)] = 1.5f;
    }
    x = add(x, Tensor::from_vector(shift, {16, 1, 8, 8}));
    Tensor loss = cross_entropy(net(x), Tensor::from_vector(labels, {16}));
    opt.zero_grad();
    loss.backward();
    opt.step();
    losses.push_back(loss.item<float>());
  }
  std::vector<float> w;
  for (auto& p : net.parameters())
    for (float v : p.to_vector()) w.push_back(v);
  return {w, losses};
}

TEST(Modules, SameSeedSameTrajectory) {
  auto a = train_run(11, 5), b = train_run(11, 5), c = train_run(12, 5);
  EXPECT_EQ(a.first, b.first);    // bit-identical weights
  EXPECT_EQ(a.second, b.second);  // and losses
  EXPECT_NE(a.first, c.first);
}

TEST(Modules, SmallResNetLearnsSyntheticTask) {
  // Stated target: after 60 steps the mean loss of the last 10 is below 0.2 (chance: 0.69).
  auto [w, losses] = train_run(21, 60);
  float tail = 0;
  for (size_t i = losses.size() - 10; i < losses.size(); ++i) tail += losses[i] / 10;
  EXPECT_LT(tail, 0.2f);
  EXPECT_GT(losses[0], 0.4f);
}

}  // namespace
}  // namespace sr
