// Features, logits and MC-dropout scores of the target model (see target_outputs.h).
#include "sraal/target_outputs.h"

#include <cmath>

#include "data/batch.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/selection.h"
#include "sraal/train_classifier.h"

namespace sr {

namespace {

constexpr int64_t kBatch = 256;      // images through the network at a time
constexpr int64_t kPassRows = 4096;  // feature rows per MC-dropout pass

}  // namespace

Tensor class_entropy(const Tensor& p) {
  return neg(sum(mul(p, log(clamp(p, 1e-30f, 1.f))), {1}));
}

DropoutEntropies dropout_entropies(const std::function<Tensor(const Tensor&)>& head,
                                   const Tensor& f, int64_t passes, float p, Generator& gen) {
  Tensor mean_p, mean_h;
  for (int64_t t = 0; t < passes; ++t) {
    Tensor pt = softmax(head(dropout(f, p, true, gen)), 1);
    Tensor ht = class_entropy(pt);
    mean_p = t == 0 ? pt : add(mean_p, pt);
    mean_h = t == 0 ? ht : add(mean_h, ht);
  }
  mean_p = mul(mean_p, 1.f / float(passes));
  return {class_entropy(mean_p), mul(mean_h, 1.f / float(passes))};
}

FeatureClassifier& feature_classifier(Module& target, const std::string& method) {
  auto* f = dynamic_cast<FeatureClassifier*>(&target);
  SR_CHECK_VALUE(f != nullptr,
                 "method {} needs a target model with penultimate features (ResNet-18), got {}",
                 method, target.type_name());
  return *f;
}

TargetOutputs target_outputs(Module& target, const Dataset& ds, const std::vector<int64_t>& items,
                             const std::string& method, Device device, const ProgressFn& progress,
                             const ProcessGroup* group) {
  FeatureClassifier& fc = feature_classifier(target, method);
  SR_CHECK_VALUE(!items.empty(), "method {}: no items to score", method);
  std::vector<Tensor> out = over_shares(group, items, [&](const std::vector<int64_t>& mine) {
    NoGradGuard ng;
    bool was_training = target.is_training();
    target.eval();
    std::vector<Tensor> feats, logits;
    int64_t done = 0;
    for (const auto& part : epoch_batches(mine, kBatch, false, false, 0, 0)) {
      Tensor f = fc.features(make_batch(ds, part, Augment{}, 0, 0).images.to(device));
      logits.push_back(fc.classifier(f));
      feats.push_back(std::move(f));
      done += int64_t(part.size());
      if (progress) progress("target features", done, int64_t(mine.size()));
    }
    if (was_training) target.train();
    return std::vector<Tensor>{concat(feats, 0), concat(logits, 0)};
  });
  return {out[0], out[1]};
}

DropoutScores mc_dropout_scores(FeatureClassifier& model, const Tensor& features, int64_t passes,
                                float p, Generator& gen, const ProcessGroup* group) {
  SR_CHECK_VALUE(passes >= 1 && p >= 0 && p < 1,
                 "MC-dropout: {} passes with dropout {} (need passes >= 1, p in [0, 1))", passes,
                 p);
  SR_CHECK_SHAPE(features.dim() == 2, "MC-dropout: features must be (N, d), got {}",
                 shape_str(features.shape()));
  NoGradGuard ng;
  const int64_t n = features.size(0), blocks = (n + kPassRows - 1) / kPassRows;
  std::vector<int64_t> rows(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = i;
  // Block b's T passes take the generator's streams b*T .. b*T + T - 1 from where it stands.
  std::vector<Tensor> out = over_block_shares(
      group, rows, kPassRows, [&](const std::vector<int64_t>& mine, int64_t first) {
        Generator g = gen;
        g.skip_streams(uint64_t(first / kPassRows * passes));
        std::vector<Tensor> entropy, bald;
        const int64_t end = first + int64_t(mine.size());
        for (int64_t s = first; s < end; s += kPassRows) {
          Tensor f = features.narrow(0, s, std::min(kPassRows, end - s));
          DropoutEntropies h = dropout_entropies(
              [&](const Tensor& x) { return model.classifier(x); }, f, passes, p, g);
          entropy.push_back(h.of_mean);
          bald.push_back(clamp(sub(h.of_mean, h.mean), 0.f, INFINITY));  // >= 0 (Jensen); rounding
        }
        return std::vector<Tensor>{concat(entropy, 0), concat(bald, 0)};
      });
  gen.skip_streams(uint64_t(blocks * passes));  // where one process leaves it, on every rank
  return {out[0], out[1]};
}

std::vector<int64_t> items_with_highest(const std::vector<int64_t>& items, const Tensor& scores,
                                        int64_t budget, std::vector<double>* chosen_scores) {
  SR_CHECK_VALUE(scores.dim() == 1 && scores.size(0) == int64_t(items.size()),
                 "selection: {} scores for {} items", shape_str(scores.shape()), items.size());
  std::vector<int64_t> out, positions = top_k(scores, budget);
  for (int64_t i : positions) out.push_back(items[size_t(i)]);
  if (chosen_scores) {
    std::vector<float> v = index_select(scores, positions).to_vector();  // the budget's only
    chosen_scores->assign(v.begin(), v.end());
  }
  return out;
}

}  // namespace sr
