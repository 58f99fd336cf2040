// The experiment loop, its state and its output files (see experiment.h).
#include "sraal/experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "engine/atomic_file.h"
#include "engine/backend.h"
#include "engine/build_info.h"
#include "layers/layers.h"
#include "layers/model_zoo.h"
#include "sraal/kcenter_init.h"
#include "sraal/output_dir.h"
#include "sraal/progress.h"
#include "sraal/report.h"
#include "sraal/run_files.h"
#include "sraal/run_state.h"
#include "sraal/segmentation_eval.h"
#include "sraal/strategy.h"
#include "sraal/target_setup.h"
#include "sraal/train_classifier.h"

namespace sr {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Long-format metric rows (metrics.csv, as PyTorch Lightning's CSV logger): one
// `method,trial,cycle,stage,step,name,value` line per value.
constexpr const char* kMetricsHeader = "method,trial,cycle,stage,step,name,value\n";

// The rows of a selection log (its first column the step, e.g. the adversarial iteration) in
// long format, under `stage`.
std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> v;
  for (size_t s = 0; s <= line.size();) {
    size_t e = std::min(line.find(',', s), line.size());
    v.push_back(line.substr(s, e - s));
    s = e + 1;
  }
  return v;
}

std::string long_rows(const std::string& prefix, const std::string& stage, const std::string& csv) {
  std::istringstream in(csv);
  std::string line, out;
  if (!std::getline(in, line)) return out;
  const std::vector<std::string> names = split_commas(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> v = split_commas(line);
    for (size_t k = 1; k < v.size() && k < names.size(); ++k)
      out += fmt::format("{},{},{},{},{}\n", prefix, stage, v[0], names[k], v[k]);
  }
  return out;
}

std::vector<int64_t> seeded_subset(int64_t n, int64_t k, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> perm = g.permutation(n);
  if (k > 0 && k < n) perm.resize(size_t(k));
  return perm;
}

void write_lines(const std::string& path, const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += std::to_string(x) + "\n";
  write_file_atomic(path, s);
}

class Runner {
 public:
  Runner(ExperimentConfig cfg, RunOptions opt)
      : cfg_(cfg),
        requested_(std::move(cfg)),
        opt_(std::move(opt)),
        world_(opt_.world ? *opt_.world : ProcessGroup::self()),
        root_(world_.is_root()) {
    const int k = world_.size();
    if (k > 1 && opt_.distribute != Distribute::data) {
      const int per = opt_.ranks_per_unit;
      SR_CHECK_VALUE(per >= 1 && k % per == 0,
                     "run: --ranks-per-unit {} does not divide the job's {} processes", per, k);
      groups_ = k / per;
      group_index_ = world_.rank() / per;
      group_ = world_.split(group_index_);
    } else {
      group_ = world_.duplicate();  // data: one group of every rank, on its own communicator
    }
  }

  RunResult run() {
    double t0 = now_seconds();
    // One run per output directory at a time, locked (by rank 0, the only writer) before
    // anything is read, written or deleted.
    if (root_) {
      out_ = std::make_unique<OutputDirectory>(opt_.out_dir, opt_.resume);
      out_->start_with([this] { start(); });
    } else {
      start();
    }
    int64_t cycles = int64_t(sizes_.size());
    std::vector<EtaModel::Cycle> schedule;
    for (int64_t t = 1; t <= cfg_.trials; ++t)
      for (const std::string& m : cfg_.methods)
        for (int64_t c = 0; c < cycles; ++c)
          schedule.push_back(
              {m, double(cfg_.target.epochs) * double(sizes_[size_t(c)]), c + 1 < cycles});
    Progress progress{EtaModel(std::move(schedule))};
    if (root_)
      progress.open_log(path("run.log"));
    else
      progress.silence();
    progress_ = &progress;
    const std::vector<Step> mine = steps_of_this_group();
    // The ETA is this group's: the other groups' cycles run beside it.
    for (int64_t t = 1; t <= cfg_.trials; ++t)
      for (const std::string& m : cfg_.methods)
        for (int64_t c = 0; c < cycles; ++c)
          if (owner(t, m) != group_index_ || c < next_cycle(t, m))
            progress.model().skip(cycle_index(t, m, c));
    progress.log(fmt::format(
        "run {}: {} on {} (pool {}, {} {}), methods {}, {} trial(s), "
        "fractions {:.0f}%..{:.0f}%, init {}, device {}{}",
        opt_.out_dir, cfg_.preset, cfg_.data.name, state_.pool.size(), metric_split_name(),
        state_.test.size(), fmt::join(cfg_.methods, ","), cfg_.trials, 100 * fractions_.front(),
        100 * fractions_.back(), cfg_.init, cfg_.device, distribution_summary()));
    for (int64_t t = 1; t <= cfg_.trials; ++t)
      if (state_.initial.count(t)) add_tracks(t);
    // Rounds of one step per group; after each, every rank commits what all groups produced.
    int64_t rounds = 0;
    for (int64_t n : world_.all_gather(int64_t(mine.size()))) rounds = std::max(rounds, n);
    for (int64_t r = 0; r < rounds; ++r) {
      std::string outcome = r < int64_t(mine.size()) ? run_step(mine[size_t(r)]).dump() : "";
      if (!group_->is_root()) outcome.clear();  // the group's ranks hold the same outcome
      for (const std::string& o : world_.all_gather(outcome))
        if (!o.empty()) commit(json::parse(o));
    }
    RunResult r;
    r.rows = int64_t(state_.rows.size());
    r.seconds = now_seconds() - t0;
    if (root_) write_manifest(r.seconds);
    progress.log(
        fmt::format("done: {} rows in {:.0f} s; results in {}", r.rows, r.seconds, opt_.out_dir));
    return r;
  }

 private:
  // A unit of work: a trial's initial pool (cycle -1, no method) or one cycle of a track.
  struct Step {
    int64_t trial = 0;
    std::string method;
    int64_t cycle = -1;
  };

  // The group that runs the track (trial, method).
  int owner(int64_t trial, const std::string& method) const {
    if (groups_ == 1) return 0;
    if (opt_.distribute == Distribute::trials) return int((trial - 1) % groups_);
    return int(method_index(method) % size_t(groups_));
  }

  size_t method_index(const std::string& method) const {
    return size_t(std::find(cfg_.methods.begin(), cfg_.methods.end(), method) -
                  cfg_.methods.begin());
  }

  int64_t next_cycle(int64_t trial, const std::string& method) const {
    auto it = state_.tracks.find({trial, method});
    return it == state_.tracks.end() ? 0 : it->second.next_cycle;
  }

  // What this group has left to do, in run order: for each trial with a track of its own to
  // run, the initial pool (unless the state has it) and then its tracks' remaining cycles.
  std::vector<Step> steps_of_this_group() const {
    std::vector<Step> steps;
    const int64_t cycles = int64_t(sizes_.size());
    for (int64_t t = 1; t <= cfg_.trials; ++t) {
      std::vector<Step> cycles_left;
      for (const std::string& m : cfg_.methods)
        if (owner(t, m) == group_index_)
          for (int64_t c = next_cycle(t, m); c < cycles; ++c) cycles_left.push_back({t, m, c});
      if (cycles_left.empty()) continue;
      if (!state_.initial.count(t)) steps.push_back({t, "", -1});
      steps.insert(steps.end(), cycles_left.begin(), cycles_left.end());
    }
    return steps;
  }

  std::string distribution_summary() const {
    if (world_.size() == 1) return "";
    if (opt_.distribute == Distribute::data)
      return fmt::format(", {} processes data-parallel{}", world_.size(),
                         opt_.sync_bn ? " (batch norm synchronised)" : "");
    return fmt::format(", {} processes: {} groups of {} by {}", world_.size(), groups_,
                       group_->size(), opt_.distribute == Distribute::trials ? "trial" : "method");
  }

  // Everything before the first cycle: state or configuration, data, pool; ends by writing the
  // manifest (the first file of a fresh run). Rank 0 reads the directory and sends the state it
  // holds to the others; only rank 0 writes.
  void start() {
    std::vector<uint8_t> state_text;
    if (root_ && opt_.resume && has_state()) state_text = read_state_text();
    world_.broadcast(state_text);
    const bool resuming = !state_text.empty();
    if (resuming) {
      load_state(state_text);
      check_given_options();
      for (const char* sub : {"selected", "logs"}) {
        fs::path p = fs::path(opt_.out_dir) / sub;
        SR_CHECK_IO(!root_ || !fs::is_symlink(fs::symlink_status(p)),
                    "{}: a symbolic link; the run writes only inside --out", p.string());
      }
    }
    validate_options(cfg_);  // before anything is written or deleted
    SR_CHECK_VALUE(world_.size() == 1 || parse_device(cfg_.device) == Device::cpu,
                   "run: --device {} over {} processes needs NCCL, which this build does not "
                   "use yet; run on the CPU or in one process",
                   cfg_.device, world_.size());
    if (!resuming && root_) prepare_fresh_output();
    device_ = parse_device(cfg_.device);
    DatasetSplits data = load_dataset(cfg_.data);  // missing or corrupt data fails here
    train_ = data.train;
    test_ = data.test;
    if (world_.size() > 1)
      world_.check_same(fnv1a(fnv1a(kFnvBasis, train_->fingerprint()), test_->fingerprint()),
                        "the dataset (its fingerprints)");
    check_task();
    check_subset_sizes();
    dataset_ = {train_->size(), test_->size(), train_->fingerprint(), test_->fingerprint()};
    auto [pool, test] = pool_and_metric_items();
    validate_pool(cfg_, int64_t(pool.size()));
    sizes_ = labeled_sizes(cfg_, int64_t(pool.size()));
    fractions_ = labeled_fractions(cfg_);
    if (resuming) {
      try {
        validate_state(state_, {pool, test, sizes_, cfg_.methods, cfg_.trials, dataset_});
      } catch (const ValueError& e) {
        throw IOError(fmt::format("{}: {}", path("state.json"), e.what()));
      }
    } else {
      state_.config = to_json(cfg_);
      state_.pool = std::move(pool);
      state_.test = std::move(test);
    }
    state_.dataset = dataset_;  // a format-1 state gains it
    if (root_) write_manifest();
    if (resuming && root_) save_state();  // a moved --data-dir or format-1 state is recorded
  }

  std::string path(const std::string& name) const {
    return (fs::path(opt_.out_dir) / name).string();
  }

  // --resume of a run killed before its first checkpoint (no state.json, no results yet) starts
  // it afresh with the options given.
  bool has_state() const { return out_->has_file("state.json"); }

  std::vector<uint8_t> read_state_text() const {
    fs::path file = fs::path(opt_.out_dir) / "state.json";
    std::ifstream in(file, std::ios::binary);
    SR_CHECK_IO(in.good(), "{}: cannot open", file.string());
    std::vector<uint8_t> text((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    SR_CHECK_IO(!text.empty(), "{}: empty (corrupt state)", file.string());
    return text;
  }

  void load_state(const std::vector<uint8_t>& text) {
    try {
      state_ = RunState::from_json(json::parse(text.begin(), text.end()));
      cfg_ = config_from_json(state_.config);
    } catch (const std::exception& e) {
      throw IOError(fmt::format("{}: corrupt state: {}", path("state.json"), e.what()));
    }
  }

  // A resumed run continues with the configuration it started with. An option given with
  // --resume that disagrees with it is refused (silently ignoring it would run something else
  // than asked); --data-dir may point at the dataset's new place, the fingerprints check that it
  // holds the same data.
  void check_given_options() {
    json was = state_.config, asked = to_json(requested_);
    shortest_floats(was);  // a state written before floats were printed as written
    for (const RunOptions::GivenOption& g : opt_.given) {
      if (g.name == "--data-dir") {
        cfg_.data.dir = requested_.data.dir;
        state_.config["data"]["dir"] = cfg_.data.dir;  // where later resumes find it
        continue;
      }
      for (const std::string& field : g.fields) {
        json::json_pointer ptr(field);
        json a = asked.at(ptr), w = was.contains(ptr) ? was.at(ptr) : json();
        SR_CHECK_VALUE(a == w,
                       "run --resume: {} asks for {} = {}, but the run in {} has {}; a resumed "
                       "run keeps its options: drop {} or start a new run in another --out",
                       g.name, field.substr(1), a.dump(), opt_.out_dir, w.dump(), g.name);
      }
    }
  }

  // The pool (a seeded subset of the training split) and the items the metric is measured on:
  // a seeded subset of the test split, or with --val-size the next items of the pool's
  // permutation of the training split (held out of the pool: a validation split).
  std::pair<std::vector<int64_t>, std::vector<int64_t>> pool_and_metric_items() const {
    uint64_t pool_seed = derive_seed(cfg_.seed, 101);
    if (cfg_.val_size == 0)
      return {seeded_subset(train_->size(), cfg_.pool_size, pool_seed),
              seeded_subset(test_->size(), cfg_.test_size, derive_seed(cfg_.seed, 102))};
    std::vector<int64_t> perm = seeded_subset(train_->size(), 0, pool_seed);
    int64_t pool = cfg_.pool_size > 0 ? cfg_.pool_size : train_->size() - cfg_.val_size;
    auto mid = perm.begin() + pool;
    return {std::vector<int64_t>(perm.begin(), mid),
            std::vector<int64_t>(mid, mid + cfg_.val_size)};
  }

  const Dataset& metric_split() const { return cfg_.val_size > 0 ? *train_ : *test_; }
  const char* metric_split_name() const { return cfg_.val_size > 0 ? "validation" : "test"; }

  bool segmentation() const { return cfg_.task == Task::segmentation; }

  void check_task() const {
    bool seg = train_->info().segmentation;
    SR_CHECK_VALUE(seg == segmentation(), "run: {} is a {} dataset but the run's task is {}; {}",
                   cfg_.data.name, seg ? "segmentation" : "classification", task_name(cfg_.task),
                   seg ? "use --task segmentation (or a seg- preset)"
                       : "choose a segmentation dataset (fashion-seg, synthetic-seg, cityscapes)");
  }

  // A subset larger than the split it is drawn from would be reported as used while the whole
  // split is.
  void check_subset_sizes() const {
    SR_CHECK_VALUE(cfg_.val_size == 0 || cfg_.pool_size + cfg_.val_size <= train_->size(),
                   "run: --pool-size {} and --val-size {} together exceed the {} training items "
                   "of {}",
                   cfg_.pool_size, cfg_.val_size, train_->size(), cfg_.data.name);
    SR_CHECK_VALUE(cfg_.pool_size > 0 || cfg_.val_size < train_->size(),
                   "run: --val-size {} leaves no pool of the {} training items of {}",
                   cfg_.val_size, train_->size(), cfg_.data.name);
    SR_CHECK_VALUE(cfg_.pool_size <= train_->size(),
                   "run: --pool-size {} exceeds the {} training items of {} (0 uses them all)",
                   cfg_.pool_size, train_->size(), cfg_.data.name);
    SR_CHECK_VALUE(cfg_.test_size <= test_->size(),
                   "run: --test-size {} exceeds the {} test items of {} (0 uses them all)",
                   cfg_.test_size, test_->size(), cfg_.data.name);
  }

  // The run's own files: replaced by --force, kept (and the run refused) otherwise.
  static constexpr const char* kOutputs[] = {"state.json",    "results.csv", "class_iou.csv",
                                             "summary.md",    "plot.svg",    "plot.png",
                                             "manifest.json", "metrics.csv", "run.log"};

  void prepare_fresh_output() {
    fs::path dir(opt_.out_dir);
    auto present = [&](const char* f) { return fs::exists(fs::symlink_status(dir / f)); };
    bool has_results = present("state.json") || present("results.csv") || present("selected");
    if (has_results) {
      SR_CHECK_VALUE(!opt_.resume,
                     "{} holds results but no state.json to resume them from; use --force to "
                     "overwrite them or another --out",
                     opt_.out_dir);
      SR_CHECK_VALUE(opt_.force,
                     "{} already holds results; use --resume to continue that run or --force to "
                     "overwrite it",
                     opt_.out_dir);
    }
    out_->remove({std::begin(kOutputs), std::end(kOutputs)}, {"selected", "logs"});
  }

  // manifest.json: written when the run starts, and again with its end time when it finishes.
  void write_manifest(double finished = 0) {
    json m = manifest_header(started_, finished, opt_.command_line);
    m["config"] = to_json(cfg_);
    m["task"] = task_name(cfg_.task);
    m["seed"] = cfg_.seed;
    m["device"] = cfg_.device;
    m["cpu_conv"] = cpu_conv_algorithm_name(cpu_conv_algorithm());
    m["dataset"] = {
        {"name", train_->info().name},
        {"train_items", dataset_.train_items},
        {"test_items", dataset_.test_items},
        {"train_fingerprint", dataset_.train_fingerprint},
        {"test_fingerprint", dataset_.test_fingerprint},
        {"pool_items", state_.pool.size()},
        {cfg_.val_size > 0 ? "validation_items_used" : "test_items_used", state_.test.size()}};
    m["labeled_fractions"] = fractions_;
    m["labeled_sizes"] = sizes_;
    m["reductions_from_paper"] = reductions(cfg_);
    write_file_atomic(path("manifest.json"), m.dump(2) + "\n");
  }

  // The step's outcome as JSON (what commit() needs; the groups exchange it as text).
  json run_step(const Step& st) {
    if (st.cycle < 0) return initial_pool(st.trial);
    auto key = std::make_pair(st.trial, st.method);
    std::unique_ptr<Strategy>& strategy = strategies_[key];
    if (!strategy)
      strategy = make_strategy(st.method, cfg_.method_options.value(st.method, nlohmann::json()),
                               cfg_.adversarial, cfg_.task);
    return run_cycle(st.trial, st.method, st.cycle, *strategy);
  }

  // The trial's initial labeled pool: random, or k-center (its VAE trained data-parallel over
  // the group, the greedy sharded).
  json initial_pool(int64_t trial) {
    std::vector<int64_t> init;
    uint64_t seed = derive_seed(cfg_.seed, uint64_t(1000 + trial));
    if (state_.initial.count(trial)) {  // another group's, committed in an earlier round
      init = state_.initial[trial];
    } else if (cfg_.init == "kcenter") {
      progress_->set_context(fmt::format("trial {}/{}: k-center initial pool", trial, cfg_.trials));
      init =
          kcenter_initial_pool(
              *train_, state_.pool, sizes_.front(), cfg_.kcenter, cfg_.adversarial, seed, device_,
              [&](const std::string& w, int64_t d, int64_t n) { progress_->detail(w, d, n); },
              group_.get(), opt_.sync_bn)
              .items;
    } else {
      std::vector<int64_t> perm = Generator(seed).permutation(int64_t(state_.pool.size()));
      for (int64_t i = 0; i < sizes_.front(); ++i)
        init.push_back(state_.pool[size_t(perm[size_t(i)])]);
    }
    return {{"trial", trial}, {"initial", init}};
  }

  // The tracks of a trial whose initial pool is known, with their cycle-0 selection files.
  void add_tracks(int64_t trial) {
    const std::vector<int64_t>& init = state_.initial.at(trial);
    for (const std::string& method : cfg_.methods) {
      if (state_.tracks.count({trial, method})) continue;
      state_.tracks[{trial, method}] = {0, init};
      if (!root_) continue;
      fs::create_directories(fs::path(path("selected")) / method / fmt::format("trial{}", trial));
      write_lines(selected_path(method, trial, 0), init);
      write_selection_csv(method, trial, 0, init, {});
    }
  }

  // Every rank applies every group's outcome of a round to its state; rank 0 writes the files.
  void commit(const json& o) {
    const int64_t trial = o.at("trial").get<int64_t>();
    if (o.contains("initial")) {
      if (state_.initial.count(trial)) return;  // methods: each group computed the same pool
      state_.initial[trial] = o.at("initial").get<std::vector<int64_t>>();
      if (root_) save_state();  // before the tracks' files: no selection without a state
      add_tracks(trial);
      if (root_) save_state();
      return;
    }
    const std::string method = o.at("method").get<std::string>();
    const int64_t c = o.at("cycle").get<int64_t>();
    RunState::Track& track = state_.tracks.at({trial, method});
    const ResultRow row = row_from_json(o.at("row"));
    const std::vector<int64_t> chosen = o.at("chosen").get<std::vector<int64_t>>();
    const std::string metrics = o.at("metrics").get<std::string>();
    if (root_) {
      for (const auto& [name, csv] : o.at("logs").get<std::map<std::string, std::string>>())
        write_file_atomic(
            (fs::path(log_dir(method, trial)) / fmt::format("cycle{}_{}.csv", c, name)).string(),
            csv);
      if (!chosen.empty()) {
        write_lines(selected_path(method, trial, c + 1), chosen);
        write_selection_csv(method, trial, c + 1, chosen,
                            o.at("scores").get<std::vector<double>>());
      }
      write_file_atomic(cycle_metrics_path(method, trial, c), metrics);
    }
    progress_->log(fmt::format(
        "{}: {} {:.2f}% (train {:.1f} s{}); ETA {}", cycle_context(trial, method, c),
        segmentation() ? "mIoU" : "accuracy", 100 * row.value, row.train_seconds,
        chosen.empty()
            ? ""
            : fmt::format(", selected {} in {:.1f} s", chosen.size(), row.select_seconds),
        progress_->eta()));
    // Rows in run order (trial, method, cycle), whichever group finished first.
    auto at = std::upper_bound(
        state_.rows.begin(), state_.rows.end(), row, [&](const ResultRow& x, const ResultRow& y) {
          return cycle_index(x.trial, x.method, x.cycle) < cycle_index(y.trial, y.method, y.cycle);
        });
    state_.rows.insert(at, row);
    cycle_metrics_[{method, trial, c}] = metrics;
    track.labeled.insert(track.labeled.end(), chosen.begin(), chosen.end());
    track.next_cycle = c + 1;
    if (root_) save_state();
  }

  std::string cycle_context(int64_t trial, const std::string& method, int64_t c) const {
    return fmt::format("trial {}/{} {} cycle {}/{} (labeled {}, {:.0f}%)", trial, cfg_.trials,
                       method, c + 1, sizes_.size(), sizes_[size_t(c)],
                       100 * fractions_[size_t(c)]);
  }

  // selected/<method>/trial<T>/cycle<C>.csv: index,path,label,score per chosen item, in the
  // order chosen (path: the file of a file-based dataset; label: the class, empty for
  // segmentation; score: what ranked the item, empty for methods without one).
  void write_selection_csv(const std::string& method, int64_t trial, int64_t cycle,
                           const std::vector<int64_t>& items,
                           const std::vector<double>& scores) const {
    const bool scored = scores.size() == items.size();
    std::string csv = "index,path,label,score\n";
    for (size_t k = 0; k < items.size(); ++k) {
      const int64_t i = items[k];
      csv += fmt::format("{},{},{},{}\n", i, csv_field(train_->source(i)),
                         segmentation() ? "" : std::to_string(train_->label(i)),
                         scored ? fmt::format("{:.9g}", scores[k]) : "");
    }
    std::string p = selected_path(method, trial, cycle);
    write_file_atomic(p.substr(0, p.size() - 4) + ".csv", csv);
  }

  std::string selected_path(const std::string& method, int64_t trial, int64_t cycle) const {
    return (fs::path(path("selected")) / method / fmt::format("trial{}", trial) /
            fmt::format("cycle{}.txt", cycle))
        .string();
  }

  // The cycle's place in the run's schedule (trial, method, cycle in run order).
  size_t cycle_index(int64_t trial, const std::string& method, int64_t c) const {
    size_t m =
        size_t(std::find(cfg_.methods.begin(), cfg_.methods.end(), method) - cfg_.methods.begin());
    return (size_t(trial - 1) * cfg_.methods.size() + m) * sizes_.size() + size_t(c);
  }

  // One cycle of a track (train, measure, select) on this group's ranks, without touching the
  // state or the files: its outcome for commit().
  json run_cycle(int64_t trial, const std::string& method, int64_t c, Strategy& strategy) {
    const RunState::Track& track = state_.tracks.at({trial, method});
    const size_t step = cycle_index(trial, method, c);
    const ProcessGroup* group = group_.get();
    progress_->set_context(cycle_context(trial, method, c));

    // 1. The target model, from scratch on D_L. Its seed depends on (trial, cycle) only: every
    //    method trains the same initial weights on its own labeled pool.
    const DatasetInfo& info = train_->info();
    ModelSpec spec = target_spec(cfg_.target, info, strategy.target_requirements().dropout);
    uint64_t cycle_seed = derive_seed(cfg_.seed, uint64_t(trial) * 1000 + uint64_t(c));
    ClassifierTrainOptions o =
        target_train_options(cfg_.target, info, device_, cfg_.loader_workers);
    o.group = group;
    std::string stage = "target";
    // This cycle's rows of metrics.csv (written with its checkpoint, sraal/experiment.h).
    const std::string prefix = fmt::format("{},{},{}", csv_field(method), trial, c);
    std::string metrics;
    json logs = json::object();
    auto metric = [&](const std::string& st, int64_t step, const char* name, double value) {
      metrics += fmt::format("{},{},{},{},{:.9g}\n", prefix, st, step, name, value);
    };
    o.on_epoch = [&](const EpochReport& r) {
      progress_->detail(
          fmt::format("{} epoch (loss {:.3f}, {:.0f} img/s)", stage, r.loss, r.images_per_sec),
          r.epoch, r.epochs);
      const std::string st = stage == "target" ? "target" : "committee";
      if (st == "target") progress_->model().training_progress(step, double(r.epoch) / r.epochs);
      metric(st, r.epoch, "loss", r.loss);
      metric(st, r.epoch, "lr", std::stod(fmt::format("{}", r.lr)));  // 0.1, not 0.100000001
      metric(st, r.epoch, "images_per_s", r.images_per_sec);
    };
    // A fresh model of the spec from the initial weights of `seed`, moved to the device (its
    // batch norms synchronised over the group with --sync-bn).
    auto fresh_model = [&](uint64_t seed) {
      Generator init(seed);
      auto m = build_model(spec, init, std::make_shared<Generator>(derive_seed(seed, 1)));
      m->to(device_);
      if (opt_.sync_bn && group->size() > 1) synchronise_batch_norm(*m, group->duplicate());
      return m;
    };
    auto target = fresh_model(cycle_seed);
    o.seed = derive_seed(cycle_seed, 2);
    o.joint = strategy.joint_objective(*target, derive_seed(cycle_seed, 3));
    const double t_train = now_seconds();
    TrainResult tr = train_classifier(*target, *train_, track.labeled, o);

    ResultRow row;
    row.method = method, row.trial = trial, row.cycle = c;
    row.labeled = int64_t(track.labeled.size());
    row.labeled_fraction = fractions_[size_t(c)];
    row.metric =
        std::string(cfg_.val_size > 0 ? "val_" : "") + (segmentation() ? "miou" : "accuracy");
    if (segmentation()) {
      SegEvalResult ev =
          evaluate_segmentation(*target, metric_split(), state_.test, 64, device_, group);
      row.value = ev.miou;
      row.class_iou = ev.class_iou;
    } else {
      row.value =
          evaluate_classifier(*target, metric_split(), state_.test, 256, device_, group).accuracy;
    }
    row.train_seconds = tr.seconds;
    progress_->model().trained(step, now_seconds() - t_train);  // training and its evaluation
    metric("eval", cfg_.target.epochs, row.metric.c_str(), row.value);

    // 2-4. Selection of the next items (not after the last measurement).
    std::vector<int64_t> chosen;
    std::vector<double> scores;
    if (c + 1 < int64_t(sizes_.size())) {
      double ts = now_seconds();
      std::set<int64_t> in_l(track.labeled.begin(), track.labeled.end());
      std::vector<int64_t> unlabeled;
      for (int64_t i : state_.pool)
        if (!in_l.count(i)) unlabeled.push_back(i);
      SelectionInput in{
          *train_,
          track.labeled,
          unlabeled,
          *target,
          sizes_[size_t(c + 1)] - sizes_[size_t(c)],
          derive_seed(derive_seed(cfg_.seed, name_tag(method)),
                      uint64_t(trial) * 1000 + uint64_t(c)),
          device_,
          [&](const std::string& w, int64_t d, int64_t n) { progress_->detail(w, d, n); },
          [&](const std::string& name, const std::string& csv) {
            logs[name] = csv;
            metrics += long_rows(prefix, name, csv);
          },
          [&](const std::vector<int64_t>& items, uint64_t seed) -> std::shared_ptr<Module> {
            auto m = fresh_model(seed);
            ClassifierTrainOptions mo = o;
            mo.seed = derive_seed(seed, 2);
            mo.joint = nullptr;
            stage = "committee member";
            train_classifier(*m, *train_, items, mo);
            return m;
          },
          &scores,
          group,
          opt_.sync_bn};
      chosen = strategy.select(in);
      check_selection(chosen, in_l, unlabeled.size(), in.budget, method);
      if (group->size() > 1) {
        std::string bytes(reinterpret_cast<const char*>(chosen.data()),
                          chosen.size() * sizeof(int64_t));
        group->check_same(fnv1a(kFnvBasis, bytes), fmt::format("the items {} selected", method));
      }
      row.select_seconds = now_seconds() - ts;
      progress_->model().selected(step, row.select_seconds);
    }
    return {{"trial", trial},   {"method", method}, {"cycle", c},         {"row", to_json(row)},
            {"chosen", chosen}, {"scores", scores}, {"metrics", metrics}, {"logs", logs}};
  }

  std::string log_dir(const std::string& method, int64_t trial) const {
    fs::path dir = fs::path(path("logs")) / method / fmt::format("trial{}", trial);
    fs::create_directories(dir);
    return dir.string();
  }

  std::string cycle_metrics_path(const std::string& method, int64_t trial, int64_t cycle) const {
    return (fs::path(log_dir(method, trial)) / fmt::format("cycle{}_metrics.csv", cycle)).string();
  }

  // metrics.csv: the rows of every finished cycle, in run order (so that a resumed or
  // distributed run's file equals an uninterrupted one's, whatever was written after a kill).
  // A cycle finished by an earlier process is read from its file once.
  std::string metrics_csv() {
    std::string out = kMetricsHeader;
    for (const ResultRow& r : state_.rows) {
      auto key = std::make_tuple(r.method, r.trial, r.cycle);
      auto it = cycle_metrics_.find(key);
      if (it == cycle_metrics_.end()) {
        fs::path p = fs::path(path("logs")) / r.method / fmt::format("trial{}", r.trial) /
                     fmt::format("cycle{}_metrics.csv", r.cycle);
        std::string text;
        if (fs::is_regular_file(fs::symlink_status(p))) {  // absent: a run from before the file
          std::ifstream in(p);
          std::stringstream buf;
          buf << in.rdbuf();
          text = buf.str();
        }
        it = cycle_metrics_.emplace(key, std::move(text)).first;
      }
      out += it->second;
    }
    return out;
  }

  static void check_selection(const std::vector<int64_t>& chosen, const std::set<int64_t>& labeled,
                              size_t unlabeled, int64_t budget, const std::string& method) {
    SR_CHECK(int64_t(chosen.size()) == budget, "method {} selected {} items instead of {}", method,
             chosen.size(), budget);
    std::set<int64_t> seen;
    for (int64_t i : chosen)
      SR_CHECK(!labeled.count(i) && seen.insert(i).second,
               "method {} selected item {} twice or from the labeled pool", method, i);
    (void)unlabeled;
  }

  // Rewrites every file that depends on the rows. state.json first: a crash before the others
  // are rewritten leaves a state that regenerates them on resume (resume rewrites them at once),
  // and a run killed in its first checkpoint never leaves results without a state.json.
  void save_state() {
    write_file_atomic(path("state.json"), state_.to_json().dump() + "\n");
    std::string title = fmt::format("sraal run: {} on {} ({} preset)",
                                    fmt::join(cfg_.methods, " vs "), cfg_.data.name, cfg_.preset);
    std::vector<std::string> notes = reductions(cfg_);
    notes.insert(notes.begin(),
                 fmt::format("pool {} items, {} metric on {} items, init {}, seed {}, device {}",
                             state_.pool.size(), metric_split_name(), state_.test.size(), cfg_.init,
                             cfg_.seed, cfg_.device));
    write_file_atomic(path("results.csv"), results_csv(state_.rows));
    write_file_atomic(path("metrics.csv"), metrics_csv());
    if (segmentation())
      write_file_atomic(path("class_iou.csv"),
                        class_iou_csv(state_.rows, train_->info().class_names));
    write_file_atomic(path("summary.md"),
                      summary_markdown(state_.rows, cfg_.methods, title, notes));
    const Figure plot = plot_figure(state_.rows, cfg_.methods, title);
    write_file_atomic(path("plot.svg"), to_svg(plot));
    write_png(path("plot.png"), plot);
  }

  ExperimentConfig cfg_;
  const ExperimentConfig requested_;  // what the command line asked for
  RunOptions opt_;
  const ProcessGroup& world_;
  const bool root_;                      // rank 0: the only one that writes
  std::unique_ptr<ProcessGroup> group_;  // the ranks this one runs its steps with
  int groups_ = 1, group_index_ = 0;
  DatasetIdentity dataset_;
  std::unique_ptr<OutputDirectory> out_;
  // Each finished cycle's rows of metrics.csv, by (method, trial, cycle).
  std::map<std::tuple<std::string, int64_t, int64_t>, std::string> cycle_metrics_;
  std::map<std::pair<int64_t, std::string>, std::unique_ptr<Strategy>> strategies_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  RunState state_;
  Device device_ = Device::cpu;
  std::shared_ptr<Dataset> train_, test_;
  std::vector<int64_t> sizes_;
  std::vector<double> fractions_;
  Progress* progress_ = nullptr;
};

}  // namespace

RunResult run_experiment(const ExperimentConfig& config, const RunOptions& options) {
  Runner r(config, options);
  return r.run();
}

}  // namespace sr
