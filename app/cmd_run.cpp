// `sraal run`: an active-learning experiment (SPEC section 9). Starts from a preset (quick by
// default) and applies the options given on the command line; writes results.csv, selected/,
// summary.md, plot.svg, manifest.json and the resume state into --out.
#include <cstdio>

#include "app/commands.h"
#include "engine/atomic_file.h"
#include "sraal/experiment.h"

namespace sr::app {

Runner add_run(CLI::App& app) {
  struct Args {
    std::string preset = "quick", dataset, data_dir, methods, init, fractions, device, out;
    int64_t trials = 0, pool = -1, test = -1, epochs = 0, iterations = 0;
    float width = 0;
    uint64_t seed = 0;
    int64_t image_size = 0;
    bool resume = false, force = false;
    int64_t fault_at = 0;
    std::string command_line;
  };
  auto a = std::make_shared<Args>();
  // A repeated option takes its last value (so a script can append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--preset", a->preset, "quick | cpu | paper")->capture_default_str();
  app.footer(
      "Presets (options given above override them):\n"
      "  quick  SRAAL vs random, 1 trial, 3,000 Fashion-MNIST items, ResNet-18 width 1/4: under\n"
      "         10 minutes on 2 cores (the default)\n"
      "  cpu    SRAAL, VAAL and random, 3 trials, 10% to 40% by 5%: within an hour on 2 cores\n"
      "  paper  the paper's settings (whole training split, ResNet-18, 200 epochs, 20,000\n"
      "         adversarial iterations per cycle): for a GPU (--device cuda)\n"
      "Every reduction from the paper's settings is listed in manifest.json and summary.md.");
  auto* o_dataset = app.add_option("--dataset", a->dataset, "dataset (default: fashion-mnist)");
  app.add_option("--data-dir", a->data_dir, "directory of the dataset");
  app.add_option("--image-size", a->image_size, "caltech101 / image-folder resize");
  auto* o_methods = app.add_option("--methods", a->methods,
                                   "comma list: sraal, sraal-no-oui, sraal-no-stl, "
                                   "sraal-no-oui-no-stl, sraal-entropy, sraal-sd, vaal, random");
  auto* o_init = app.add_option("--init", a->init, "initial pool: random | kcenter");
  auto* o_fractions = app.add_option("--fractions", a->fractions,
                                     "labeled fractions INITIAL,STEP,FINAL (default 0.1,0.05,0.4)");
  auto* o_trials = app.add_option("--trials", a->trials, "trials (seeds)");
  auto* o_seed = app.add_option("--seed", a->seed, "seed of the run");
  auto* o_device = app.add_option("--device", a->device, "cpu | cuda");
  auto* o_pool =
      app.add_option("--pool-size", a->pool, "AL pool: items of the training split (0: all)");
  auto* o_test = app.add_option("--test-size", a->test, "test items used for the metric (0: all)");
  auto* o_epochs = app.add_option("--epochs", a->epochs, "target-model epochs per cycle");
  auto* o_width = app.add_option("--width", a->width, "target ResNet-18 width multiplier");
  auto* o_iters = app.add_option("--iterations", a->iterations,
                                 "adversarial iterations per cycle (SRAAL, VAAL)");
  app.add_option("--out", a->out, "output directory (default: runs/<preset>)");
  app.add_flag("--resume", a->resume, "continue the run in --out after its last finished cycle");
  app.add_flag("--force", a->force, "overwrite results already in --out");
  app.add_option("--fault-at", a->fault_at, "testing: SIGKILL at the N-th fault point")
      ->group("");  // hidden
  return [a, o_dataset, o_methods, o_init, o_fractions, o_trials, o_seed, o_device, o_pool, o_test,
          o_epochs, o_width, o_iters] {
    SR_CHECK_VALUE(!(a->resume && a->force), "run: --resume and --force exclude each other");
    ExperimentConfig c = preset_config(a->preset);
    if (o_dataset->count()) c.data.name = a->dataset;
    c.data.dir = a->data_dir;
    c.data.image_size = a->image_size;
    if (o_methods->count()) {
      c.methods.clear();
      std::string m = a->methods;
      for (size_t s = 0; s <= m.size();) {
        size_t e = m.find(',', s);
        if (e == std::string::npos) e = m.size();
        if (e > s) c.methods.push_back(m.substr(s, e - s));
        s = e + 1;
      }
    }
    if (o_init->count()) c.init = a->init;
    if (o_fractions->count()) {
      double i = 0, s = 0, f = 0;
      char tail = 0;
      SR_CHECK_VALUE(std::sscanf(a->fractions.c_str(), "%lf,%lf,%lf%c", &i, &s, &f, &tail) == 3,
                     "run: --fractions wants INITIAL,STEP,FINAL (e.g. 0.1,0.05,0.4), got '{}'",
                     a->fractions);
      c.initial_fraction = i, c.step_fraction = s, c.final_fraction = f;
    }
    if (o_trials->count()) c.trials = a->trials;
    if (o_seed->count()) c.seed = a->seed;
    if (o_device->count()) c.device = a->device;
    if (o_pool->count()) c.pool_size = a->pool;
    if (o_test->count()) c.test_size = a->test;
    if (o_epochs->count()) c.target.epochs = a->epochs;
    if (o_width->count()) c.target.width = a->width;
    if (o_iters->count()) c.adversarial.iterations = a->iterations;
    RunOptions r;
    r.out_dir = a->out.empty() ? "runs/" + a->preset : a->out;
    r.resume = a->resume;
    r.force = a->force;
    r.command_line = command_line();
    set_fault_point_limit(a->fault_at);
    RunResult res = run_experiment(c, r);
    std::printf("run: %lld result rows in %.0f s; see %s/summary.md\n", (long long)res.rows,
                res.seconds, r.out_dir.c_str());
    return 0;
  };
}

}  // namespace sr::app
