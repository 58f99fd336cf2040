// `sraal run` end to end on a tiny synthetic pool: the output files, the selection invariants,
// refusing to overwrite results, option errors before any work, and that a run killed with
// SIGKILL at any moment and resumed reproduces the uninterrupted run.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <stb/stb_image_write.h>
#include "data/dataset.h"
#include "engine/dir_lock.h"
#include "tests/run_sraal.h"

namespace sr {
namespace {

namespace fs = std::filesystem;

using Result = test::CommandResult;
const auto& run = test::run_sraal;

// Killed by SIGKILL (directly, or as the shell reports a killed child).
constexpr int kKilled = 128 + 9;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<int64_t> read_indices(const fs::path& p) {
  std::vector<int64_t> v;
  std::ifstream in(p);
  for (int64_t x; in >> x;) v.push_back(x);
  return v;
}

// The CSV without the timing columns (which differ between runs).
std::string results_without_timings(const fs::path& dir) {
  std::istringstream in(read_file(dir / "results.csv"));
  std::string line, out;
  while (std::getline(in, line)) {
    int commas = 0;
    size_t cut = line.size();
    for (size_t i = 0; i < line.size(); ++i)
      if (line[i] == ',' && ++commas == 7) cut = i;
    out += line.substr(0, cut) + "\n";
  }
  return out;
}

class Run : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sraal_run_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// --deterministic pins the thread count (engine/backend.h): killed-and-resumed runs must match
// the uninterrupted one bitwise even while ctest runs other tests beside them.
const std::string kBase =
    "--deterministic run --dataset synthetic --pool-size 300 --test-size 100 --epochs 1 "
    "--iterations 4 "
    "--fractions 0.1,0.1,0.3 --seed 3";
const std::string kTiny = kBase + " --methods sraal,random";

TEST_F(Run, TinyRunWritesEveryOutput) {
  fs::path out = dir_ / "a";
  Result r = run(kTiny + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f :
       {"results.csv", "summary.md", "plot.svg", "plot.png", "manifest.json", "state.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  std::string csv = read_file(out / "results.csv");
  EXPECT_EQ(csv.rfind("method,trial,cycle,labeled,labeled_fraction,metric,value,train_seconds,"
                      "select_seconds\n",
                      0),
            0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 3);  // 2 methods x 3 cycles
  auto manifest = nlohmann::json::parse(read_file(out / "manifest.json"));
  EXPECT_EQ(manifest["seed"], 3);
  EXPECT_EQ(manifest["dataset"]["train_fingerprint"].get<std::string>().size(), 16u);
  EXPECT_FALSE(manifest["reductions_from_paper"].empty());
  // The record of where the run came from and when; float settings as written.
  EXPECT_GE(manifest["git_commit"].get<std::string>().size(), 7u);
  EXPECT_NE(manifest["libraries"]["oneDNN"].get<std::string>().find('.'), std::string::npos);
  EXPECT_EQ(manifest["started"].get<std::string>().size(), 20u);  // 2026-12-03T09:13:05Z
  EXPECT_EQ(manifest["finished"].get<std::string>().size(), 20u);
  EXPECT_GT(manifest["wall_seconds"].get<double>(), 0.0);
  EXPECT_EQ(manifest["config"]["target"]["momentum"].dump(), "0.9");
  EXPECT_EQ(manifest["config"]["adversarial"]["lr_decay"].dump(), "0.85");
  EXPECT_NE(read_file(out / "summary.md").find("| 30% |"), std::string::npos);
  EXPECT_EQ(read_file(out / "plot.svg").rfind("<svg", 0), 0u);

  for (const char* m : {"sraal", "random"}) {
    std::set<int64_t> labeled;
    for (int c = 0; c < 3; ++c) {
      auto v =
          read_indices(out / "selected" / m / "trial1" / ("cycle" + std::to_string(c) + ".txt"));
      EXPECT_EQ(v.size(), 30u) << m << " cycle " << c;
      for (int64_t i : v) EXPECT_TRUE(labeled.insert(i).second) << m << ": item " << i << " twice";
    }
  }
  // The adversarial phase's losses, per cycle that selects (not after the last measurement).
  std::string log = read_file(out / "logs/sraal/trial1/cycle0_adversarial.csv");
  EXPECT_EQ(log.rfind("iteration,lr,generator,recon,kl,stl,adv,discriminator\n", 0), 0u);
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2);  // 4 iterations: the last only
  EXPECT_TRUE(fs::exists(out / "logs/sraal/trial1/cycle1_adversarial.csv"));
  EXPECT_FALSE(fs::exists(out / "logs/sraal/trial1/cycle2_adversarial.csv"));
  EXPECT_FALSE(fs::exists(out / "logs/random/trial1/cycle0_adversarial.csv"));
  EXPECT_TRUE(fs::exists(out / "logs/random/trial1/cycle0_metrics.csv"));
  // Both methods start from the same initial pool.
  EXPECT_EQ(read_indices(out / "selected/sraal/trial1/cycle0.txt"),
            read_indices(out / "selected/random/trial1/cycle0.txt"));

  // metrics.csv in long format: per-epoch target rows, the adversarial log's rows and each
  // cycle's metric; run.log holds the log lines.
  std::string metrics = read_file(out / "metrics.csv");
  EXPECT_EQ(metrics.rfind("method,trial,cycle,stage,step,name,value\n", 0), 0u);
  for (const char* needle :
       {"\nsraal,1,0,target,1,loss,", "\nsraal,1,0,target,1,lr,0.05\n",
        "\nsraal,1,0,adversarial,4,generator,", "\nrandom,1,2,eval,1,accuracy,"})
    EXPECT_NE(metrics.find(needle), std::string::npos) << needle;
  EXPECT_EQ(metrics.find("random,1,0,adversarial"), std::string::npos);
  std::string log_text = read_file(out / "run.log");
  EXPECT_NE(log_text.find("trial 1/1 sraal cycle 3/3"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("done: 6 rows"), std::string::npos) << log_text;

  // The selections a user acts on: index,path,label,score per chosen item, in the order chosen.
  // SRAAL's score is the discriminator state that ranked the item (highest first); random has
  // none; synthetic data is held in memory (no path).
  DatasetOptions synthetic;
  synthetic.name = "synthetic";
  DatasetSplits data = load_dataset(synthetic);
  for (const char* m : {"sraal", "random"}) {
    std::istringstream csv(read_file(out / "selected" / m / "trial1/cycle1.csv"));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "index,path,label,score");
    std::vector<int64_t> idx;
    double last = 2;
    while (std::getline(csv, line)) {
      int64_t i = 0, label = 0;
      char c1 = 0, c2 = 0, c3 = 0;
      std::istringstream row(line);
      row >> i >> c1 >> c2 >> label >> c3;
      ASSERT_EQ(std::string() + c1 + c2 + c3, ",,,") << line;
      idx.push_back(i);
      EXPECT_EQ(label, data.train->label(i)) << line;
      std::string score = line.substr(line.rfind(',') + 1);
      if (std::string(m) == "random") {
        EXPECT_TRUE(score.empty()) << line;
      } else {
        double v = std::stod(score);
        EXPECT_TRUE(v >= 0 && v <= 1 && v <= last) << line;  // a state, highest first
        last = v;
      }
    }
    EXPECT_EQ(idx, read_indices(out / "selected" / m / "trial1/cycle1.txt")) << m;
  }
}

// --print-config shows every setting the options give; --config replays a run from its
// manifest.json (the same results), and a configuration file with a misspelt setting, or
// beside --preset, is refused by name.
TEST_F(Run, ConfigFilesPrintAndReplay) {
  Result p =
      run("run --preset cpu --epochs 3 --lr 0.05 --batch-size 32 --test-fraction 0.3 "
          "--print-config");
  ASSERT_EQ(p.code, 0) << p.output;
  auto j = nlohmann::json::parse(p.output);
  EXPECT_EQ(j["preset"], "cpu");
  EXPECT_EQ(j["target"]["epochs"], 3);
  EXPECT_FLOAT_EQ(j["target"]["lr"].get<float>(), 0.05f);
  EXPECT_EQ(j["target"]["batch"], 32);
  EXPECT_DOUBLE_EQ(j["data"]["test_fraction"].get<double>(), 0.3);
  EXPECT_EQ(j["methods"], nlohmann::json({"sraal", "vaal", "random"}));
  EXPECT_FALSE(fs::exists("runs/cpu"));  // printing runs nothing

  fs::path a = dir_ / "a", b = dir_ / "b";
  ASSERT_EQ(run(kTiny + " --out " + a.string()).code, 0);
  Result replay = run("--deterministic run --config " + (a / "manifest.json").string() + " --out " +
                      b.string());
  ASSERT_EQ(replay.code, 0) << replay.output;
  EXPECT_EQ(results_without_timings(b), results_without_timings(a));

  std::ofstream(dir_ / "typo.json") << R"({"trials": 1, "target": {"epoch": 3}})";
  Result typo =
      run("run --config " + (dir_ / "typo.json").string() + " --out " + (dir_ / "c").string());
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.output.find("unknown setting 'target/epoch'"), std::string::npos) << typo.output;
  EXPECT_FALSE(fs::exists(dir_ / "c"));
  Result both = run("run --preset cpu --config " + (a / "manifest.json").string() + " --out " +
                    (dir_ / "c").string());
  EXPECT_NE(both.code, 0);
  EXPECT_NE(both.output.find("--config and --preset exclude each other"), std::string::npos)
      << both.output;
  Result missing = run("run --config " + (dir_ / "none.json").string());
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.output.find((dir_ / "none.json").string()), std::string::npos)
      << missing.output;
}

// The baselines through the whole loop: every cycle's selection lands in results and selected/,
// and the method options given are recorded in the manifest.
TEST_F(Run, BaselinesRunThroughTheLoop) {
  fs::path out = dir_ / "baselines";
  Result r = run(kBase +
                 " --methods entropy,coreset,mc-dropout,bald,badge,ll4al --method-option "
                 "mc-dropout.passes=3 --method-option bald.passes=2 --method-option "
                 "ll4al.subset=100 --out " +
                 out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  std::string csv = read_file(out / "results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 6 * 3);
  auto manifest = nlohmann::json::parse(read_file(out / "manifest.json"));
  EXPECT_EQ(manifest["config"]["method_options"]["mc-dropout"]["passes"], 3);
  EXPECT_EQ(read_indices(out / "selected/badge/trial1/cycle2.txt").size(), 30u);
  Result help = run("run --help");
  for (const char* m : {"coreset", "mc-dropout.passes (default 20)", "bald.p (default 0.5)",
                        "badge", "entropy", "ll4al.detach_after (default 0.6)", "sraal-no-oui"})
    EXPECT_NE(help.output.find(m), std::string::npos) << m;
}

// --val-size measures on items of the training split held out of the pool, never the test split.
TEST_F(Run, ValidationSplitIsHeldOutOfThePool) {
  fs::path out = dir_ / "val";
  Result r = run(kBase + " --methods random --test-size 0 --val-size 200 --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  auto state = nlohmann::json::parse(read_file(out / "state.json"));
  auto pool = state["pool"].get<std::vector<int64_t>>();
  auto val = state["test"].get<std::vector<int64_t>>();
  EXPECT_EQ(pool.size(), 300u);
  ASSERT_EQ(val.size(), 200u);
  std::set<int64_t> in_pool(pool.begin(), pool.end()), in_val(val.begin(), val.end());
  EXPECT_EQ(in_val.size(), 200u);
  for (int64_t i : val) EXPECT_EQ(in_pool.count(i), 0u) << "item " << i << " in both";
  std::string csv = read_file(out / "results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 3);
  EXPECT_NE(csv.find(",val_accuracy,"), std::string::npos) << csv;
  EXPECT_EQ(csv.find(",accuracy,"), std::string::npos) << csv;
  EXPECT_NE(read_file(out / "summary.md").find("Validation accuracy (%)"), std::string::npos);
  EXPECT_NE(read_file(out / "plot.svg").find("validation accuracy (%)"), std::string::npos);
  auto manifest = nlohmann::json::parse(read_file(out / "manifest.json"));
  EXPECT_EQ(manifest["dataset"]["validation_items_used"], 200);
  // The same pool as a run measured on the test split: holding items out moves none of it.
  fs::path t = dir_ / "test";
  ASSERT_EQ(run(kBase + " --methods random --out " + t.string()).code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(t / "state.json"))["pool"], state["pool"]);
}

// --lr-decay-every sets SRAAL's adversarial schedule; VAAL keeps its released code's constant lr.
TEST_F(Run, SraalDecaysItsAdversarialLrAndVaalKeepsItsOwn) {
  fs::path out = dir_ / "decay";
  Result r = run(kBase + " --methods sraal,vaal --fractions 0.1,0.1,0.2 --lr-decay-every 1 --out " +
                 out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  auto last_lr = [&](const char* m) {
    std::istringstream in(read_file(out / "logs" / m / "trial1/cycle0_adversarial.csv"));
    std::string line, last;
    while (std::getline(in, line)) last = line;
    size_t a = last.find(','), b = last.find(',', a + 1);
    return std::stod(last.substr(a + 1, b - a - 1));
  };
  EXPECT_LT(last_lr("sraal"), 5e-4 * 0.85 * 0.85);  // 4 iterations, x0.85 after each
  EXPECT_DOUBLE_EQ(last_lr("vaal"), 5e-4);
}

TEST_F(Run, RefusesToOverwriteAndRejectsBadOptionsBeforeWork) {
  fs::path out = dir_ / "b";
  ASSERT_EQ(run(kBase + " --methods random --out " + out.string()).code, 0);
  Result again = run(kBase + " --methods random --out " + out.string());
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  EXPECT_EQ(run(kBase + " --methods random --force --out " + out.string()).code, 0);

  struct Case {
    std::string args, needle;
  };
  for (const Case& c :
       std::vector<Case>{{"--methods sraal,magic", "unknown method 'magic'"},
                         {"--methods random --resume --out /nonexistent/run", "no such directory"},
                         {"--fractions 0.3,0.1,0.1", "fractions must increase"},
                         {"--fractions 0.1,0.1,1.5", "(0, 1]"},
                         {"--init farthest", "unknown --init 'farthest'"},
                         {"--device cuda", "device cuda is not available"},
                         {"--dataset mnist --data-dir /nonexistent/mnist", "/nonexistent/mnist"},
                         {"--trials 0", "--trials"},
                         {"--pool-size 5000", "--pool-size 5000 exceeds the 2048 training items"},
                         {"--test-size 600", "--test-size 600 exceeds the 512 test items"},
                         {"--fractions 0.1,1e-9,0.4", "cycles (at most 1000)"},
                         {"--width inf", "--width: must be a finite number above 0"},
                         {"--epochs 1000001", "--epochs: must be an integer from 1 to 100000"},
                         {"--seed -1", "--seed: must be an integer from 0 to"},
                         {"--method-option bald.pases=3", "method bald: unknown option 'pases'"},
                         {"--method-option mc-dropout.passes=0", "passes 0 must lie in"},
                         {"--method-option bald.p=high", "option 'p' = \"high\" has the wrong"},
                         {"--method-option bald", "wants METHOD.KEY=VALUE"},
                         {"--indicator-scaling torch", "--indicator-scaling: torch not in"},
                         {"--method-option magic.k=1", "options for unknown method 'magic'"},
                         {"--val-size 100", "drop --test-size 100"},
                         {"--test-size 0 --val-size 1800",
                          "--pool-size 300 and --val-size 1800 together exceed the 2048"},
                         {"--test-size 0 --pool-size 0 --val-size 2048", "leaves no pool"},
                         {"--lr-decay-every 0", "--lr-decay-every: must be an integer from 1"},
                         {"--method-option sraal.generator_target=both", "expected labeled or"}}) {
    fs::path o = dir_ / "bad";
    bool has_methods = c.args.find("--methods") != std::string::npos;
    std::string args = (has_methods ? kBase : kTiny) + " " + c.args;
    if (c.args.find("--out") == std::string::npos) args += " --out " + o.string();
    Result r = run(args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << ": " << r.output;
    // A failed start leaves no empty output directory behind (nor its parent it created).
    EXPECT_FALSE(fs::exists(o)) << c.args;
  }
  Result nested = run(kTiny + " --dataset mnist --data-dir /nonexistent/mnist --out " +
                      (dir_ / "new" / "run").string());
  EXPECT_NE(nested.code, 0);
  EXPECT_FALSE(fs::exists(dir_ / "new")) << nested.output;
}

TEST_F(Run, KilledAnywhereAndResumedEqualsUninterrupted) {
  fs::path ref = dir_ / "ref";
  ASSERT_EQ(run(kTiny + " --out " + ref.string()).code, 0);
  std::string expected = results_without_timings(ref);
  // Fault points fall on every optimiser step and between writing and renaming each file: these
  // cover target training, adversarial training and the state writes of several cycles.
  for (int fault : {1, 3, 6, 14, 27, 44}) {  // 3: inside the first checkpoint
    fs::path out = dir_ / fmt::format("k{}", fault);
    Result killed = run(kTiny + " --fault-at " + std::to_string(fault) + " --out " + out.string());
    ASSERT_EQ(killed.code, kKilled) << "fault " << fault << ": " << killed.output;
    // The same command with --resume (its options matter only when the run was killed before
    // its first checkpoint).
    Result resumed = run(kTiny + " --resume --out " + out.string());
    ASSERT_EQ(resumed.code, 0) << "fault " << fault << ": " << resumed.output;
    EXPECT_EQ(results_without_timings(out), expected) << "fault " << fault;
    for (const char* m : {"sraal", "random"})
      for (int c = 0; c < 3; ++c) {
        fs::path f = fs::path("selected") / m / "trial1" / ("cycle" + std::to_string(c) + ".txt");
        EXPECT_EQ(read_indices(out / f), read_indices(ref / f)) << "fault " << fault << " " << f;
      }
  }
}

// --resume never deletes results it cannot continue, and reads only a regular state.json.
TEST_F(Run, ResumeRefusesWhatItCannotContinue) {
  fs::path out = dir_ / "r";
  ASSERT_EQ(run(kBase + " --methods random --out " + out.string()).code, 0);
  std::string csv = read_file(out / "results.csv");
  fs::rename(out / "state.json", dir_ / "state.json.saved");
  Result r = run(kBase + " --methods random --resume --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("no state.json to resume them from"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(out / "results.csv"), csv);
  for (const char* f : {"summary.md", "plot.svg", "manifest.json", "selected"})
    EXPECT_TRUE(fs::exists(out / f)) << f;

  ASSERT_EQ(::mkfifo((out / "state.json").c_str(), 0644), 0);  // would block a reader forever
  r = run(kBase + " --methods random --resume --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("state.json: not a regular file"), std::string::npos) << r.output;
  fs::remove(out / "state.json");

  fs::copy_file(dir_ / "state.json.saved", out / "state.json");
  std::ofstream(out / "state.json", std::ios::app) << "{";
  r = run(kBase + " --methods random --resume --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find((out / "state.json").string() + ": corrupt state"), std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(out / "results.csv"), csv);
}

// A state.json edited by hand (or by a bug) is checked against the configuration and the dataset
// before anything runs, and refused naming the file and the inconsistency; results stay intact.
TEST_F(Run, ResumeValidatesATamperedState) {
  fs::path out = dir_ / "t";
  ASSERT_EQ(run(kBase + " --methods random --out " + out.string()).code, 0);
  const std::string csv = read_file(out / "results.csv");
  const nlohmann::json good = nlohmann::json::parse(read_file(out / "state.json"));
  using json = nlohmann::json;
  struct Case {
    std::string what, needle;
    std::function<void(json&)> edit;
  };
  std::vector<Case> cases = {
      {"duplicated item", "appears twice",
       [](json& j) { j["tracks"][0]["labeled"][1] = j["tracks"][0]["labeled"][40]; }},
      {"item outside the pool", "item 999999 is not in the AL pool",
       [](json& j) { j["tracks"][0]["labeled"][50] = 999999; }},
      {"next cycle 99", "next cycle 99 outside 0..3",
       [](json& j) { j["tracks"][0]["next_cycle"] = 99; }},
      {"next cycle -3", "next cycle -3 outside 0..3",
       [](json& j) { j["tracks"][0]["next_cycle"] = -3; }},
      {"phantom row", "has a row for cycle 7",
       [](json& j) {
         json r = j["rows"][0];
         r["cycle"] = 7;
         j["rows"].push_back(r);
       }},
      {"repeated row", "two rows for cycle 0", [](json& j) { j["rows"][1] = j["rows"][0]; }},
      {"missing row", "2 result row(s) for 3 finished cycle(s)",
       [](json& j) { j["rows"].erase(j["rows"].end() - 1); }},
      {"non-numeric trial", "key 'one' is not a trial number",
       [](json& j) { j["initial"]["one"] = j["initial"]["1"]; }},
      {"trial outside the run", "initial: trial 5 outside 1..1",
       [](json& j) { j["initial"]["5"] = j["initial"]["1"]; }},
      {"edited pool", "pool: not the 300 items", [](json& j) { j["pool"][0] = j["pool"][1]; }},
      {"unknown method", "not a method of this run",
       [](json& j) { j["tracks"][0]["method"] = "vaal"; }},
      {"changed fingerprint", "the dataset differs from the one the run started with",
       [](json& j) { j["dataset"]["train_fingerprint"] = "0123456789abcdef"; }},
      {"metric out of range", "metric 7 outside [0, 1]",
       [](json& j) { j["rows"][0]["value"] = 7; }},
  };
  for (const Case& c : cases) {
    json j = good;
    c.edit(j);
    std::ofstream(out / "state.json") << j.dump();
    Result r = run(kBase + " --methods random --resume --out " + out.string());
    EXPECT_NE(r.code, 0) << c.what;
    EXPECT_NE(r.output.find((out / "state.json").string() + ": "), std::string::npos)
        << c.what << ": " << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.what << ": " << r.output;
    EXPECT_EQ(read_file(out / "results.csv"), csv) << c.what;
  }
  std::ofstream(out / "state.json") << good.dump();
  EXPECT_EQ(run(kBase + " --methods random --resume --out " + out.string()).code, 0);
  EXPECT_EQ(read_file(out / "results.csv"), csv);
}

// --resume continues with the run's own configuration: an option that disagrees with it is
// refused (not silently ignored); --data-dir may point at moved data, whose fingerprints must
// be the run's.
TEST_F(Run, ResumeRefusesConflictingOptionsAndFollowsMovedData) {
  fs::path out = dir_ / "c";
  ASSERT_EQ(run(kBase + " --methods random --out " + out.string()).code, 0);
  const std::string csv = read_file(out / "results.csv");
  Result r = run(kBase + " --methods random --epochs 3 --resume --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--epochs asks for target/epochs = 3, but the run in " + out.string() +
                          " has 1"),
            std::string::npos)
      << r.output;
  r = run("run --resume --methods sraal --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--methods asks for methods = [\"sraal\"]"), std::string::npos)
      << r.output;
  // Options that agree, or none at all, resume.
  EXPECT_EQ(run("run --resume --out " + out.string()).code, 0);
  EXPECT_EQ(run("run --resume --seed 3 --pool-size 300 --out " + out.string()).code, 0);
  EXPECT_EQ(read_file(out / "results.csv"), csv);

  // A run on an on-disk dataset (an image folder), then the folder moves.
  fs::path data = dir_ / "imgs", moved = dir_ / "imgs_moved";
  for (int c = 0; c < 2; ++c)
    for (int k = 0; k < 10; ++k) {
      std::vector<uint8_t> px(12 * 12 * 3, uint8_t(40 * c + 3 * k));
      fs::create_directories(data / std::to_string(c));
      ASSERT_TRUE(stbi_write_png((data / std::to_string(c) / (std::to_string(k) + ".png")).c_str(),
                                 12, 12, 3, px.data(), 36));
    }
  fs::path out2 = dir_ / "m";
  const std::string folder =
      "run --dataset image-folder --methods random --epochs 1 --width 0.0625 "
      "--pool-size 0 --test-size 0 --fractions 0.25,0.25,0.5 --out " +
      out2.string();
  ASSERT_EQ((r = run(folder + " --data-dir " + data.string())).code, 0) << r.output;
  const std::string csv2 = read_file(out2 / "results.csv");
  fs::rename(data, moved);
  r = run("run --resume --out " + out2.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find(data.string()), std::string::npos) << r.output;
  ASSERT_EQ((r = run("run --resume --data-dir " + moved.string() + " --out " + out2.string())).code,
            0)
      << r.output;
  EXPECT_EQ(read_file(out2 / "results.csv"), csv2);
  // The new place is remembered, and a changed image there is noticed.
  EXPECT_EQ(run("run --resume --out " + out2.string()).code, 0);
  std::vector<uint8_t> px(12 * 12 * 3, 255);
  ASSERT_TRUE(stbi_write_png((moved / "1" / "3.png").c_str(), 12, 12, 3, px.data(), 36));
  r = run("run --resume --out " + out2.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("the dataset differs from the one the run started with"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(out2 / "results.csv"), csv2);
}

// Links planted in the output directory are replaced, never written through.
TEST_F(Run, WritesNeverFollowSymlinksOutOfTheOutputDirectory) {
  fs::path out = dir_ / "s", victim = dir_ / "victim.txt", victim_dir = dir_ / "victim_dir";
  fs::create_directories(out);
  fs::create_directories(victim_dir);
  std::ofstream(victim) << "keep me\n";
  std::ofstream(victim_dir / "file") << "keep me too\n";
  fs::create_symlink(victim, out / "results.csv.tmp");
  fs::create_symlink(victim, out / "plot.svg.tmp");
  fs::create_symlink(victim, out / "summary.md");
  Result r = run(kBase + " --methods random --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(victim), "keep me\n");
  EXPECT_FALSE(fs::is_symlink(out / "summary.md"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(out / "results.csv.tmp")));

  // A symlinked selected/ is removed (not followed) by --force, refused by --resume.
  fs::remove_all(out / "selected");
  fs::create_directory_symlink(victim_dir, out / "selected");
  r = run(kBase + " --methods random --resume --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("selected: a symbolic link"), std::string::npos) << r.output;
  ASSERT_EQ(run(kBase + " --methods random --force --out " + out.string()).code, 0);
  EXPECT_FALSE(fs::is_symlink(out / "selected"));
  EXPECT_EQ(read_file(victim_dir / "file"), "keep me too\n");
  EXPECT_FALSE(fs::exists(victim_dir / "random"));

  // run.log is appended to, never through a link (a fresh run removes the link itself).
  fs::remove(out / "run.log");
  fs::create_symlink(victim, out / "run.log");
  r = run(kBase + " --methods random --resume --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find((out / "run.log").string()), std::string::npos) << r.output;
  EXPECT_EQ(read_file(victim), "keep me\n");
  ASSERT_EQ(run(kBase + " --methods random --force --out " + out.string()).code, 0);
  EXPECT_FALSE(fs::is_symlink(out / "run.log"));
  EXPECT_EQ(read_file(victim), "keep me\n");
}

// Two runs into one directory: the second is refused at once, naming the holder.
TEST_F(Run, SecondRunIntoALockedDirectoryIsRefused) {
  fs::path out = dir_ / "l";
  fs::create_directories(out);
  Result r;
  {
    DirectoryLock held(out.string());
    r = run(kBase + " --methods random --out " + out.string());
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("in use by another sraal run (pid " + std::to_string(::getpid())),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(out / "results.csv"));
  }
  EXPECT_EQ(run(kBase + " --methods random --out " + out.string()).code, 0);  // released
}

}  // namespace
}  // namespace sr
