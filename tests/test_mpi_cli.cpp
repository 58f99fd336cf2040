// `mpirun -np 2 sraal ...` end to end (the numerical equivalence of data-parallel training is
// proven in-process by tests/mpi/test_distributed.cpp): a data-parallel `train` prints once and
// writes one weights file; `run --distribute trials|methods` writes exactly the files of the
// one-process run, `--distribute data` follows it, and a distributed run killed and resumed
// (distributed or not) gives the uninterrupted results; a data-parallel `query` writes the
// one-process query's files once, and resumed after training chooses what one process does;
// commands that do not run over several processes yet, and ranks given different command lines,
// fail with one clear message and a non-zero exit instead of hanging.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/distributed.h"
#include "engine/serialize.h"
#include "tests/data_writers.h"
#include "tests/run_sraal.h"

namespace sr {
namespace {

namespace fs = std::filesystem;

class MpiCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!mpi_available()) GTEST_SKIP() << "built without MPI (install libopenmpi-dev)";
    if (test::run_command("command -v mpirun").code != 0) GTEST_SKIP() << "no mpirun on PATH";
    dir_ = fs::temp_directory_path() / ("sraal_mpi_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // `sraal args` as a job of two processes (mpirun --oversubscribe, as root if need be); the
  // timeout turns a hang into a failure with its output.
  test::CommandResult mpi(const std::string& args) const {
    return test::run_command(std::string("timeout 120 ") + SR_MPI_RUNNER + " 2 " + SR_SRAAL_BIN +
                             " " + args);
  }
  fs::path dir_;
};

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST_F(MpiCli, DataParallelTrainPrintsOnceAndSavesOnce) {
  std::string w = path("m.safetensors");
  test::CommandResult r = mpi(
      "train --dataset synthetic --width 0.0625 --epochs 1 --subset 128 --batch-size 32 --sync-bn "
      "--out " +
      w);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output,
                  "data-parallel over 2 processes (16 items a batch each), batch norm "
                  "synchronised"),
            1u)
      << r.output;
  EXPECT_EQ(count(r.output, "epoch 1/1"), 1u) << r.output;
  EXPECT_EQ(count(r.output, "test accuracy"), 1u) << r.output;
  SafetensorsFile f = load_safetensors(w);
  EXPECT_FALSE(f.tensors.empty());
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST_F(MpiCli, CommandsNotYetDistributedAreRefusedByName) {
  test::CommandResult r = mpi("info");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("sraal info does not run over several processes yet (mpirun -np 2)"),
            std::string::npos)
      << r.output;
  test::CommandResult u =
      mpi("run --dataset synthetic --distribute trials --ranks-per-unit 3 --out " + path("run"));
  EXPECT_NE(u.code, 0);
  EXPECT_NE(u.output.find("--ranks-per-unit 3 does not divide the job's 2 processes"),
            std::string::npos)
      << u.output;
  test::CommandResult d = mpi("run --dataset synthetic --device cuda --out " + path("run"));
  EXPECT_NE(d.code, 0);
  // A CUDA build refuses NCCL's absence, a CPU build the device itself.
  EXPECT_TRUE(d.output.find("over 2 processes needs NCCL") != std::string::npos ||
              d.output.find("device cuda is not available") != std::string::npos)
      << d.output;
  EXPECT_FALSE(fs::exists(path("run/results.csv")));
  EXPECT_FALSE(fs::exists(path("q")));
  test::CommandResult c = mpi("train --dataset synthetic --device cuda --out " + path("m"));
  EXPECT_NE(c.code, 0);
  EXPECT_NE(c.output.find("error"), std::string::npos) << c.output;
}

TEST_F(MpiCli, RanksWithDifferentCommandLinesStopTogether) {
  // Open MPI's MPMD form: rank 0 and rank 1 run different command lines.
  std::string common = "train --dataset synthetic --width 0.0625 --epochs 1 --subset 64 --out " +
                       path("m.safetensors");
  std::string runner = SR_MPI_RUNNER;
  test::CommandResult r =
      test::run_command("timeout 120 " + runner + " 1 " + SR_SRAAL_BIN + " " + common +
                        " --lr 0.1 : -np 1 " + SR_SRAAL_BIN + " " + common + " --lr 0.2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.code, 124) << "the job hung: " << r.output;
  EXPECT_NE(r.output.find("the command line differs across the job's processes: rank(s) 1 "
                          "differ from rank 0"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Lines of a file without the columns from `from_column` on (0-based; timings), or without the
// lines holding `drop` (metrics.csv's images_per_s rows).
std::string lines_of(const fs::path& p, int from_column, const std::string& drop = "") {
  std::istringstream in(read_file(p));
  std::string line, out;
  while (std::getline(in, line)) {
    if (!drop.empty() && line.find(drop) != std::string::npos) continue;
    int commas = 0;
    size_t cut = line.size();
    for (size_t i = 0; i < line.size() && from_column > 0; ++i)
      if (line[i] == ',' && ++commas == from_column) {
        cut = i;
        break;
      }
    out += line.substr(0, cut) + "\n";
  }
  return out;
}

// Every file under dir/selected, by relative path.
std::map<std::string, std::string> selections(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (auto& e : fs::recursive_directory_iterator(dir / "selected"))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_file(e.path());
  return files;
}

std::set<int64_t> indices(const std::string& text) {
  std::set<int64_t> v;
  std::istringstream in(text);
  for (int64_t x; in >> x;) v.insert(x);
  return v;
}

// Class folders for `sraal query`: labeled/{dark,bright}/k.png (6 each) and 14 unlabeled images.
void write_query_folders(const fs::path& dir) {
  auto image = [](int base, int k) {
    std::vector<uint8_t> px(32 * 32 * 3);
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(base + (i * 7 + size_t(k) * 13) % 40);
    return px;
  };
  for (int k = 0; k < 6; ++k) {
    testing_data::write_png((dir / "labeled/dark" / fmt::format("{}.png", k)).string(), 32, 32, 3,
                            image(10, k));
    testing_data::write_png((dir / "labeled/bright" / fmt::format("{}.png", k)).string(), 32, 32, 3,
                            image(200, k));
  }
  for (int k = 0; k < 14; ++k)
    testing_data::write_png((dir / "unlabeled" / fmt::format("u{}.png", k)).string(), 32, 32, 3,
                            image(k % 2 ? 200 : 10, k + 10));
}

// to_label.csv's rows as (rank,path) and the scores.
std::pair<std::vector<std::string>, std::vector<double>> chosen_rows(const fs::path& csv) {
  std::istringstream in(read_file(csv));
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::string> rows;
  std::vector<double> scores;
  while (std::getline(in, line)) {
    const size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
    rows.push_back(line.substr(0, b));
    scores.push_back(std::stod(line.substr(b + 1, c - b - 1)));
  }
  return {rows, scores};
}

std::set<std::string> file_names(const fs::path& dir) {
  std::set<std::string> names;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) names.insert(fs::relative(e.path(), dir).string());
  return names;
}

// `mpirun -np 2 sraal query`: the target trains data-parallel (here with --sync-bn) and the
// images are scored in shares; rank 0 alone prints and writes, the same files as the one-process
// query. Resumed after training (rank 0 reads the checkpoint and sends its weights), two processes
// choose exactly the one-process images from the same target, in the same order (one thread each,
// as kRun below; the scores to 1e-5, as the shares' batches differ in size).
TEST_F(MpiCli, DataParallelQueryWritesOnceAndResumesToTheOneProcessChoice) {
  write_query_folders(dir_);
  const std::string args = "--threads 1 query --labeled " + path("labeled") + " --unlabeled " +
                           path("unlabeled") +
                           " --budget 4 --method entropy --epochs 1 --width 0.0625 "
                           "--batch-size 8 --out ";
  test::CommandResult one = test::run_sraal(args + path("one"));
  ASSERT_EQ(one.code, 0) << one.output;
  test::CommandResult two = mpi(args + path("two") + " --sync-bn");
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_EQ(count(two.output, "query: 4 images to label next"), 1u) << two.output;  // rank 0 only
  EXPECT_EQ(count(two.output, "entropy chose 4 images"), 1u) << two.output;
  EXPECT_EQ(file_names(path("two")), file_names(path("one")));
  EXPECT_EQ(chosen_rows(path("two") + "/to_label.csv").first.size(), 4u);

  fs::copy(path("one"), path("resumed"), fs::copy_options::recursive);
  nlohmann::json st = nlohmann::json::parse(read_file(path("resumed") + "/state.json"));
  st["stage"] = "trained";
  std::ofstream(path("resumed") + "/state.json") << st.dump();
  fs::remove(path("resumed") + "/to_label.csv");
  test::CommandResult resumed = mpi("--threads 1 query --resume --out " + path("resumed"));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(
      read_file(path("resumed") + "/run.log").find("the target trained by an earlier process"),
      std::string::npos);
  auto [rows, scores] = chosen_rows(path("resumed") + "/to_label.csv");
  auto [want_rows, want_scores] = chosen_rows(path("one") + "/to_label.csv");
  EXPECT_EQ(rows, want_rows);
  ASSERT_EQ(scores.size(), want_scores.size());
  for (size_t i = 0; i < scores.size(); ++i)
    EXPECT_NEAR(scores[i], want_scores[i], 1e-5 * std::fabs(want_scores[i]) + 1e-9) << i;
}

// The tiny run of tests/test_run.cpp with two trials and one thread per process, so that each
// process of a job computes as the one-process reference does (bitwise).
const std::string kRun =
    "--threads 1 run --dataset synthetic --pool-size 300 --test-size 100 --epochs 1 "
    "--iterations 4 --fractions 0.1,0.1,0.3 --seed 3 --methods sraal,random --trials 2";

class MpiRun : public MpiCli {
 protected:
  void SetUp() override {
    MpiCli::SetUp();
    if (IsSkipped()) return;
    ref_ = dir_ / "ref";
    test::CommandResult r = test::run_sraal(kRun + " --out " + ref_.string());
    ASSERT_EQ(r.code, 0) << r.output;
  }
  // Everything but the timings equals the reference's.
  void expect_reference(const fs::path& out, const std::string& what) const {
    EXPECT_EQ(lines_of(out / "results.csv", 7), lines_of(ref_ / "results.csv", 7)) << what;
    EXPECT_EQ(lines_of(out / "metrics.csv", 0, "images_per_s"),
              lines_of(ref_ / "metrics.csv", 0, "images_per_s"))
        << what;
    EXPECT_EQ(selections(out), selections(ref_)) << what;
    EXPECT_EQ(read_file(out / "summary.md").size() > 0, true) << what;
  }
  fs::path ref_;
};

TEST_F(MpiRun, WholeTrialsOrMethodsPerProcessGiveTheOneProcessFiles) {
  for (const char* mode : {"trials", "methods"}) {
    fs::path out = dir_ / mode;
    test::CommandResult r = mpi(kRun + " --distribute " + mode + " --out " + out.string());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(count(r.output, "2 processes: 2 groups of 1 by "), 1u) << r.output;  // rank 0 only
    EXPECT_EQ(count(r.output, "done: 12 rows"), 1u) << r.output;
    expect_reference(out, mode);
  }
}

// Data-parallel cycles: the first cycle's measurement (same labeled items) agrees to within an
// item of the 100 test items; random selections do not depend on the model and are the same;
// SRAAL's, from adversarial training that differs in summation order (and Adam turns 1e-7
// gradient differences into step-sized ones for near-zero gradients), keeps at least 27 of its
// 30 first picks (measured: all 30, in a slightly different order).
TEST_F(MpiRun, DataParallelCyclesFollowTheOneProcessRun) {
  fs::path out = dir_ / "data";
  test::CommandResult r = mpi(kRun + " --sync-bn --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "2 processes data-parallel (batch norm synchronised)"), 1u) << r.output;
  std::istringstream got(lines_of(out / "results.csv", 7)), want(lines_of(ref_ / "results.csv", 7));
  std::string g, w;
  std::getline(got, g), std::getline(want, w);
  while (std::getline(want, w)) {
    ASSERT_TRUE(std::getline(got, g)) << w;
    EXPECT_EQ(g.substr(0, g.rfind(',')), w.substr(0, w.rfind(',')));  // method .. metric
    if (w.find(",0,30,") != std::string::npos) {                      // cycle 0
      EXPECT_NEAR(std::stod(g.substr(g.rfind(',') + 1)), std::stod(w.substr(w.rfind(',') + 1)),
                  0.01 + 1e-9)
          << w;
    }
  }
  std::map<std::string, std::string> a = selections(out), b = selections(ref_);
  ASSERT_EQ(a.size(), b.size());
  for (int t : {1, 2})
    for (int c : {1, 2}) {
      std::string f = fmt::format("selected/random/trial{}/cycle{}.txt", t, c);
      EXPECT_EQ(a[f], b[f]) << f;
    }
  for (int t : {1, 2}) {
    std::string f = fmt::format("selected/sraal/trial{}/cycle1.txt", t);
    std::set<int64_t> x = indices(a[f]), y = indices(b[f]), both;
    for (int64_t i : x) both.insert(y.count(i) ? i : -1);
    both.erase(-1);
    EXPECT_GE(both.size(), 27u) << f;
  }
}

// Killed (one rank by SIGKILL, mpirun stops the other) and resumed under mpirun or in one
// process: the uninterrupted results. Fault points fall on every optimiser step and file write
// of the rank that counts them; 5 is in the first checkpoints, 40 in trial 1's SRAAL cycles.
TEST_F(MpiRun, KilledDistributedRunResumesUnderAnyProcessCount) {
  for (auto [fault, resume_here] : {std::pair{5, false}, {40, true}}) {
    fs::path out = dir_ / fmt::format("k{}", fault);
    test::CommandResult killed = mpi(kRun + " --distribute trials --fault-at " +
                                     std::to_string(fault) + " --out " + out.string());
    ASSERT_NE(killed.code, 0) << killed.output;
    ASSERT_NE(killed.code, 124) << "hung: " << killed.output;
    test::CommandResult resumed =
        resume_here ? test::run_sraal(kRun + " --resume --out " + out.string())
                    : mpi(kRun + " --distribute trials --resume --out " + out.string());
    ASSERT_EQ(resumed.code, 0) << "fault " << fault << ": " << resumed.output;
    expect_reference(out, fmt::format("fault {}", fault));
  }
}

}  // namespace
}  // namespace sr
