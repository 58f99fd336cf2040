// `sraal run`: an active-learning experiment (SPEC section 9). Starts from a preset (quick by
// default) and applies the options given on the command line; writes results.csv, selected/,
// summary.md, plot.svg, manifest.json and the resume state into --out.
#include <cstdio>

#include "app/commands.h"
#include "engine/atomic_file.h"
#include "sraal/experiment.h"
#include "sraal/strategy.h"

namespace sr::app {

namespace {

// The footer's list of methods, their summaries and their options with defaults.
std::string methods_help() {
  std::string s;
  for (Task t : {Task::classification, Task::segmentation}) {
    s += fmt::format(
        "{} methods (--methods) and their options (--method-option "
        "METHOD.KEY=VALUE):\n",
        t == Task::classification ? "Classification" : "Segmentation");
    for (const std::string& m : strategy_names(t)) {
      const StrategyInfo& info = strategy_info(m, t);
      s += fmt::format("  {:<20} {}\n", m, info.summary);
      for (const auto& [k, v] : info.defaults.items())
        s += fmt::format("  {:<20}   {}.{} (default {})\n", "", m, k, v.dump());
    }
  }
  return s;
}

// METHOD.KEY=VALUE into c.method_options; VALUE is JSON (a number, true/false) or else text.
void set_method_option(ExperimentConfig& c, const std::string& text) {
  size_t dot = text.find('.'), eq = text.find('=');
  SR_CHECK_VALUE(dot != std::string::npos && eq != std::string::npos && dot > 0 && eq > dot + 1,
                 "run: --method-option wants METHOD.KEY=VALUE (e.g. mc-dropout.passes=20), got "
                 "'{}'",
                 text);
  std::string method = text.substr(0, dot), key = text.substr(dot + 1, eq - dot - 1);
  std::string value = text.substr(eq + 1);
  nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
  if (v.is_discarded()) v = value;
  c.method_options[method][key] = v;
}

}  // namespace

Runner add_run(CLI::App& app) {
  struct Args {
    std::string preset = "quick", task, dataset, data_dir, methods, init, fractions, device, out;
    std::string scaling;
    int64_t trials = 0, pool = -1, test = -1, val = -1, epochs = 0, iterations = 0;
    int64_t lr_decay_every = 0;
    float width = 0;
    uint64_t seed = 0;
    int64_t image_size = 0;
    bool resume = false, force = false;
    int64_t fault_at = 0;
    std::vector<std::string> method_options;
    std::string command_line;
  };
  auto a = std::make_shared<Args>();
  // A repeated option takes its last value (so a script can append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.footer(
      "Presets (options given above override them):\n"
      "  quick  SRAAL vs random, 1 trial, 3,000 Fashion-MNIST items, ResNet-18 width 1/4, 10% to\n"
      "         40% by 10%: 5 to 7 minutes on 2 Zen 2 cores (the default)\n"
      "  cpu    SRAAL, VAAL and random, 3 trials, 10% to 40% by 10%: about 40 minutes there\n"
      "  baselines  the cpu preset's scale for SRAAL, VAAL, random, entropy, coreset,\n"
      "         mc-dropout, bald, ll4al and badge, 5 trials: 63 min on 2 AVX-512 Xeon cores,\n"
      "         about 2.5 hours (estimated) on 2 Zen 2 cores\n"
      "  paper  the paper's settings (whole training split, ResNet-18, 200 epochs, 20,000\n"
      "         adversarial iterations per cycle): for a GPU (--device cuda)\n"
      "Segmentation presets (--task segmentation turns quick, cpu and paper into these):\n"
      "  seg-quick  SRAAL vs random on fashion-seg (DRN-D-22 width 1/4, 2,000 canvases), 1\n"
      "         trial, 10% to 40% by 10%\n"
      "  seg-cpu    random, coreset, mc-dropout, qbc, sa, vaal and sraal on fashion-seg, 10% to\n"
      "         40% by 5%, 3 trials (1,200 canvases, 12 epochs)\n"
      "  seg-paper  Cityscapes, DRN-D-22 at full width, the paper's protocol: for a GPU\n"
      "Every reduction from the paper's settings is listed in manifest.json and summary.md.\n" +
      methods_help());
  // Every option that sets part of the configuration, with the fields it sets (JSON pointers
  // into the configuration): a resumed run refuses any that disagree with the run's own.
  auto given = std::make_shared<std::vector<std::pair<CLI::Option*, RunOptions::GivenOption>>>();
  auto field = [&](CLI::Option* o, std::vector<std::string> fields) {
    given->push_back({o, {o->get_name(), std::move(fields)}});
    return o;
  };
  field(app.add_option("--preset", a->preset,
                       "quick | cpu | baselines | paper | seg-quick | seg-cpu | seg-paper")
            ->capture_default_str(),
        {"/preset"});
  field(app.add_option("--task", a->task,
                       "classification | segmentation (default: the preset's; segmentation "
                       "selects the preset's seg- form, data fashion-seg)")
            ->check(CLI::IsMember({"classification", "segmentation"})),
        {"/task"});
  field(app.add_option("--dataset", a->dataset, "dataset (default: fashion-mnist)"),
        {"/data/name"});
  field(app.add_option("--data-dir", a->data_dir,
                       "directory of the dataset (with --resume: where it has moved to)"),
        {"/data/dir"});
  field(app.add_option("--image-size", a->image_size, "caltech101 / image-folder resize")
            ->check(integer_in(0, kMaxImageSize)),
        {"/data/image_size"});
  field(app.add_option("--methods", a->methods, "comma list of methods (listed below)"),
        {"/methods"});
  field(app.add_option("--method-option", a->method_options,
                       "METHOD.KEY=VALUE: an option of one method (listed below); repeatable")
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll),
        {"/method_options"});
  field(app.add_option("--init", a->init, "initial pool: random | kcenter"), {"/init"});
  field(app.add_option("--fractions", a->fractions,
                       "labeled fractions INITIAL,STEP,FINAL (default 0.1,0.05,0.4)"),
        {"/initial_fraction", "/step_fraction", "/final_fraction"});
  field(app.add_option("--trials", a->trials, "trials (seeds)")->check(integer_in(1, kMaxTrials)),
        {"/trials"});
  field(app.add_option("--seed", a->seed, "seed of the run")->check(seed_value()), {"/seed"});
  field(app.add_option("--device", a->device, "cpu | cuda"), {"/device"});
  field(app.add_option("--pool-size", a->pool, "AL pool: items of the training split (0: all)")
            ->check(integer_in(0, INT64_MAX)),
        {"/pool_size"});
  field(app.add_option("--test-size", a->test, "test items used for the metric (0: all)")
            ->check(integer_in(0, INT64_MAX)),
        {"/test_size"});
  field(app.add_option("--val-size", a->val,
                       "measure on N training items held out of the pool (a validation split, "
                       "for choosing settings) instead of the test split")
            ->check(integer_in(0, INT64_MAX)),
        {"/val_size"});
  field(app.add_option("--epochs", a->epochs, "target-model epochs per cycle")
            ->check(integer_in(1, kMaxEpochs)),
        {"/target/epochs"});
  field(app.add_option("--width", a->width, "target ResNet-18 width multiplier")
            ->check(number_above(0, 16)),
        {"/target/width"});
  field(app.add_option("--indicator-scaling", a->scaling,
                       "SRAAL's indicator: population (SPEC, Var and MINVar over C) | official "
                       "(the released code: Var over C - 1, as torch.var)")
            ->check(CLI::IsMember({"population", "official"})),
        {"/adversarial/scaling"});
  field(app.add_option("--iterations", a->iterations,
                       "adversarial iterations per cycle (SRAAL, VAAL)")
            ->check(integer_in(1, kMaxIterations)),
        {"/adversarial/iterations"});
  field(app.add_option("--lr-decay-every", a->lr_decay_every,
                       "adversarial lr x0.85 every N iterations (paper: 666 of 20,000)")
            ->check(integer_in(1, kMaxIterations)),
        {"/adversarial/lr_decay_every"});
  app.add_option("--out", a->out, "output directory (default: runs/<preset>)");
  app.add_flag("--resume", a->resume, "continue the run in --out after its last finished cycle");
  app.add_flag("--force", a->force, "overwrite results already in --out");
  app.add_option("--fault-at", a->fault_at, "testing: SIGKILL at the N-th fault point")
      ->group("");  // hidden
  return [a, given] {
    auto count = [&](const char* name) {
      for (const auto& [o, g] : *given)
        if (g.name == name) return o->count() > 0;
      return false;
    };
    SR_CHECK_VALUE(!(a->resume && a->force), "run: --resume and --force exclude each other");
    std::string preset = a->preset;
    if (count("--task") && a->task == "segmentation") preset = segmentation_preset(preset);
    SR_CHECK_VALUE(!count("--task") || a->task == "segmentation" || preset.rfind("seg-", 0) != 0,
                   "run: preset {} is a segmentation preset; drop --task classification or "
                   "choose quick, cpu, baselines or paper",
                   preset);
    ExperimentConfig c = preset_config(preset);
    if (count("--dataset")) c.data.name = a->dataset;
    c.data.dir = a->data_dir;
    c.data.image_size = a->image_size;
    if (count("--methods")) {
      c.methods.clear();
      std::string m = a->methods;
      for (size_t s = 0; s <= m.size();) {
        size_t e = m.find(',', s);
        if (e == std::string::npos) e = m.size();
        if (e > s) c.methods.push_back(m.substr(s, e - s));
        s = e + 1;
      }
    }
    for (const std::string& o : a->method_options) set_method_option(c, o);
    if (count("--init")) c.init = a->init;
    if (count("--fractions")) {
      double i = 0, s = 0, f = 0;
      char tail = 0;
      SR_CHECK_VALUE(std::sscanf(a->fractions.c_str(), "%lf,%lf,%lf%c", &i, &s, &f, &tail) == 3,
                     "run: --fractions wants INITIAL,STEP,FINAL (e.g. 0.1,0.05,0.4), got '{}'",
                     a->fractions);
      c.initial_fraction = i, c.step_fraction = s, c.final_fraction = f;
    }
    if (count("--trials")) c.trials = a->trials;
    if (count("--seed")) c.seed = a->seed;
    if (count("--device")) c.device = a->device;
    if (count("--pool-size")) c.pool_size = a->pool;
    if (count("--test-size")) c.test_size = a->test;
    if (count("--val-size")) c.val_size = a->val;
    if (count("--lr-decay-every")) c.adversarial.lr_decay_every = a->lr_decay_every;
    if (count("--epochs")) c.target.epochs = a->epochs;
    if (count("--width")) c.target.width = a->width;
    if (count("--iterations")) c.adversarial.iterations = a->iterations;
    if (count("--indicator-scaling"))
      c.adversarial.scaling =
          a->scaling == "official" ? IndicatorScaling::official : IndicatorScaling::population;
    RunOptions r;
    r.out_dir = a->out.empty() ? "runs/" + preset : a->out;
    r.resume = a->resume;
    r.force = a->force;
    r.command_line = command_line();
    for (const auto& [o, g] : *given)
      if (o->count()) r.given.push_back(g);
    set_fault_point_limit(a->fault_at);
    RunResult res = run_experiment(c, r);
    std::printf("run: %lld result rows in %.0f s; see %s/summary.md\n", (long long)res.rows,
                res.seconds, r.out_dir.c_str());
    return 0;
  };
}

}  // namespace sr::app
