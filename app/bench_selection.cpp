// The rows of `sraal bench --selection` (see bench_selection.h).
#include "app/bench_selection.h"

#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "bench/steps.h"
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/random.h"
#include "engine/selection.h"
#include "layers/model_zoo.h"
#include "sraal/strategy.h"
#include "sraal/target_outputs.h"

namespace sr::app {

int run_selection_bench(const SelectionBenchOptions& opt) {
  SR_CHECK_VALUE(opt.pool >= 100, "bench --selection: --pool {} must be at least 100", opt.pool);
  const int64_t labeled = opt.pool / 10, budget = opt.pool / 20;
  DatasetSplits data = make_synthetic(opt.pool, 1, 3, 32, 32, 10, 7);
  std::vector<int64_t> items(size_t(opt.pool));
  std::iota(items.begin(), items.end(), 0);
  ModelSpec spec;
  spec.width_mult = opt.width;
  spec.dropout = 0.5f;  // MC-dropout's target; the other rules ignore it (eval-mode features)
  Generator init(1);
  auto target = build_model(spec, init, std::make_shared<Generator>(2));
  FeatureClassifier& fc = feature_classifier(*target, "bench");

  TargetOutputs out;
  Timing fwd = time_runs(
      [&] { out = target_outputs(*target, *data.train, items, "bench", Device::cpu); }, 0, 1);
  Tensor unl_f = out.features.narrow(0, labeled, opt.pool - labeled).contiguous();
  Tensor unl_l = out.logits.narrow(0, labeled, opt.pool - labeled).contiguous();
  std::vector<int64_t> centers(static_cast<size_t>(labeled));
  std::iota(centers.begin(), centers.end(), 0);
  const int64_t n_unl = opt.pool - labeled;

  // LL4AL scores a subset with its own forward pass (target stages + loss module).
  std::unique_ptr<Strategy> ll4al = make_strategy("ll4al");
  (void)ll4al->joint_objective(*target, 6);
  std::vector<int64_t> lab(items.begin(), items.begin() + labeled),
      unl(items.begin() + labeled, items.end());
  SelectionInput ll4al_in{*data.train, lab, unl, *target, budget, 7, Device::cpu, {}, {}, {}};

  struct Row {
    std::string method, what;
    std::function<void()> run;
    bool own_forward = false;  // the rule runs its own forward pass: no forward row added
  };
  std::vector<Row> rows = {
      {"random", "permutation of D_U",
       [&] {
         std::vector<int64_t> p = Generator(3).permutation(n_unl);
         p.resize(size_t(budget));
       }},
      {"entropy", "fused entropy + top-k",
       [&] { (void)top_k(uncertainty_scores(unl_l, ScoreKind::entropy, true), budget); }},
      {"mc-dropout", fmt::format("{} dropout passes + top-k", opt.passes),
       [&] {
         Generator g(4);
         (void)top_k(mc_dropout_scores(fc, unl_f, opt.passes, 0.5f, g).entropy, budget);
       }},
      {"coreset", fmt::format("k-center, {} centers, {} picks", labeled, budget),
       [&] { (void)kcenter_greedy(out.features, centers, budget, 0, 0); }},
      {"badge", fmt::format("k-means++ on gradient embeddings, {} picks", budget),
       [&] { (void)badge_picks(unl_f, unl_l, budget, 5); }},
      {"ll4al", fmt::format("forward + loss module on {} of D_U", std::min<int64_t>(10000, n_unl)),
       [&] { (void)ll4al->select(ll4al_in); }, true},
  };
  nlohmann::json js = nlohmann::json::array();
  if (!opt.json)
    std::printf(
        "pool %lld (labeled %lld, unlabeled %lld, budget %lld), ResNet-18 width %g (features "
        "%lld), %d threads, %d warm-up + %d timed runs\n\n%-12s %-44s %12s %12s\n",
        (long long)opt.pool, (long long)labeled, (long long)n_unl, (long long)budget, opt.width,
        (long long)out.features.size(1), get_num_threads(), opt.warmup, opt.repeats, "method",
        "rule", "rule ms", "step s");
  auto report = [&](const std::string& m, const std::string& what, double ms, double step_s) {
    if (opt.json) {
      js.push_back({{"method", m},
                    {"rule", what},
                    {"ms", ms},
                    {"step_seconds", step_s},
                    {"pool", opt.pool},
                    {"budget", budget},
                    {"width", opt.width},
                    {"threads", get_num_threads()}});
      return;
    }
    std::printf("%-12s %-44s %12.1f %12.2f\n", m.c_str(), what.c_str(), ms, step_s);
  };
  report("(forward)", fmt::format("target features + logits of {} items", opt.pool), fwd.median_ms,
         fwd.median_ms / 1e3);
  for (const Row& r : rows) {
    Timing t = time_runs(r.run, opt.warmup, opt.repeats);
    report(r.method, r.what, t.median_ms,
           ((r.own_forward ? 0 : fwd.median_ms) + t.median_ms) / 1e3);
  }
  if (opt.json) std::printf("%s\n", js.dump(1).c_str());
  return 0;
}

}  // namespace sr::app
