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
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

const std::string kBase =
    "run --dataset synthetic --pool-size 300 --test-size 100 --epochs 1 --iterations 4 "
    "--fractions 0.1,0.1,0.3 --seed 3";
const std::string kTiny = kBase + " --methods sraal,random";

TEST_F(Run, TinyRunWritesEveryOutput) {
  fs::path out = dir_ / "a";
  Result r = run(kTiny + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"results.csv", "summary.md", "plot.svg", "manifest.json", "state.json"})
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
  // Both methods start from the same initial pool.
  EXPECT_EQ(read_indices(out / "selected/sraal/trial1/cycle0.txt"),
            read_indices(out / "selected/random/trial1/cycle0.txt"));
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
                         {"--trials 0", "--trials"}}) {
    fs::path o = dir_ / "bad";
    bool has_methods = c.args.find("--methods") != std::string::npos;
    std::string args = (has_methods ? kBase : kTiny) + " " + c.args;
    if (c.args.find("--out") == std::string::npos) args += " --out " + o.string();
    Result r = run(args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << ": " << r.output;
    EXPECT_FALSE(fs::exists(o / "results.csv")) << c.args;
  }
}

TEST_F(Run, KilledAnywhereAndResumedEqualsUninterrupted) {
  fs::path ref = dir_ / "ref";
  ASSERT_EQ(run(kTiny + " --out " + ref.string()).code, 0);
  std::string expected = results_without_timings(ref);
  // Fault points fall on every optimiser step and between writing and renaming each file: these
  // cover target training, adversarial training and the state writes of several cycles.
  for (int fault : {1, 6, 14, 27, 44}) {
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
