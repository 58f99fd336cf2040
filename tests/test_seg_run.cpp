// `sraal run --task segmentation` end to end on the tiny synthetic-seg pool: every segmentation
// method through the loop, mIoU in results.csv, per-class IoU in class_iou.csv, summary and plot
// labelled mIoU, the task checked against the dataset and the methods, and a segmentation run
// killed at any moment and resumed reproducing the uninterrupted run.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/run_sraal.h"

namespace sr {
namespace {

namespace fs = std::filesystem;
using Result = test::CommandResult;
const auto& run = test::run_sraal;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(p));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

// The CSV without the timing columns (which differ between runs).
std::string without_timings(const fs::path& p) {
  std::string out;
  for (const auto& r : read_csv(p))
    out += fmt::format("{}\n", fmt::join(r.begin(), r.begin() + 7, ","));
  return out;
}

class SegRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sraal_segrun_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// synthetic-seg: 512 training canvases of 32 x 32, 11 classes; DRN-D-22 at width 1/16.
const std::string kBase =
    "--deterministic run --task segmentation --dataset synthetic-seg --pool-size 120 "
    "--test-size 32 --epochs 1 --width 0.0625 --iterations 3 --fractions 0.1,0.1,0.3 --seed 4";

TEST_F(SegRun, EveryMethodRunsAndWritesMiouAndClassIou) {
  fs::path out = dir_ / "all";
  Result r = run(kBase +
                 " --methods random,entropy,coreset,mc-dropout,qbc,sa,vaal,sraal"
                 " --method-option mc-dropout.passes=3 --method-option qbc.members=2"
                 " --method-option sa.members=2 --out " +
                 out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  auto rows = read_csv(out / "results.csv");
  ASSERT_EQ(rows.size(), 1u + 8 * 3);
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][5], "miou") << i;
    double v = std::stod(rows[i][6]);
    EXPECT_TRUE(v >= 0 && v <= 1) << v;
  }
  auto iou = read_csv(out / "class_iou.csv");
  ASSERT_EQ(iou.size(), 1u + 8 * 3 * 11);
  EXPECT_EQ(fmt::format("{}", fmt::join(iou[0], ",")),
            "method,trial,cycle,labeled,labeled_fraction,class,name,iou");
  EXPECT_EQ(iou[1][6], "background");
  // mIoU is the mean of the defined class IoUs of its row (empty: absent from truth and
  // predictions).
  for (size_t row = 1; row < rows.size(); ++row) {
    double sum = 0;
    int n = 0;
    for (size_t k = 0; k < 11; ++k) {
      const auto& c = iou[1 + (row - 1) * 11 + k];
      ASSERT_EQ(c[0], rows[row][0]);
      ASSERT_EQ(c[2], rows[row][2]);
      if (!c[7].empty()) sum += std::stod(c[7]), ++n;
    }
    EXPECT_NEAR(sum / n, std::stod(rows[row][6]), 1e-5) << row;
  }
  EXPECT_NE(read_file(out / "summary.md").find("mIoU"), std::string::npos);
  EXPECT_NE(read_file(out / "plot.svg").find("test mIoU"), std::string::npos);
  auto manifest = nlohmann::json::parse(read_file(out / "manifest.json"));
  EXPECT_EQ(manifest["task"], "segmentation");
  EXPECT_EQ(manifest["config"]["target"]["arch"], "drn-d-22");
  EXPECT_EQ(manifest["config"]["preset"], "seg-quick");  // --task segmentation maps quick
  for (const char* m : {"sa", "qbc", "sraal"}) {
    std::set<std::string> seen;
    for (int c = 0; c < 3; ++c) {
      std::istringstream in(
          read_file(out / "selected" / m / "trial1" / ("cycle" + std::to_string(c) + ".txt")));
      int count = 0;
      for (std::string l; std::getline(in, l); ++count) EXPECT_TRUE(seen.insert(l).second) << l;
      EXPECT_EQ(count, 12) << m << " cycle " << c;
    }
  }
}

TEST_F(SegRun, TaskMustMatchTheDatasetAndTheMethods) {
  struct Case {
    std::string args, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"--methods badge,random", "method 'badge' serves classification only"},
           {"--methods random --dataset synthetic", "synthetic is a classification dataset"},
           {"--methods random --preset seg-cpu --task classification",
            "preset seg-cpu is a segmentation preset"},
           {"--methods random --preset baselines",
            "preset 'baselines' has no segmentation form"}}) {
    fs::path o = dir_ / "bad";
    Result r = run(kBase + " " + c.args + " --out " + o.string());
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << ": " << r.output;
    EXPECT_FALSE(fs::exists(o / "results.csv")) << c.args;
  }
  // A classification run refuses a segmentation dataset and segmentation-only methods.
  Result r = run("run --dataset synthetic-seg --methods random --out " + (dir_ / "c").string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("use --task segmentation"), std::string::npos) << r.output;
  r = run("run --dataset synthetic --methods qbc --out " + (dir_ / "d").string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("method 'qbc' serves segmentation only"), std::string::npos) << r.output;
}

TEST_F(SegRun, KilledAndResumedEqualsUninterrupted) {
  const std::string args = kBase + " --methods sraal,qbc --method-option qbc.members=2";
  fs::path ref = dir_ / "ref";
  ASSERT_EQ(run(args + " --out " + ref.string()).code, 0);
  for (int fault : {5, 23, 61}) {
    fs::path out = dir_ / fmt::format("k{}", fault);
    Result killed = run(args + " --fault-at " + std::to_string(fault) + " --out " + out.string());
    ASSERT_EQ(killed.code, 128 + 9) << "fault " << fault << ": " << killed.output;
    Result resumed = run(args + " --resume --out " + out.string());
    ASSERT_EQ(resumed.code, 0) << "fault " << fault << ": " << resumed.output;
    EXPECT_EQ(without_timings(out / "results.csv"), without_timings(ref / "results.csv"))
        << "fault " << fault;
    EXPECT_EQ(read_file(out / "class_iou.csv"), read_file(ref / "class_iou.csv"))
        << "fault " << fault;
    for (const char* m : {"sraal", "qbc"})
      for (int c = 0; c < 3; ++c) {
        fs::path f = fs::path("selected") / m / "trial1" / ("cycle" + std::to_string(c) + ".txt");
        EXPECT_EQ(read_file(out / f), read_file(ref / f)) << "fault " << fault << " " << f;
      }
  }
}

}  // namespace
}  // namespace sr
