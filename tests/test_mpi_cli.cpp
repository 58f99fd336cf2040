// `mpirun -np 2 sraal ...` end to end (the numerical equivalence of data-parallel training is
// proven in-process by tests/mpi/test_distributed.cpp): a data-parallel `train` prints once and
// writes one weights file; commands that do not run over several processes yet, and ranks given
// different command lines, fail with one clear message and a non-zero exit instead of hanging.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/distributed.h"
#include "engine/serialize.h"
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
  test::CommandResult r = mpi("run --preset tiny --out " + path("run"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("sraal run does not run over several processes yet (mpirun -np 2)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(path("run")));
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

}  // namespace
}  // namespace sr
