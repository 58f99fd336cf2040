// `sraal run`: an active-learning experiment (SPEC section 9). Starts from a preset (quick by
// default) or a configuration file (--config: --print-config's JSON, or a run's manifest.json)
// and applies the options given on the command line; writes results.csv, selected/,
// summary.md, plot.svg, plot.png, manifest.json and the resume state into --out.
#include <cstdio>

#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/ranges.h>

#include "app/commands.h"
#include "app/dataset_flags.h"
#include "app/training_flags.h"
#include "engine/atomic_file.h"
#include "sraal/experiment.h"
#include "sraal/strategy.h"

namespace sr::app {

namespace {

// The footer's settings of the preset chosen on the command line (`run --preset cpu --help`),
// or nothing for an unknown preset (the run itself will name it).
std::string preset_help(const std::string& preset, const std::string& task) {
  try {
    const std::string p = task == "segmentation" ? segmentation_preset(preset) : preset;
    return fmt::format("Settings of the {} preset (--print-config prints every one):\n{}", p,
                       settings_summary(preset_config(p), true));
  } catch (const ValueError&) {
    return "";
  }
}

// The configuration in a JSON file: an object as --print-config writes it, or a manifest.json
// (its "config" member). IOError naming the file when it cannot be read or is not such JSON.
ExperimentConfig config_from_file(const std::string& path) {
  std::ifstream in(path);
  SR_CHECK_IO(in.good(), "{}: cannot read the configuration file", path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  SR_CHECK_IO(!j.is_discarded() && j.is_object(), "{}: not a JSON object", path);
  if (j.contains("config") && j.contains("version")) j = j["config"];  // a manifest.json
  ExperimentConfig c;
  try {
    c = config_from_json(j);
  } catch (const std::exception& e) {
    throw IOError(fmt::format("{}: not a run configuration: {}", path, e.what()));
  }
  // A misspelt setting would silently keep its default: every key must be one the
  // configuration has (method options are checked by the methods themselves).
  const nlohmann::json known = to_json(c);
  std::function<void(const nlohmann::json&, const nlohmann::json&, const std::string&)> check =
      [&](const nlohmann::json& given, const nlohmann::json& want, const std::string& at) {
        for (const auto& [k, v] : given.items()) {
          if (k == "lr_decay_steps") continue;  // the older form config_from_json converts
          std::vector<std::string> names;
          for (const auto& [name, _] : want.items()) names.push_back(name);
          SR_CHECK_IO(want.contains(k), "{}: unknown setting '{}{}' (settings there: {})", path, at,
                      k, fmt::join(names, ", "));
          if (v.is_object() && want[k].is_object() && k != "method_options")
            check(v, want[k], at + k + "/");
        }
      };
  check(j, known, "");
  return c;
}

}  // namespace

Runner add_run(CLI::App& app) {
  struct Args {
    std::string preset = "quick", task, methods, init, fractions, out, config;
    int64_t trials = 0, pool = -1, test = -1, val = -1;
    bool resume = false, force = false, print_config = false, sync_bn = false;
    int64_t fault_at = 0;
    std::string distribute = "data";
    int ranks_per_unit = 1;
  };
  auto a = std::make_shared<Args>();
  // A repeated option takes its last value (so a script can append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.footer([a] {
    return "Presets (options given above override them):\n"
           "  quick  SRAAL vs random, 1 trial, 3,000 Fashion-MNIST items, ResNet-18 width 1/4, 10% "
           "to\n"
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
           "  seg-cpu    random, coreset, mc-dropout, qbc, sa, vaal and sraal on fashion-seg, 10% "
           "to\n"
           "         40% by 5%, 3 trials (1,200 canvases, 12 epochs)\n"
           "  seg-paper  Cityscapes, DRN-D-22 at full width, the paper's protocol: for a GPU\n"
           "Every reduction from the paper's settings is listed in manifest.json and "
           "summary.md.\n" +
           preset_help(a->preset, a->task) +
           methods_help({Task::classification, Task::segmentation});
  });
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
  field(app.add_option("--config", a->config,
                       "start from this configuration (JSON as --print-config writes it, or a "
                       "run's manifest.json: replays that run) instead of a preset; options "
                       "given beside it override it"),
        {});
  app.add_flag("--print-config", a->print_config,
               "print the configuration these options give (every setting of the preset, "
               "with the overrides) as JSON and exit");
  // The dataset flags of `sraal train`; --data-dir with --resume: where the data has moved to.
  auto data_flags =
      std::make_shared<DatasetFlags>(app, "default: the preset's (fashion-mnist, fashion-seg)");
  for (const DatasetFlags::Field& f : data_flags->fields()) {
    std::vector<std::string> ptrs;
    for (const std::string& p : f.pointers) ptrs.push_back("/data" + p);
    field(f.option, ptrs);
  }
  field(app.add_option("--methods", a->methods, "comma list of methods (listed below)"),
        {"/methods"});
  field(app.add_option("--init", a->init, "initial pool: random | kcenter"), {"/init"});
  field(app.add_option("--fractions", a->fractions,
                       "labeled fractions INITIAL,STEP,FINAL (default 0.1,0.05,0.4)"),
        {"/initial_fraction", "/step_fraction", "/final_fraction"});
  field(app.add_option("--trials", a->trials, "trials (seeds)")->check(integer_in(1, kMaxTrials)),
        {"/trials"});
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
  auto training = std::make_shared<TrainingFlags>(app);
  for (const TrainingFlags::Field& f : training->fields()) field(f.option, f.pointers);
  app.add_option("--out", a->out, "output directory (default: runs/<preset>)");
  app.add_flag("--resume", a->resume, "continue the run in --out after its last finished cycle");
  app.add_flag("--force", a->force, "overwrite results already in --out");
  // Under mpirun (docs/DISTRIBUTED.md); not part of the configuration: a run may be resumed
  // with other values, or without mpirun.
  app.add_option("--distribute", a->distribute,
                 "under mpirun -np K: data (every cycle data-parallel over the K processes), "
                 "trials or methods (whole trials or methods to groups of --ranks-per-unit "
                 "processes, data-parallel inside a group)")
      ->check(CLI::IsMember({"data", "trials", "methods"}))
      ->capture_default_str();
  app.add_option("--ranks-per-unit", a->ranks_per_unit,
                 "--distribute trials|methods: the processes that run one trial or method "
                 "together (must divide K)")
      ->check(integer_in(1, 1 << 20))
      ->capture_default_str();
  app.add_flag("--sync-bn", a->sync_bn,
               "under mpirun: batch-norm statistics over all the processes of a model's training "
               "(else per process, as PyTorch DDP)");
  app.add_option("--fault-at", a->fault_at, "testing: SIGKILL at the N-th fault point")
      ->group("");  // hidden
  return [a, given, data_flags, training] {
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
    SR_CHECK_VALUE(!(count("--config") && count("--preset")),
                   "run: --config and --preset exclude each other (the file holds the preset's "
                   "settings)");
    SR_CHECK_VALUE(!(count("--config") && count("--task")),
                   "run: --config holds the run's task; drop --task");
    SR_CHECK_VALUE(!(count("--config") && a->resume),
                   "run: --config starts a run; --resume continues one with its own "
                   "configuration (state.json)");
    ExperimentConfig c = count("--config") ? config_from_file(a->config) : preset_config(preset);
    if (count("--config")) preset = c.preset;
    data_flags->apply_given(c.data);
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
    if (count("--pool-size")) c.pool_size = a->pool;
    if (count("--test-size")) c.test_size = a->test;
    if (count("--val-size")) c.val_size = a->val;
    training->apply_given(c);
    if (a->print_config) {
      validate_options(c);
      std::printf("%s\n", to_json(c).dump(2).c_str());
      return 0;
    }
    RunOptions r;
    r.out_dir = a->out.empty() ? "runs/" + preset : a->out;
    r.resume = a->resume;
    r.force = a->force;
    r.command_line = command_line();
    for (const auto& [o, g] : *given)
      if (o->count()) r.given.push_back(g);
    r.world = &ProcessGroup::world();
    r.distribute = a->distribute == "trials"    ? Distribute::trials
                   : a->distribute == "methods" ? Distribute::methods
                                                : Distribute::data;
    r.ranks_per_unit = a->ranks_per_unit;
    r.sync_bn = a->sync_bn;
    set_fault_point_limit(a->fault_at);
    RunResult res = run_experiment(c, r);
    std::printf("run: %lld result rows in %.0f s; see %s/summary.md\n", (long long)res.rows,
                res.seconds, r.out_dir.c_str());
    return 0;
  };
}

}  // namespace sr::app
