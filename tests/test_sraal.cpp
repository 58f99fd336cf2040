// SRAAL's pieces against their definitions (SPEC sections 1-4): the discriminator's targets,
// the loss weights, selection of the highest states, and the k-center initial pool.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "data/batch.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/selection.h"
#include "layers/layers.h"
#include "sraal/adversarial.h"
#include "sraal/kcenter_init.h"
#include "sraal/strategy.h"
#include "sraal/target_outputs.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

using test::random_input;

double bce(double p, double t) {
  return -(t * std::log(p) + (1 - t) * std::log(1 - p));
}
double sigmoid_d(double x) {
  return 1 / (1 + std::exp(-x));
}

TEST(SraalLosses, DiscriminatorTargetsAreZeroForLabeledAndTheScoreForUnlabeled) {
  Generator g(1);
  Discriminator d(6, 8, 2, g);
  Tensor mu_l = random_input({3, 6}, 2, -1, 1, false), mu_u = random_input({4, 6}, 3, -1, 1, false);
  std::vector<float> t = {0.1f, 0.9f, 0.5f, 0.3f};
  Tensor target = Tensor::from_vector(t, {4, 1});
  double got = discriminator_loss(d, mu_l, mu_u, target).item<float>();
  std::vector<float> ll = d.logits(mu_l).to_vector(), lu = d.logits(mu_u).to_vector();
  double want_l = 0, want_u = 0;
  for (float x : ll) want_l += bce(sigmoid_d(x), 0.0) / 3;
  for (size_t i = 0; i < 4; ++i) want_u += bce(sigmoid_d(lu[i]), t[i]) / 4;
  EXPECT_NEAR(got, want_l + want_u, 1e-5);
}

TEST(SraalLosses, GeneratorLossWeightsFollowTheReleasedCode) {
  Generator g(4);
  VaeConfig vc;
  vc.in_channels = 1, vc.height = 28, vc.width = 28, vc.z_dim = 8, vc.base_width = 4;
  vc.num_classes = 3, vc.classifier_hidden = {8};
  auto noise = std::make_shared<Generator>(5);
  auto gen = make_sraal_generator(vc, g, noise);
  Discriminator d(8, 8, 2, g);
  Tensor xl = random_input({4, 1, 28, 28}, 6, -1, 1, false);
  Tensor xu = random_input({5, 1, 28, 28}, 7, -1, 1, false);
  Tensor yl = Tensor::from_vector(std::vector<int64_t>{0, 2, 1, 2}, {4});
  AdversarialConfig w;  // defaults: recon 5, KL 1, STL 5, adversarial 1 (SPEC section 3)
  EXPECT_EQ(w.recon_weight, 5.f);
  EXPECT_EQ(w.kl_weight, 1.f);
  EXPECT_EQ(w.stl_weight, 5.f);
  EXPECT_EQ(w.adv_weight, 1.f);
  NoGradGuard ng;
  GeneratorLoss l = generator_loss(*gen, d, xl, yl, xu, w, true);
  double parts = 5 * l.recon.item<float>() + 1 * l.kl.item<float>() + 5 * l.stl.item<float>() +
                 1 * l.adv.item<float>();
  EXPECT_NEAR(l.total.item<float>(), parts, 1e-4 * std::fabs(parts));
  // The adversarial term is BCE against 0 ("labeled") for both batches: recompute it from the
  // same samples of the latent noise.
  *noise = Generator(5);
  VaeOutput ol = gen->forward_all(xl), ou = gen->forward_all(xu);
  double adv = 0;
  for (float x : d.logits(ol.mu).to_vector()) adv += bce(sigmoid_d(x), 0) / 4;
  for (float x : d.logits(ou.mu).to_vector()) adv += bce(sigmoid_d(x), 0) / 5;
  EXPECT_NEAR(l.adv.item<float>(), adv, 1e-5);
  // The released code's choice (generator_target 1) pushes both batches towards "unlabeled".
  w.generator_target = 1.f;
  *noise = Generator(5);
  GeneratorLoss released = generator_loss(*gen, d, xl, yl, xu, w, true);
  double adv1 = 0;
  for (float x : d.logits(ol.mu).to_vector()) adv1 += bce(sigmoid_d(x), 1) / 4;
  for (float x : d.logits(ou.mu).to_vector()) adv1 += bce(sigmoid_d(x), 1) / 5;
  EXPECT_NEAR(released.adv.item<float>(), adv1, 1e-5);
  EXPECT_GT(std::fabs(adv1 - adv), 1e-3);  // the two targets really differ on this case
  w.generator_target = 0.f;
  GeneratorLoss no_stl = generator_loss(*gen, d, xl, yl, xu, w, false);
  EXPECT_FALSE(no_stl.stl.defined());
}

// A target model whose softmax output is known: logits = the first C pixels of the image.
class FirstPixels : public Module {
 public:
  explicit FirstPixels(int64_t c) : c_(c) {}
  Tensor forward(const Tensor& x) override { return x.flatten(1).narrow(1, 0, c_).contiguous(); }
  std::string type_name() const override { return "FirstPixels"; }

 private:
  int64_t c_;
};

// VAAL's released loss sums the KL over batch and latent; SRAAL's averages it over the batch.
TEST(SraalLosses, VaalSumsTheKlOverTheBatch) {
  Generator g(4);
  VaeConfig vc;
  vc.in_channels = 1, vc.height = 28, vc.width = 28, vc.z_dim = 8, vc.base_width = 4;
  Vae vae(vc, g, std::make_shared<Generator>(5), false);
  Discriminator d(8, 8, 2, g);
  Tensor xl = random_input({4, 1, 28, 28}, 6, -1, 1, false);
  Tensor xu = random_input({6, 1, 28, 28}, 7, -1, 1, false);
  NoGradGuard ng;
  AdversarialConfig w;
  w.kl_reduction = KlReduction::sum;
  VaeOutput ol = vae.forward_all(xl), ou = vae.forward_all(xu);
  double want = kl_normal(ol.mu, ol.logvar, KlReduction::sum).item<float>() +
                kl_normal(ou.mu, ou.logvar, KlReduction::sum).item<float>();
  double batch_mean = kl_normal(ol.mu, ol.logvar, KlReduction::sum).item<float>() / 4 +
                      kl_normal(ou.mu, ou.logvar, KlReduction::sum).item<float>() / 6;
  EXPECT_NEAR(generator_loss(vae, d, xl, Tensor(), xu, w, false).kl.item<float>(), want,
              1e-5 * want);
  w.kl_reduction = KlReduction::batch_mean;
  EXPECT_NEAR(generator_loss(vae, d, xl, Tensor(), xu, w, false).kl.item<float>(), batch_mean,
              1e-5 * batch_mean);
}

// Without STL the latent is not split and no classifier is built; with it, both.
TEST(SraalStrategies, NoStlUsesTheWholeLatentForReconstruction) {
  AdversarialConfig a;
  a.z_dim = 8;
  AdversarialSetup with = sraal_setup(a, true), without = sraal_setup(a, false);
  EXPECT_TRUE(with.split_latent && with.use_stl);
  EXPECT_FALSE(without.split_latent || without.use_stl);
  DatasetSplits d = make_synthetic(24, 4, 1, 28, 28, 3, 1);
  FirstPixels target(3);
  std::vector<int64_t> labeled = {0, 1, 2, 3}, unlabeled = {4, 5, 6, 7, 8, 9};
  SelectionInput in{*d.train, labeled, unlabeled, target, 1, 0, Device::cpu, {}, {}, {}};
  a.iterations = 3, a.batch = 4, a.base_width = 2, a.disc_width = 8, a.stl_hidden = {8};
  std::vector<AdversarialLogRow> log;
  AdversarialModels m = train_adversarial(in, a, without, Tensor::full({6}, 1.f), &log, 2);
  for (const auto& [name, t] : m.generator->named_parameters())
    EXPECT_EQ(name.find("classifier"), std::string::npos) << name;
  // The log: iterations 2 and 3 (every 2 and the last), finite losses, no STL term.
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].iteration, 2);
  EXPECT_EQ(log[1].iteration, 3);
  EXPECT_EQ(log[1].stl, 0);
  EXPECT_GT(log[1].recon, 0);
  EXPECT_GT(log[1].discriminator, 0);
  EXPECT_EQ(adversarial_log_csv(log).rfind("iteration,lr,generator,recon,kl,stl,adv,"
                                           "discriminator\n2,",
                                           0),
            0u);
  AdversarialModels s = train_adversarial(in, a, with, Tensor::full({6}, 1.f));
  bool has_head = false;
  for (const auto& [name, t] : s.generator->named_parameters())
    has_head |= name.find("classifier") != std::string::npos;
  EXPECT_TRUE(has_head);
}

// A configuration written with the number of decays (lr_decay_steps) keeps its schedule.
TEST(SraalConfig, OldDecayCountBecomesAnInterval) {
  nlohmann::json j = to_json(preset_config("paper"));
  j["adversarial"].erase("lr_decay_every");
  j["adversarial"]["lr_decay_steps"] = 30;
  EXPECT_EQ(config_from_json(j).adversarial.lr_decay_every, 20000 / 30);
  EXPECT_EQ(preset_config("paper").adversarial.lr_decay_every, 666);
}

// The baselines preset is the cpu preset with every baseline and five trials: the same scale
// and seeds, so its SRAAL, VAAL and random tracks of trials 1-3 are the cpu preset's.
TEST(SraalConfig, BaselinesPresetIsTheCpuScaleWithEveryBaseline) {
  ExperimentConfig b = preset_config("baselines"), c = preset_config("cpu");
  EXPECT_EQ(b.trials, 5);
  EXPECT_EQ(b.methods.size(), 9u);
  for (const std::string& m : b.methods) EXPECT_NO_THROW(strategy_info(m)) << m;
  for (const std::string& m : c.methods)
    EXPECT_NE(std::find(b.methods.begin(), b.methods.end(), m), b.methods.end()) << m;
  nlohmann::json jb = to_json(b), jc = to_json(c);
  for (const char* k : {"preset", "methods", "trials"}) jb.erase(k), jc.erase(k);
  EXPECT_EQ(jb, jc);
  EXPECT_EQ(b.test_size, 0);  // the whole test split
}

TEST(SraalConfig, GeneratorTargetIsAnSraalOption) {
  EXPECT_EQ(resolve_method_options("sraal", nullptr).at("generator_target"), "labeled");
  EXPECT_NO_THROW(make_strategy("sraal", {{"generator_target", "unlabeled"}}));
  EXPECT_THROW(make_strategy("sraal-no-oui", {{"generator_target", "one"}}), ValueError);
  EXPECT_THROW(make_strategy("sraal", {{"generator_target", 1}}), ValueError);
}

TEST(SraalTargets, OuiGivesTheIndicatorAndNoOuiGivesOne) {
  DatasetSplits d = make_synthetic(40, 8, 1, 4, 4, 4, 3);
  FirstPixels target(4);
  std::vector<int64_t> labeled = {0, 1}, unlabeled = {5, 9, 12};
  SelectionInput in{*d.train, labeled, unlabeled, target, 1, 0, Device::cpu, {}, {}, {}};
  const IndicatorScaling pop = IndicatorScaling::population;
  std::vector<float> oui = unlabeled_targets(in, true, ScoreKind::indicator, pop).to_vector();
  std::vector<float> ones = unlabeled_targets(in, false, ScoreKind::indicator, pop).to_vector();
  ASSERT_EQ(oui.size(), 3u);
  EXPECT_EQ(ones, std::vector<float>(3, 1.f));
  // The same scores from the probabilities computed here.
  std::vector<float> expect;
  for (int64_t i : unlabeled) {
    Tensor probs = softmax(target(make_batch(*d.train, {i}, Augment{}, 0, 0).images), 1);
    expect.push_back(uncertainty_scores(probs, ScoreKind::indicator, false).to_vector()[0]);
  }
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(oui[i], expect[i], 1e-6);
    EXPECT_GE(oui[i], 0.f);
    EXPECT_LT(oui[i], 1.f);
  }
}

TEST(SraalSelection, TakesTheHighestStates) {
  std::vector<int64_t> unlabeled = {10, 11, 12, 13, 14};
  Tensor states = Tensor::from_vector(std::vector<float>{0.2f, 0.9f, 0.5f, 0.9f, 0.1f}, {5});
  EXPECT_EQ(items_with_highest(unlabeled, states, 3), (std::vector<int64_t>{11, 13, 12}));
  EXPECT_THROW(items_with_highest(unlabeled, states, 6), ValueError);
}

TEST(SraalStrategies, EveryMethodOfTheIssueIsRegistered) {
  for (const char* m : {"sraal", "sraal-no-oui", "sraal-no-stl", "sraal-no-oui-no-stl",
                        "sraal-entropy", "sraal-sd", "vaal", "random"})
    EXPECT_TRUE(has_strategy(m)) << m;
  EXPECT_THROW(make_strategy("magic"), ValueError);
}

TEST(KCenterInit, EveryPickIsTheFarthestPointFromThoseBefore) {
  DatasetSplits d = make_synthetic(120, 8, 1, 28, 28, 4, 5);
  std::vector<int64_t> pool;
  for (int64_t i = 0; i < 120; i += 2) pool.push_back(i);  // every other item
  KCenterConfig kc;
  kc.iterations = 5, kc.batch = 16, kc.z_dim = 4, kc.base_width = 4, kc.random_starts = 2;
  KCenterPool r =
      kcenter_initial_pool(*d.train, pool, 12, kc, AdversarialConfig{}, 9, Device::cpu, {});
  ASSERT_EQ(r.items.size(), 12u);
  ASSERT_EQ(r.latents.shape(), (Shape{60, 4}));
  std::set<int64_t> distinct(r.items.begin(), r.items.end());
  EXPECT_EQ(distinct.size(), 12u);
  for (size_t j = 0; j < 12; ++j) EXPECT_EQ(r.items[j], pool[size_t(r.positions[j])]);
  // Max-min at every pick after the random starts: the chosen point's distance to its nearest
  // earlier pick is the largest over the pool (distances as the selection kernel computes them).
  Tensor d2 = pairwise_sq_dists(r.latents, r.latents);
  std::vector<float> dd = d2.to_vector();
  for (size_t j = size_t(r.random_starts); j < 12; ++j) {
    auto nearest = [&](int64_t i) {
      float m = 1e30f;
      for (size_t q = 0; q < j; ++q) m = std::min(m, dd[size_t(i * 60 + r.positions[q])]);
      return m;
    };
    float chosen = nearest(r.positions[j]);
    for (int64_t i = 0; i < 60; ++i)
      EXPECT_LE(nearest(i), chosen * (1 + 1e-5f) + 1e-6f) << "pick " << j << ", point " << i;
  }
}

}  // namespace
}  // namespace sr
