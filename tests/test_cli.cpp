// The `sraal` command line end to end: train -> predict round trip on the synthetic dataset,
// and one clear error with a non-zero exit for each kind of bad input.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "engine/serialize.h"

namespace sr {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string output;  // stdout and stderr
};

Result run(const std::string& args) {
  std::string cmd = std::string(SR_SRAAL_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sraal_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(Cli, VersionAndInfo) {
  Result v = run("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.output.find("sraal 0.1.0"), std::string::npos) << v.output;
  Result i = run("info");
  EXPECT_EQ(i.code, 0);
  EXPECT_NE(i.output.find("oneDNN"), std::string::npos) << i.output;
  EXPECT_NE(i.output.find("CUDA backend"), std::string::npos) << i.output;
}

TEST_F(Cli, TrainThenPredict) {
  std::string w = path("m.safetensors");
  Result t = run("train --dataset synthetic --width 0.0625 --epochs 1 --subset 256 --batch-size 64 --out " + w);
  ASSERT_EQ(t.code, 0) << t.output;
  EXPECT_NE(t.output.find("test accuracy"), std::string::npos) << t.output;
  ASSERT_TRUE(fs::exists(w));
  SafetensorsFile f = load_safetensors(w);
  EXPECT_EQ(f.tensors.front().first, "conv1.weight");
  EXPECT_TRUE(f.metadata.count("sraal.model"));

  std::string in = path("x.npy"), out = path("y.npy");
  save_npy(in, Tensor::zeros({5, 1, 28, 28}));
  Result p = run("predict --probs --weights " + w + " --input " + in + " --output " + out);
  ASSERT_EQ(p.code, 0) << p.output;
  Tensor y = load_npy(out);
  EXPECT_EQ(y.shape(), (Shape{5, 10}));
  std::vector<float> v = y.to_vector();
  double row = 0;
  for (int c = 0; c < 10; ++c) row += v[size_t(c)];
  EXPECT_NEAR(row, 1.0, 1e-5);  // probabilities
}

// Each bad input: exit code 1 and one line that names the fault.
void expect_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.output;
}

TEST_F(Cli, BadInputFailsWithOneClearMessage) {
  expect_error(run("train --no-such-option"), "no-such-option");
  expect_error(run("train --dataset imagenet-21k"), "unknown dataset 'imagenet-21k'");
  expect_error(run("train --dataset mnist --data-dir " + path("missing")), path("missing"));
  expect_error(run("train --dataset synthetic --device cuda"), "device cuda is not available");
  expect_error(run("train --dataset synthetic --device tpu"), "unknown device 'tpu'");
  std::string in = path("x.npy");
  save_npy(in, Tensor::zeros({2, 1, 28, 28}));
  expect_error(run("predict --weights " + path("none.safetensors") + " --input " + in +
                   " --output " + path("y.npy")),
               path("none.safetensors"));
  std::string w = path("m.safetensors");
  ASSERT_EQ(run("train --dataset synthetic --width 0.0625 --epochs 1 --subset 64 --out " + w).code, 0);
  std::string bad = path("bad.npy");
  save_npy(bad, Tensor::zeros({2, 3, 28, 28}));
  expect_error(run("predict --weights " + w + " --input " + bad + " --output " + path("y.npy")),
               "[2, 3, 28, 28]");
  expect_error(run("predict --weights " + w + " --input " + in + " --output " +
                   path("no/such/dir/y.npy")),
               path("no/such/dir/y.npy"));
}

}  // namespace
}  // namespace sr
