// The segmentation selection methods (random, entropy, coreset, mc-dropout, bald, vaal, sraal,
// qbc, sa) and the registry per task: every method returns `budget` distinct unlabeled items of
// a tiny synthetic segmentation pool, and each method's defining property holds on a
// constructed case (fixed per-item outputs), checked against quantities computed by hand here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/selection.h"
#include "layers/drn.h"
#include "layers/model_zoo.h"
#include "layers/vae.h"
#include "sraal/adversarial.h"
#include "sraal/committee.h"
#include "sraal/segmentation_outputs.h"
#include "sraal/strategy.h"
#include "sraal/train_classifier.h"
#include "tests/selection_transfers.h"
#include "tests/tiny_adversarial.h"

namespace sr {
namespace {

constexpr Task kSeg = Task::segmentation;

using test::tiny_adversarial;

std::shared_ptr<Module> tiny_drn(const DatasetInfo& info, float dropout, uint64_t seed) {
  ModelSpec spec;
  spec.arch = "drn-d-22";
  spec.in_channels = info.channels, spec.height = info.height, spec.width = info.width;
  spec.num_classes = info.num_classes, spec.width_mult = 0.0625f, spec.dropout = dropout;
  Generator init(seed);
  return build_model(spec, init, std::make_shared<Generator>(seed + 1));
}

ClassifierTrainOptions one_epoch() {
  ClassifierTrainOptions o;
  o.epochs = 1, o.batch_size = 8, o.lr = 0.01f, o.ignore_index = 255, o.poly_power = 0.9f;
  return o;
}

TEST(SegStrategies, RegistryServesEachTaskItsOwnMethods) {
  std::vector<std::string> seg = strategy_names(kSeg), cls = strategy_names();
  for (const char* m : {"random", "entropy", "coreset", "mc-dropout", "vaal", "sraal", "qbc", "sa"})
    EXPECT_TRUE(std::count(seg.begin(), seg.end(), m)) << m;
  for (const char* m : {"qbc", "sa"}) EXPECT_FALSE(std::count(cls.begin(), cls.end(), m)) << m;
  for (const char* m : {"badge", "ll4al"}) EXPECT_FALSE(std::count(seg.begin(), seg.end(), m)) << m;
  try {
    strategy_info("badge", kSeg);
    ADD_FAILURE() << "badge served segmentation";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("serves classification only"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_strategy("qbc"), ValueError);  // classification by default
  EXPECT_EQ(resolve_method_options("qbc", nullptr, kSeg)["members"], 3);
  EXPECT_EQ(resolve_method_options("sa", {{"candidates", 3}}, kSeg)["candidates"], 3);
  EXPECT_THROW(resolve_method_options("sa", {{"members", 2.5}}, kSeg), ValueError);
  EXPECT_THROW(make_strategy("qbc", {{"members", 1}}, {}, kSeg), ValueError);
  EXPECT_THROW(make_strategy("sa", {{"candidates", 0.5}}, {}, kSeg), ValueError);
}

TEST(SegStrategies, EveryMethodSelectsBudgetDistinctUnlabeledItems) {
  DatasetSplits d = make_synthetic_seg(5);
  const DatasetInfo& info = d.train->info();
  std::vector<int64_t> labeled, unlabeled;
  for (int64_t i = 0; i < 48; ++i) (i % 4 == 0 ? labeled : unlabeled).push_back(i);
  for (const std::string& m : strategy_names(kSeg)) {
    SCOPED_TRACE(m);
    nlohmann::json options;
    if (strategy_info(m, kSeg).defaults.contains("passes")) options = {{"passes", 3}};
    if (strategy_info(m, kSeg).defaults.contains("members")) options = {{"members", 2}};
    std::unique_ptr<Strategy> s = make_strategy(m, options, tiny_adversarial(), kSeg);
    float p = s->target_requirements().dropout;
    auto target = tiny_drn(info, p, 5);
    train_classifier(*target, *d.train, labeled, one_epoch());
    int trained = 0;
    SelectionInput in{*d.train,
                      labeled,
                      unlabeled,
                      *target,
                      7,
                      21,
                      Device::cpu,
                      {},
                      {},
                      [&](const std::vector<int64_t>& items, uint64_t seed) {
                        ++trained;
                        auto m2 = tiny_drn(info, p, seed);
                        train_classifier(*m2, *d.train, items, one_epoch());
                        return m2;
                      }};
    std::vector<int64_t> chosen = s->select(in);
    ASSERT_EQ(chosen.size(), 7u);
    std::set<int64_t> pool(unlabeled.begin(), unlabeled.end()), seen;
    for (int64_t i : chosen) {
      EXPECT_TRUE(pool.count(i)) << i << " is not in D_U";
      EXPECT_TRUE(seen.insert(i).second) << i << " chosen twice";
    }
    EXPECT_EQ(trained, m == "qbc" ? 1 : m == "sa" ? 2 : 0);  // members - 1 besides the target
  }
}

// As for classification (test_baselines.cpp): the bytes a segmentation selection takes to the
// host do not grow with the pool, for the methods whose scores are pooled per item on the
// device. QBC and SA are left out: their votes and cover run on the host.
TEST(SegStrategies, SelectionMovesBudgetSizedDataToTheHostNotThePool) {
  DatasetSplits d = make_synthetic_seg(5);
  const DatasetInfo& info = d.train->info();
  std::vector<int64_t> labeled;
  for (int64_t i = 0; i < 12; ++i) labeled.push_back(i);
  for (const char* m : {"random", "entropy", "coreset", "mc-dropout", "bald", "vaal", "sraal"}) {
    SCOPED_TRACE(m);
    nlohmann::json options;
    if (strategy_info(m, kSeg).defaults.contains("passes")) options = {{"passes", 2}};
    std::unique_ptr<Strategy> s = make_strategy(m, options, tiny_adversarial(), kSeg);
    auto target = tiny_drn(info, s->target_requirements().dropout, 5);
    test::expect_budget_sized_transfers(*s, *d.train, labeled, *target, 12, 40, 120);
  }
}

// A stand-in segmentation network with fixed outputs per item: the n-th item it sees (in call
// order, wrapping around) gets row n of `features` (M, d) as a (d, 1, 1) map and row n of
// `logits` (M, C, h, w). The selection code reads items in their list order, in one batch.
class FixedSegmenter : public Module, public FeatureSegmenter {
 public:
  FixedSegmenter(Tensor features, Tensor logits)
      : f_(features.reshape({features.size(0), features.size(1), 1, 1}).contiguous()),
        l_(std::move(logits)) {}
  Tensor forward(const Tensor& x) override { return head(features(x)); }
  std::string type_name() const override { return "FixedSegmenter"; }
  Tensor features(const Tensor& x) override {
    n_ = x.size(0);
    return f_.narrow(0, at_, n_).contiguous();
  }
  Tensor head(const Tensor&) override {
    Tensor out = l_.narrow(0, at_, n_).contiguous();
    at_ = (at_ + n_) % l_.size(0);
    return out;
  }
  int64_t feature_dim() const override { return f_.size(1); }
  float dropout() const override { return 0; }

 private:
  Tensor f_, l_;
  int64_t at_ = 0, n_ = 0;
};

// Logits (items, 3 classes, 1, 2) from per-pixel winning classes: 4 for the winner, 0 else.
Tensor winners(const std::vector<std::array<int, 2>>& w) {
  std::vector<float> v(w.size() * 6, 0.f);
  for (size_t i = 0; i < w.size(); ++i)
    for (int px = 0; px < 2; ++px) v[i * 6 + size_t(w[i][size_t(px)]) * 2 + size_t(px)] = 4.f;
  return Tensor::from_vector(v, {int64_t(w.size()), 3, 1, 2});
}

Tensor zero_features(int64_t n) {
  return Tensor::zeros({n, 2});
}

TEST(SegStrategies, EntropyIsThePerPixelEntropyAveragedOverPixels) {
  // Probabilities (1, 2, 1, 2): pixel a (0.5, 0.5), pixel b (0.9, 0.1).
  Tensor p = Tensor::from_vector(std::vector<float>{0.5f, 0.9f, 0.5f, 0.1f}, {1, 2, 1, 2});
  double ha = std::log(2.0), hb = -(0.9 * std::log(0.9) + 0.1 * std::log(0.1));
  EXPECT_NEAR(mean_pixel_entropy(p).to_vector()[0], (ha + hb) / 2, 1e-6);

  DatasetSplits d = make_synthetic_seg(5);
  // Logits (3 items, 3 classes, 1, 2 pixels): item 2 is uniform on both pixels, item 0 on one,
  // item 1 confident on both.
  Tensor logits =
      Tensor::from_vector(std::vector<float>{4, 0, 0, 0, 0, 0,   // item 0: a (4, 0, 0), b (0, 0, 0)
                                             4, 4, 0, 0, 0, 0,   // item 1: a and b (4, 0, 0)
                                             0, 0, 0, 0, 0, 0},  // item 2: both (0, 0, 0)
                          {3, 3, 1, 2});
  FixedSegmenter model(zero_features(3), logits);
  std::vector<int64_t> labeled = {0}, unlabeled = {10, 11, 12};
  SelectionInput in{*d.train, labeled, unlabeled, model, 3, 0, Device::cpu, {}, {}, {}};
  EXPECT_EQ(make_strategy("entropy", nullptr, {}, kSeg)->select(in),
            (std::vector<int64_t>{12, 10, 11}));
}

TEST(SegStrategies, CoresetPicksTheFarthestPooledFeatureFromLabeledAndEarlierPicks) {
  DatasetSplits d = make_synthetic_seg(5);
  // Labeled item 0 at (0, 0); unlabeled 1, 2, 3 at (1, 0), (5, 0), (2, 0).
  Tensor f = Tensor::from_vector(std::vector<float>{0, 0, 1, 0, 5, 0, 2, 0}, {4, 2});
  FixedSegmenter model(f, Tensor::zeros({4, 3, 1, 2}));
  std::vector<int64_t> labeled = {0}, unlabeled = {1, 2, 3};
  SelectionInput in{*d.train, labeled, unlabeled, model, 2, 0, Device::cpu, {}, {}, {}};
  EXPECT_EQ(make_strategy("coreset", nullptr, {}, kSeg)->select(in), (std::vector<int64_t>{2, 3}));
}

TEST(SegStrategies, McDropoutScoresArePerPixelAndReduceToEntropyWithoutDropout) {
  DatasetSplits d = make_synthetic_seg(5);
  auto target = tiny_drn(d.train->info(), 0.5f, 3);
  train_classifier(*target, *d.train, {0, 1, 2, 3, 4, 5, 6, 7}, one_epoch());
  std::vector<int64_t> items = {8, 9, 10, 11, 12};
  Generator g0(1);
  DropoutScores none =
      segmentation_mc_dropout_scores(*target, *d.train, items, 4, 0.f, g0, Device::cpu);
  SegmentationOutputs out = segmentation_outputs(*target, *d.train, items, "test", Device::cpu);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_NEAR(none.entropy.to_vector()[i], out.mean_entropy.to_vector()[i], 1e-5);
    EXPECT_NEAR(none.bald.to_vector()[i], 0.0, 1e-5);
  }
  // With dropout: the mean over pixels of H(mean_t p_t) - mean_t H(p_t), recomputed here from
  // the same masks (the same generator stream, pass by pass).
  Generator g1(7), g2(7);
  DropoutScores s =
      segmentation_mc_dropout_scores(*target, *d.train, items, 3, 0.5f, g1, Device::cpu);
  auto& drn = dynamic_cast<DrnD22&>(*target);
  drn.eval();
  NoGradGuard ng;
  Tensor f = drn.features(make_batch(*d.train, items, Augment{}, 0, 0).images);
  std::vector<std::vector<float>> passes;
  for (int t = 0; t < 3; ++t)
    passes.push_back(softmax(drn.head(dropout(f, 0.5f, true, g2)), 1).to_vector());
  const int64_t c = d.train->info().num_classes, hw = 32 * 32;
  for (size_t i = 0; i < items.size(); ++i) {
    double ent = 0, mi = 0;
    for (int64_t px = 0; px < hw; ++px) {
      double hbar = 0, hmean = 0;
      for (int64_t k = 0; k < c; ++k) {
        double pbar = 0;
        for (const auto& p : passes) {
          double v = p[size_t((int64_t(i) * c + k) * hw + px)];
          pbar += v / 3;
          if (v > 0) hmean -= v * std::log(v) / 3;
        }
        if (pbar > 0) hbar -= pbar * std::log(pbar);
      }
      ent += hbar / double(hw);
      mi += std::max(0.0, hbar - hmean) / double(hw);
    }
    EXPECT_NEAR(s.entropy.to_vector()[i], ent, 1e-4) << i;
    EXPECT_NEAR(s.bald.to_vector()[i], mi, 1e-4) << i;
  }
}

TEST(SegStrategies, VoteEntropyCountsTheMembersArgmaxVotesPerPixel) {
  DatasetSplits d = make_synthetic_seg(5);
  // Three members, two items of two pixels. Item 0: every member votes (0, 1). Item 1: pixel a
  // votes 0, 1, 2; pixel b votes 0, 0, 1.
  FixedSegmenter a(zero_features(2), winners({{0, 1}, {0, 0}}));
  FixedSegmenter b(zero_features(2), winners({{0, 1}, {1, 0}}));
  FixedSegmenter c(zero_features(2), winners({{0, 1}, {2, 1}}));
  Tensor ve = vote_entropy({&a, &b, &c}, *d.train, {3, 4}, Device::cpu);
  double pa = std::log(3.0), pb = -(2.0 / 3 * std::log(2.0 / 3) + 1.0 / 3 * std::log(1.0 / 3));
  EXPECT_NEAR(ve.to_vector()[0], 0.0, 1e-7);
  EXPECT_NEAR(ve.to_vector()[1], (pa + pb) / 2, 1e-6);

  // QBC: the target and members - 1 committee members trained by the experiment; the item the
  // committee disagrees on comes first.
  std::vector<std::shared_ptr<Module>> others = {
      std::make_shared<FixedSegmenter>(zero_features(3), winners({{0, 1}, {1, 0}, {2, 2}})),
      std::make_shared<FixedSegmenter>(zero_features(3), winners({{0, 1}, {2, 1}, {2, 1}}))};
  FixedSegmenter target(zero_features(3), winners({{0, 1}, {0, 0}, {2, 2}}));
  std::vector<int64_t> labeled = {0}, unlabeled = {5, 6, 7};
  size_t next = 0;
  SelectionInput in{*d.train,
                    labeled,
                    unlabeled,
                    target,
                    1,
                    0,
                    Device::cpu,
                    {},
                    {},
                    [&](const std::vector<int64_t>& items, uint64_t) {
                      EXPECT_EQ(items, labeled);  // QBC trains on D_L itself
                      return others[next++];
                    }};
  EXPECT_EQ(make_strategy("qbc", nullptr, {}, kSeg)->select(in), (std::vector<int64_t>{6}));
  EXPECT_EQ(next, 2u);
}

TEST(SegStrategies, SuggestiveAnnotationPrefersTheRepresentativeOfTheUncertain) {
  DatasetSplits d = make_synthetic_seg(5);
  // Four unlabeled items. The members disagree most on item 0, then on item 1, and agree on 2
  // and 3. Item 0's descriptor points away from the others; items 1, 2, 3 lie together. With a
  // budget of 1 and 2 candidates (items 0 and 1), the max cover takes item 1: it covers 1, 2
  // and 3, while item 0 covers only itself.
  Tensor f = Tensor::from_vector(std::vector<float>{0, 1, 1, 0.1f, 1, 0, 1, -0.1f}, {4, 2});
  auto probs_logits = [](float a0, float a1) {
    // (4 items, 3 classes, 1, 2) with item 0 and 1 given, items 2 and 3 confident class 0.
    std::vector<float> v(24, 0.f);
    v[0] = a0, v[1] = a0;  // item 0, class 0
    v[6] = a1, v[7] = a1;  // item 1, class 0
    v[12] = v[13] = v[18] = v[19] = 6.f;
    return Tensor::from_vector(v, {4, 3, 1, 2});
  };
  std::vector<std::shared_ptr<Module>> members = {
      std::make_shared<FixedSegmenter>(f, probs_logits(6, 3)),
      std::make_shared<FixedSegmenter>(f, probs_logits(-6, 1))};
  EnsembleOutputs e = ensemble_outputs({members[0].get(), members[1].get()}, *d.train,
                                       {10, 11, 12, 13}, Device::cpu);
  // Uncertainty by hand: std over members of each class probability, mean over classes, pixels.
  auto softmax3 = [](float a) {
    double z = std::exp(double(a)) + 2;
    return std::array<double, 3>{std::exp(double(a)) / z, 1 / z, 1 / z};
  };
  auto unc = [&](float a, float b) {
    std::array<double, 3> p = softmax3(a), q = softmax3(b);
    double s = 0;
    for (int k = 0; k < 3; ++k) s += std::fabs(p[size_t(k)] - q[size_t(k)]) / 2;  // sd of two
    return s / 3;
  };
  std::vector<float> u = e.uncertainty.to_vector();
  EXPECT_NEAR(u[0], unc(6, -6), 1e-5);
  EXPECT_NEAR(u[1], unc(3, 1), 1e-5);
  EXPECT_NEAR(u[2], 0, 1e-6);
  EXPECT_GT(u[0], u[1]);
  EXPECT_EQ(e.features.shape(), (Shape{2, 4, 2}));
  std::vector<float> fv = e.features.to_vector();
  EXPECT_NEAR(fv[2] * fv[2] + fv[3] * fv[3], 1.0, 1e-5);  // unit rows

  std::vector<int64_t> labeled = {0, 1}, unlabeled = {10, 11, 12, 13};
  size_t next = 0;
  FixedSegmenter target(f, probs_logits(0, 0));
  SelectionInput in{*d.train,
                    labeled,
                    unlabeled,
                    target,
                    1,
                    0,
                    Device::cpu,
                    {},
                    {},
                    [&](const std::vector<int64_t>& items, uint64_t) {
                      EXPECT_EQ(items.size(), labeled.size());  // a bootstrap sample of D_L
                      for (int64_t i : items) EXPECT_TRUE(i == 0 || i == 1) << i;
                      return members[next++];
                    }};
  EXPECT_EQ(make_strategy("sa", {{"members", 2}}, {}, kSeg)->select(in),
            (std::vector<int64_t>{11}));
  // With a single candidate (the budget) SA is plain bootstrap uncertainty: item 0.
  next = 0;
  EXPECT_EQ(make_strategy("sa", {{"members", 2}, {"candidates", 1.0}}, {}, kSeg)->select(in),
            (std::vector<int64_t>{10}));
}

TEST(SegStrategies, SraalReadsTheMeanPixelSoftmaxAndItsStlDecodesLabelMaps) {
  DatasetSplits d = make_synthetic_seg(5);
  const DatasetInfo& info = d.train->info();
  // The generator's STL for segmentation: per-pixel logits of the image's size.
  VaeConfig vc;
  vc.in_channels = 1, vc.height = 32, vc.width = 32, vc.z_dim = 8, vc.base_width = 2;
  vc.num_classes = info.num_classes, vc.dense_classifier = true;
  Generator init(3);
  auto g = make_sraal_generator(vc, init, std::make_shared<Generator>(4));
  Discriminator disc(8, 8, 1, init);
  Tensor x = vae_input(*d.train, {0, 1}, Device::cpu);
  VaeOutput o = g->forward_all(x);
  EXPECT_EQ(o.logits.shape(), (Shape{2, info.num_classes, 32, 32}));
  // STL loss: per-pixel CE over the pixels not labelled 255.
  std::vector<int64_t> y(2 * 32 * 32, 255);
  for (size_t i = 0; i < 100; ++i) y[i * 7] = int64_t(i % 3);
  Tensor yl = Tensor::from_vector(y, {2, 32, 32});
  AdversarialConfig w = tiny_adversarial();
  GeneratorLoss l = generator_loss(*g, disc, x, yl, x, w, true, 255);
  EXPECT_TRUE(std::isfinite(l.stl.item<float>()));
  EXPECT_GT(l.stl.item<float>(), 0.f);

  // The OUI's prediction vector: the per-pixel softmax averaged over the pixels, rows sum to 1.
  auto target = tiny_drn(info, 0.f, 9);
  SegmentationOutputs out =
      segmentation_outputs(*target, *d.train, {3, 4, 5}, "sraal", Device::cpu);
  ASSERT_EQ(out.mean_probabilities.shape(), (Shape{3, info.num_classes}));
  std::vector<float> p = out.mean_probabilities.to_vector();
  for (int r = 0; r < 3; ++r) {
    double s = 0;
    for (int64_t k = 0; k < info.num_classes; ++k) s += p[size_t(r * info.num_classes + k)];
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
  std::vector<int64_t> labeled = {0, 1, 2}, unlabeled = {3, 4, 5};
  SelectionInput in{*d.train, labeled, unlabeled, *target, 2, 0, Device::cpu, {}, {}, {}};
  std::vector<float> t =
      unlabeled_targets(in, true, ScoreKind::indicator, IndicatorScaling::population).to_vector();
  std::vector<float> want =
      uncertainty_scores(out.mean_probabilities, ScoreKind::indicator, false).to_vector();
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(t[i], want[i], 1e-6);
}

}  // namespace
}  // namespace sr
