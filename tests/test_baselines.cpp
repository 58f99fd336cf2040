// The selection baselines (core-set, entropy, MC-dropout, BALD, BADGE) and the strategy
// registry: every method returns `budget` distinct unlabeled items, and each baseline's defining
// property holds on a constructed case, checked against quantities recomputed here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "data/batch.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "layers/loss_prediction.h"
#include "layers/model_zoo.h"
#include "layers/resnet.h"
#include "sraal/strategy.h"
#include "sraal/target_outputs.h"
#include "sraal/train_classifier.h"
#include "tests/selection_transfers.h"
#include "tests/tiny_adversarial.h"

namespace sr {
namespace {

using test::tiny_adversarial;

std::shared_ptr<Module> tiny_resnet(const DatasetInfo& info, float dropout, uint64_t seed) {
  ModelSpec spec;
  spec.in_channels = info.channels, spec.height = info.height, spec.width = info.width;
  spec.num_classes = info.num_classes, spec.width_mult = 0.0625f, spec.dropout = dropout;
  Generator init(seed);
  return build_model(spec, init, std::make_shared<Generator>(seed + 1));
}

TEST(Baselines, EveryMethodSelectsBudgetDistinctUnlabeledItems) {
  DatasetSplits d = make_synthetic(48, 8, 1, 28, 28, 3, 11);
  std::vector<int64_t> labeled, unlabeled;
  for (int64_t i = 0; i < 48; ++i) (i % 4 == 0 ? labeled : unlabeled).push_back(i);
  std::vector<std::string> names = strategy_names();
  for (const char* m :
       {"random", "sraal", "vaal", "entropy", "coreset", "mc-dropout", "bald", "badge"})
    EXPECT_TRUE(std::count(names.begin(), names.end(), m)) << m;
  for (const std::string& m : names) {
    SCOPED_TRACE(m);
    nlohmann::json options;
    if (strategy_info(m).defaults.contains("passes")) options = {{"passes", 3}};
    std::unique_ptr<Strategy> s = make_strategy(m, options, tiny_adversarial());
    auto target = tiny_resnet(d.train->info(), s->target_requirements().dropout, 5);
    ClassifierTrainOptions o;  // one epoch, with the method's joint module where it has one
    o.epochs = 1, o.batch_size = 6, o.lr = 0.01f;
    o.joint = s->joint_objective(*target, 3);
    train_classifier(*target, *d.train, labeled, o);
    SelectionInput in{*d.train, labeled, unlabeled, *target, 7, 21, Device::cpu, {}, {}, {}};
    std::vector<int64_t> chosen = s->select(in);
    ASSERT_EQ(chosen.size(), 7u);
    std::set<int64_t> pool(unlabeled.begin(), unlabeled.end()), seen;
    for (int64_t i : chosen) {
      EXPECT_TRUE(pool.count(i)) << i << " is not in D_U";
      EXPECT_TRUE(seen.insert(i).second) << i << " chosen twice";
    }
  }
}

// The selection path keeps every pool-sized tensor (probabilities, scores, states, latents,
// embeddings) where the target ran, and only the chosen items' indices and scores reach the
// host: the bytes a selection takes out of tensors (host_read_bytes, engine/tensor.h) are the
// same for a pool of 60 and one of 180 unlabeled items. (On a GPU these are the device -> host
// copies; here the host values the same code would copy.)
TEST(Baselines, SelectionMovesBudgetSizedDataToTheHostNotThePool) {
  DatasetSplits d = make_synthetic(200, 8, 1, 28, 28, 3, 11);
  std::vector<int64_t> labeled;
  for (int64_t i = 0; i < 20; ++i) labeled.push_back(i);
  for (const char* m : {"sraal", "sraal-no-oui", "sraal-entropy", "vaal", "entropy", "coreset",
                        "mc-dropout", "bald", "badge", "ll4al", "random"}) {
    SCOPED_TRACE(m);
    nlohmann::json options;
    if (strategy_info(m).defaults.contains("passes")) options = {{"passes", 3}};
    std::unique_ptr<Strategy> s = make_strategy(m, options, tiny_adversarial());
    auto target = tiny_resnet(d.train->info(), s->target_requirements().dropout, 5);
    s->joint_objective(*target, 2);  // LL4AL's loss-prediction module (untrained: any scores do)
    test::expect_budget_sized_transfers(*s, *d.train, labeled, *target, 20, 60, 180);
  }
}

TEST(Baselines, OptionsAreCheckedAgainstTheMethodsDefaults) {
  EXPECT_EQ(resolve_method_options("mc-dropout", nullptr)["passes"], 20);
  EXPECT_EQ(resolve_method_options("bald", {{"p", 0.25}})["p"], 0.25);
  EXPECT_EQ(resolve_method_options("bald", {{"passes", 7}})["p"], 0.5);
  EXPECT_THROW(resolve_method_options("bald", {{"pases", 7}}), ValueError);      // unknown key
  EXPECT_THROW(resolve_method_options("bald", {{"passes", 2.5}}), ValueError);   // not integer
  EXPECT_THROW(resolve_method_options("bald", {{"p", "half"}}), ValueError);     // not a number
  EXPECT_THROW(resolve_method_options("entropy", {{"passes", 1}}), ValueError);  // has none
  EXPECT_THROW(make_strategy("mc-dropout", {{"passes", 0}}), ValueError);        // range
  EXPECT_THROW(make_strategy("mc-dropout", {{"p", 1.0}}), ValueError);
  EXPECT_THROW(make_strategy("magic"), ValueError);
  EXPECT_FLOAT_EQ(make_strategy("bald", {{"p", 0.3}})->target_requirements().dropout, 0.3f);
  EXPECT_EQ(make_strategy("coreset")->target_requirements().dropout, 0.f);
}

TEST(Baselines, DropoutBeforeTheClassifierActsInTrainingOnly) {
  DatasetSplits d = make_synthetic(4, 2, 1, 28, 28, 3, 2);
  auto plain = tiny_resnet(d.train->info(), 0.f, 9), drop = tiny_resnet(d.train->info(), 0.5f, 9);
  Tensor x = make_batch(*d.train, {0, 1, 2, 3}, Augment{}, 0, 0).images;
  NoGradGuard ng;
  plain->eval(), drop->eval();
  EXPECT_EQ((*plain)(x).to_vector(), (*drop)(x).to_vector());  // same weights, eval: no dropout
  drop->train();
  EXPECT_NE((*plain)(x).to_vector(), (*drop)(x).to_vector());
  Generator g(1);
  EXPECT_THROW(ResNet18(ResNetConfig{ResNetForm::cifar, 1, 3, 0.25f, 0.5f}, g), ValueError);
}

// Core-set's defining property: every pick is the unlabeled item farthest from D_L and the
// earlier picks, in the target's penultimate features (recomputed here, in double precision).
TEST(Baselines, CoresetPicksTheFarthestItemFromTheLabeledPoolAndEarlierPicks) {
  DatasetSplits d = make_synthetic(60, 4, 1, 28, 28, 3, 13);
  std::vector<int64_t> labeled = {0, 1, 2, 3, 4}, unlabeled;
  for (int64_t i = 5; i < 60; ++i) unlabeled.push_back(i);
  auto target = tiny_resnet(d.train->info(), 0.f, 3);
  SelectionInput in{*d.train, labeled, unlabeled, *target, 6, 1, Device::cpu, {}, {}, {}};
  std::vector<int64_t> chosen = make_strategy("coreset")->select(in);

  auto& resnet = dynamic_cast<ResNet18&>(*target);
  resnet.eval();
  std::map<int64_t, std::vector<double>> f;
  {
    NoGradGuard ng;
    for (int64_t i = 0; i < 60; ++i) {
      std::vector<float> v =
          resnet.features(make_batch(*d.train, {i}, Augment{}, 0, 0).images).to_vector();
      f[i] = std::vector<double>(v.begin(), v.end());
    }
  }
  auto dist = [&](int64_t a, int64_t b) {
    double s = 0;
    for (size_t k = 0; k < f[a].size(); ++k) s += (f[a][k] - f[b][k]) * (f[a][k] - f[b][k]);
    return s;
  };
  std::vector<int64_t> centers = labeled;
  for (int64_t pick : chosen) {
    auto min_dist = [&](int64_t i) {
      double m = INFINITY;
      for (int64_t c : centers) m = std::min(m, dist(i, c));
      return m;
    };
    double best = 0;
    for (int64_t i : unlabeled)
      if (std::find(centers.begin(), centers.end(), i) == centers.end())
        best = std::max(best, min_dist(i));
    EXPECT_NEAR(min_dist(pick), best, 1e-5 * best) << "pick " << pick;
    EXPECT_GT(best, 0);
    centers.push_back(pick);
  }
}

// Logits = W f with f the first two normalised pixels and W = [[10, -10], [-10, 10]]: uniform
// when f0 = f1, confident otherwise.
class TwoPixelClassifier : public Module, public FeatureClassifier {
 public:
  explicit TwoPixelClassifier(float dropout) : dropout_(dropout) {
    w_ = Tensor::from_vector(std::vector<float>{10, -10, -10, 10}, {2, 2});
  }
  Tensor forward(const Tensor& x) override { return classifier(features(x)); }
  std::string type_name() const override { return "TwoPixelClassifier"; }
  Tensor features(const Tensor& x) override { return x.flatten(1).narrow(1, 0, 2).contiguous(); }
  Tensor classifier(const Tensor& f) override { return linear(f, w_, Tensor()); }
  int64_t feature_dim() const override { return 2; }
  float dropout() const override { return dropout_; }

 private:
  float dropout_;
  Tensor w_;
};

// Items of 1 x 4 x 4 pixels (110 elsewhere): their first two pixels as given.
std::shared_ptr<InMemoryDataset> two_pixel_items(const std::vector<std::pair<int, int>>& firsts) {
  DatasetInfo info;
  info.name = "two-pixel", info.channels = 1, info.height = 4, info.width = 4;
  info.num_classes = 2, info.class_names = {"a", "b"};
  std::vector<uint8_t> px;
  std::vector<int64_t> labels;
  for (auto [a, b] : firsts) {
    std::vector<uint8_t> img(16, 110);
    img[0] = uint8_t(a), img[1] = uint8_t(b);
    px.insert(px.end(), img.begin(), img.end());
    labels.push_back(0);
  }
  return std::make_shared<InMemoryDataset>(info, px, labels);
}

TEST(Baselines, EntropyRanksTheUniformPredictionFirst) {
  // Item 3's two pixels are equal: its prediction is uniform, the others' confident.
  auto ds = two_pixel_items({{200, 20}, {20, 200}, {190, 40}, {150, 150}, {30, 210}, {220, 10}});
  TwoPixelClassifier model(0.f);
  std::vector<int64_t> labeled = {0}, unlabeled = {1, 2, 3, 4, 5};
  SelectionInput in{*ds, labeled, unlabeled, model, 2, 0, Device::cpu, {}, {}, {}};
  std::vector<int64_t> chosen = make_strategy("entropy")->select(in);
  EXPECT_EQ(chosen.front(), 3);
}

TEST(Baselines, McDropoutRanksThePredictionThatDropoutFlipsFirst) {
  // Item 3 (equal pixels above the mean): each of the two dropout masks that keep one feature
  // gives a confident prediction of another class, so the mean of the passes is near uniform;
  // the others (features of opposite signs) are confident under every mask but the empty one.
  auto ds = two_pixel_items({{200, 20}, {20, 200}, {190, 40}, {200, 200}, {30, 210}, {220, 10}});
  TwoPixelClassifier model(0.5f);
  std::vector<int64_t> labeled = {0}, unlabeled = {1, 2, 3, 4, 5};
  SelectionInput in{*ds, labeled, unlabeled, model, 2, 0, Device::cpu, {}, {}, {}};
  for (const char* m : {"mc-dropout", "bald"})
    EXPECT_EQ(make_strategy(m, {{"passes", 400}})->select(in).front(), 3) << m;
  // A target trained without the method's dropout is refused.
  TwoPixelClassifier no_dropout(0.f);
  SelectionInput bad{*ds, labeled, unlabeled, no_dropout, 2, 0, Device::cpu, {}, {}, {}};
  EXPECT_THROW(make_strategy("mc-dropout")->select(bad), ValueError);
}

// BALD against entropy: an item whose passes all agree on a uniform prediction has the highest
// predictive entropy (log 2) but no mutual information; one whose passes disagree has both.
TEST(Baselines, BaldSeparatesDisagreementFromAgreedUncertainty) {
  TwoPixelClassifier model(0.5f);
  // Rows: f = (0, 0) always uniform; f = (1, 1) flipped by dropout; f = (1, -1) confident.
  Tensor f = Tensor::from_vector(std::vector<float>{0, 0, 1, 1, 1, -1}, {3, 2});
  Generator gen(3);
  DropoutScores s = mc_dropout_scores(model, f, 2000, 0.5f, gen);
  std::vector<float> h = s.entropy.to_vector(), mi = s.bald.to_vector();
  const double log2 = std::log(2.0);
  // Float means of 2000 terms of size log 2: within 2000 ulp-sized roundings.
  const double sum_tol = 2000 * 1.2e-7 * log2;
  EXPECT_NEAR(h[0], log2, sum_tol);
  EXPECT_GE(mi[0], 0.f);
  EXPECT_NEAR(mi[0], 0, sum_tol);
  // f = (1, 1): masks (keep, keep) and (drop, drop) give uniform, the two others a confident
  // prediction (logit gap 40) of opposite classes: H(pbar) ~ log 2, mean H ~ log 2 / 2.
  EXPECT_NEAR(h[1], log2, 0.01);
  EXPECT_NEAR(mi[1], log2 / 2, 0.03);
  // f = (1, -1): only (drop, drop) is uniform: pbar ~ (7/8, 1/8), mean H ~ log 2 / 4.
  double h2 = -(0.875 * std::log(0.875) + 0.125 * std::log(0.125));
  EXPECT_NEAR(h[2], h2, 0.03);
  EXPECT_NEAR(mi[2], h2 - log2 / 4, 0.03);
  EXPECT_GT(mi[1], mi[2]);
  EXPECT_GT(mi[2], mi[0]);
}

// BADGE's gradient embeddings written out, g_i = (p_i - onehot(argmax p_i)) (x) h_i.
std::vector<std::vector<double>> gradient_embeddings(const Tensor& feats, const Tensor& logits) {
  Tensor p = softmax(logits, 1);
  int64_t n = feats.size(0), d = feats.size(1), c = logits.size(1);
  std::vector<float> pv = p.to_vector(), hv = feats.to_vector();
  std::vector<std::vector<double>> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t top = 0;
    for (int64_t k = 1; k < c; ++k)
      if (pv[size_t(i * c + k)] > pv[size_t(i * c + top)]) top = k;
    for (int64_t k = 0; k < c; ++k)
      for (int64_t j = 0; j < d; ++j)
        g[size_t(i)].push_back((pv[size_t(i * c + k)] - (k == top)) * hv[size_t(i * d + j)]);
  }
  return g;
}

double sq_dist(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
}

TEST(Baselines, BadgeStartsAtTheLargestGradientAndSamplesBySquaredDistance) {
  Generator g(5);
  Tensor feats = randn({4, 3}, g), logits = randn({4, 3}, g);
  auto emb = gradient_embeddings(feats, logits);
  size_t first = 0;
  for (size_t i = 1; i < emb.size(); ++i)
    if (sq_dist(emb[i], std::vector<double>(emb[i].size(), 0)) >
        sq_dist(emb[first], std::vector<double>(emb[first].size(), 0)))
      first = i;
  // The second pick, over many seeds, follows D^2 sampling from the first with the distances
  // of the written-out embeddings: frequencies within 4 standard errors.
  const int draws = 4000;
  std::map<int64_t, int> count;
  for (int s = 0; s < draws; ++s) {
    std::vector<int64_t> picks = badge_picks(feats, logits, 2, uint64_t(s));
    ASSERT_EQ(picks[0], int64_t(first));
    ASSERT_NE(picks[1], picks[0]);
    count[picks[1]]++;
  }
  double total = 0;
  for (size_t i = 0; i < emb.size(); ++i) total += sq_dist(emb[i], emb[first]);
  for (size_t i = 0; i < emb.size(); ++i) {
    if (i == first) continue;
    double want = sq_dist(emb[i], emb[first]) / total;
    double se = std::sqrt(want * (1 - want) / draws);
    EXPECT_NEAR(count[int64_t(i)] / double(draws), want, 4 * se + 1e-9) << "item " << i;
  }
}

TEST(Baselines, BadgeNeverPicksADuplicateOfAPickWhileOthersAreLeft) {
  // Rows 0-2 identical, rows 3 and 4 elsewhere: after one of the three is picked, the two
  // others are at distance 0 and must wait until rows 3 and 4 are taken.
  Tensor feats = Tensor::from_vector(std::vector<float>{1, 1, 1, 1, 1, 1, -2, 3, 4, -1}, {5, 2});
  Tensor logits = Tensor::from_vector(std::vector<float>{2, 0, 2, 0, 2, 0, 0, 1, 1, 0}, {5, 2});
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::vector<int64_t> picks = badge_picks(feats, logits, 5, seed);
    std::set<int64_t> first3(picks.begin(), picks.begin() + 3);
    int dup = 0;
    for (int64_t i : first3) dup += i < 3;
    EXPECT_EQ(dup, 1) << "seed " << seed;
    EXPECT_EQ(std::set<int64_t>(picks.begin(), picks.end()).size(), 5u);
  }
}

// LL4AL's ranking loss against the reference's LossPredLoss worked by hand: predictions
// (0.5, 2.0, -1.0, 0.3, 1.2) and losses (2.0, 0.1, 0.7, 0.9, 1.5) pair (0, 4) and (1, 3):
//   pair (0, 4): loss 2.0 > 1.5, s = +1, hinge max(0, 1 - (0.5 - 1.2)) = 1.7
//   pair (1, 3): loss 0.1 < 0.9, s = -1, hinge max(0, 1 + (2.0 - 0.3)) = 2.7
// mean 2.2; with margin 0.5: 1.2 and 2.2, mean 1.7. Gradient of the mean into pred:
// -s / 2 on each pair's first, +s / 2 on its second (both hinges active), 0 for the middle.
TEST(Baselines, Ll4alRankingLossMatchesTheReferenceByHand) {
  Tensor pred = Tensor::from_vector(std::vector<float>{0.5f, 2.0f, -1.0f, 0.3f, 1.2f}, {5});
  pred.set_requires_grad(true);
  Tensor loss = Tensor::from_vector(std::vector<float>{2.0f, 0.1f, 0.7f, 0.9f, 1.5f}, {5});
  EXPECT_NEAR(loss_ranking_loss(pred, loss, 0.5f).item<float>(), 1.7f, 1e-6);
  Tensor l = loss_ranking_loss(pred, loss, 1.f);
  EXPECT_NEAR(l.item<float>(), 2.2f, 1e-6);
  l.backward();
  std::vector<float> g = pred.grad().to_vector();
  std::vector<float> want = {-0.5f, 0.5f, 0.f, -0.5f, 0.5f};
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(g[i], want[i], 1e-7) << i;
  // An inactive hinge: predictions already ranked by more than the margin.
  Tensor ranked = Tensor::from_vector(std::vector<float>{5.f, 0.f}, {2});
  Tensor order = Tensor::from_vector(std::vector<float>{2.f, 1.f}, {2});
  EXPECT_EQ(loss_ranking_loss(ranked, order, 1.f).item<float>(), 0.f);
  EXPECT_THROW(loss_ranking_loss(ranked.narrow(0, 0, 1), order.narrow(0, 0, 1)), ValueError);
}

// The module shapes the backbone until round(detach_after * epochs), then learns alone: the
// joint term's gradient reaches the first convolution in epoch 0 and not after the detach.
TEST(Baselines, Ll4alDetachesTheStagesLateInTraining) {
  DatasetSplits d = make_synthetic(8, 2, 1, 28, 28, 3, 4);
  auto target = tiny_resnet(d.train->info(), 0.f, 6);
  std::unique_ptr<Strategy> s = make_strategy("ll4al", {{"detach_after", 0.5}});
  std::shared_ptr<JointObjective> joint = s->joint_objective(*target, 2);
  ASSERT_TRUE(joint);
  Batch b = make_batch(*d.train, {0, 1, 2, 3, 4, 5}, Augment{}, 0, 0);
  auto conv1_grad_norm = [&](int64_t epoch) {
    target->zero_grad();
    for (Tensor& p : joint->parameters()) p.set_grad(Tensor());
    joint->step(*target, b.images, b.labels, epoch, 10).extra.backward();
    Tensor g = target->named_parameters().front().second.grad();
    double n = 0;
    if (g.defined())
      for (float v : g.to_vector()) n += double(v) * v;
    double m = 0;
    for (float v : joint->parameters().front().grad().to_vector()) m += double(v) * v;
    EXPECT_GT(m, 0) << "the module itself learns in epoch " << epoch;
    return n;
  };
  EXPECT_GT(conv1_grad_norm(0), 0);
  EXPECT_GT(conv1_grad_norm(4), 0);
  EXPECT_EQ(conv1_grad_norm(5), 0);  // round(0.5 * 10) = 5: detached from there on
  EXPECT_EQ(conv1_grad_norm(9), 0);
  // Without its joint training, LL4AL has nothing to score with.
  std::unique_ptr<Strategy> fresh = make_strategy("ll4al");
  std::vector<int64_t> lab = {0}, unl = {1, 2, 3};
  SelectionInput in{*d.train, lab, unl, *target, 1, 0, Device::cpu, {}, {}, {}};
  EXPECT_THROW(fresh->select(in), ValueError);
}

}  // namespace
}  // namespace sr
