// The `sraal` command line end to end: train -> predict round trip on the synthetic dataset,
// and one clear error with a non-zero exit for each kind of bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "data/dataset.h"
#include "engine/serialize.h"
#include "tests/data_writers.h"
#include "tests/run_sraal.h"

namespace sr {
namespace {

namespace fs = std::filesystem;

using Result = test::CommandResult;
const auto& run = test::run_sraal;

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
  // The CUDA settings are accepted everywhere and change nothing on the CPU.
  EXPECT_EQ(run("--deterministic --tf32 --cudnn-benchmark info").code, 0);
  // The CPU convolution choice: shown by info, and an unknown one refused by name.
  EXPECT_NE(i.output.find("cpu conv:      auto"), std::string::npos) << i.output;
  Result g = run("--cpu-conv gemm info");
  EXPECT_EQ(g.code, 0);
  EXPECT_NE(g.output.find("cpu conv:      gemm"), std::string::npos) << g.output;
  Result wg = run("--cpu-conv winograd info");
  EXPECT_EQ(wg.code, 0);
  EXPECT_NE(wg.output.find("cpu conv:      winograd"), std::string::npos) << wg.output;
  Result bad = run("--cpu-conv fft info");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("--cpu-conv: fft not in {auto,onednn,gemm,winograd}"),
            std::string::npos)
      << bad.output;
}

TEST_F(Cli, TrainThenPredict) {
  std::string w = path("m.safetensors");
  Result t = run(
      "train --dataset synthetic --width 0.0625 --epochs 1 --subset 256 --batch-size 64 --out " +
      w);
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

// Segmentation: DRN-D-22 trains on a segmentation set, prints per-epoch test mIoU and per-class
// IoU, and its weights predict per-pixel probabilities for any size that is a multiple of 8.
TEST_F(Cli, TrainSegmentationThenPredict) {
  std::string w = path("drn.safetensors");
  Result t =
      run("train --task segmentation --dataset synthetic-seg --width 0.0625 --epochs 2 --subset 64 "
          "--batch-size 16 --out " +
          w);
  ASSERT_EQ(t.code, 0) << t.output;
  for (const char* s : {"drn-d-22 on synthetic-seg", "epoch 2/2", "test mIoU", "pixel accuracy",
                        "class IoU", "background", "lr 0.01 "})
    EXPECT_NE(t.output.find(s), std::string::npos) << s << " in " << t.output;
  SafetensorsFile f = load_safetensors(w);
  EXPECT_EQ(f.tensors.front().first, "base.0.0.weight");
  EXPECT_EQ(f.tensors.back().first, "up.weight");
  std::string in = path("x.npy"), out = path("y.npy");
  save_npy(in, Tensor::zeros({2, 1, 16, 24}));
  Result p = run("predict --probs --weights " + w + " --input " + in + " --output " + out);
  ASSERT_EQ(p.code, 0) << p.output;
  Tensor y = load_npy(out);
  ASSERT_EQ(y.shape(), (Shape{2, 11, 16, 24}));
  std::vector<float> v = y.to_vector();
  double pixel = 0;
  for (int c = 0; c < 11; ++c) pixel += v[size_t(c * 16 * 24 + 5)];
  EXPECT_NEAR(pixel, 1.0, 1e-5);  // per-pixel probabilities
  save_npy(in, Tensor::zeros({1, 1, 20, 24}));
  Result bad = run("predict --weights " + w + " --input " + in + " --output " + out);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("multiples of 8"), std::string::npos) << bad.output;
}

// Each bad input: exit code 1 and one line that names the fault.
void expect_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos)
      << "expected '" << needle << "' in: " << r.output;
}

TEST_F(Cli, BadInputFailsWithOneClearMessage) {
  expect_error(run("train --no-such-option"), "no-such-option");
  expect_error(run("train --dataset imagenet-21k"), "unknown dataset 'imagenet-21k'");
  expect_error(run("train --dataset mnist --data-dir " + path("missing")), path("missing"));
  expect_error(run("train --dataset synthetic --device cuda"), "device cuda is not available");
  expect_error(run("train --dataset synthetic --device tpu"), "unknown device 'tpu'");
  // Checked before training, not after it.
  expect_error(run("train --dataset synthetic --epochs 100000 --out " + path("no/dir/m.st")),
               "directory " + path("no/dir") + " does not exist");
  // A diverged model stops training with one clear line (not NaN weights saved as a result).
  expect_error(run("train --dataset synthetic --width 0.0625 --epochs 3 --subset 64 --lr 1e30 "
                   "--out " +
                   path("diverged.st")),
               "the model diverged");
  EXPECT_FALSE(fs::exists(path("diverged.st")));
  expect_error(run("train --task segmentation --dataset synthetic"),
               "--task segmentation does not fit synthetic, a classification dataset");
  expect_error(run("train --task detection"), "--task must be classification or segmentation");
  expect_error(run("train --dataset synthetic --random-scale 2"),
               "--random-scale applies to segmentation");
  expect_error(run("train --dataset synthetic-seg --model resnet18"),
               "segmentation trains drn-d-22");
  expect_error(run("train --dataset synthetic --epochs 0"),
               "--epochs: must be an integer from 1 to 100000, got '0'");
  expect_error(run("train --dataset synthetic --seed -1"), "--seed: must be an integer from 0");
  expect_error(run("--threads 100000 train --dataset synthetic"),
               "--threads: must be an integer from 0 to");
  for (const char* w : {"inf", "nan", "0", "-1"})
    expect_error(run(std::string("train --dataset synthetic --width ") + w), "--width must be");
  std::string in = path("x.npy");
  save_npy(in, Tensor::zeros({2, 1, 28, 28}));
  expect_error(run("predict --weights " + path("none.safetensors") + " --input " + in +
                   " --output " + path("y.npy")),
               path("none.safetensors"));
  std::string w = path("m.safetensors");
  ASSERT_EQ(run("train --dataset synthetic --width 0.0625 --epochs 1 --subset 64 --out " + w).code,
            0);
  std::string bad = path("bad.npy");
  save_npy(bad, Tensor::zeros({2, 3, 28, 28}));
  expect_error(run("predict --weights " + w + " --input " + bad + " --output " + path("y.npy")),
               "[2, 3, 28, 28]");
  expect_error(
      run("predict --weights " + w + " --input " + in + " --output " + path("no/such/dir/y.npy")),
      path("no/such/dir/y.npy"));
}

TEST_F(Cli, BenchOptionsAreCheckedBeforeAnyWork) {
  expect_error(run("bench --kernels --loader"),
               "--kernels, --loader and --selection exclude each other");
  expect_error(run("bench --cifar-dir " + path("c")),
               "--data-dir and --cifar-dir go with --loader");
  expect_error(run("bench --loader --device cuda"), "bench --loader runs on the CPU");
  expect_error(run("bench --selection --device cuda"), "bench --selection runs on the CPU");
  expect_error(run("bench --selection --pool 5"), "--pool: must be an integer from 100");
  expect_error(run("bench --loader --cifar-dir " + path("missing")), path("missing"));
  expect_error(run("bench --steps resnet50"), "resnet50");
}

// The words after `label` on the output line that starts with it ("" when there is none).
std::vector<std::string> row(const std::string& output, const std::string& label) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(label)) {
      std::istringstream words(line.substr(label.size()));
      std::vector<std::string> v;
      for (std::string w; words >> w;) v.push_back(w);
      return v;
    }
  return {};
}

TEST_F(Cli, DataPrintsSplitsClassesStatsAndFingerprints) {
  Result r = run("data --dataset synthetic");
  ASSERT_EQ(r.code, 0) << r.output;
  DatasetOptions o;
  o.name = "synthetic";
  DatasetSplits d = load_dataset(o);
  EXPECT_EQ(row(r.output, "items"), (std::vector<std::string>{"2048", "512"})) << r.output;
  EXPECT_EQ(row(r.output, "fingerprint"),
            (std::vector<std::string>{d.train->fingerprint(), d.test->fingerprint()}));
  EXPECT_EQ(row(r.output, "image").at(0), "1") << r.output;
  EXPECT_EQ(row(r.output, "mean").size(), 2u) << r.output;  // one channel, two splits
  EXPECT_EQ(row(r.output, "std").size(), 2u) << r.output;
  int64_t nine = 0;
  for (int64_t i = 0; i < d.train->size(); ++i) nine += d.train->label(i) == 9;
  EXPECT_EQ(row(r.output, "9 class9").at(0), std::to_string(nine)) << r.output;
}

TEST_F(Cli, DataOnAGeneratedImageFolderAndCityscapesTree) {
  using testing_data::solid;
  using testing_data::write_png;
  for (int k = 0; k < 4; ++k) {
    write_png(path("imgs/apple/" + std::to_string(k) + ".png"), 6, 5, 3, solid(6, 5, {9, 9, 9}));
    write_png(path("imgs/pear/" + std::to_string(k) + ".png"), 6, 5, 3, solid(6, 5, {1, 2, 3}));
  }
  Result r = run("data --dataset image-folder --data-dir " + path("imgs") + " --image-size 4 " +
                 "--test-fraction 0.25");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3 x 4 x 4"), std::string::npos) << r.output;
  EXPECT_EQ(row(r.output, "items"), (std::vector<std::string>{"6", "2"})) << r.output;
  EXPECT_NE(r.output.find("pear"), std::string::npos) << r.output;

  for (const char* split : {"train", "val"}) {
    std::string stem = std::string(split) + "city_000000_000001";
    write_png(path(std::string("cs/leftImg8bit/") + split + "/c/" + stem + "_leftImg8bit.png"), 4,
              2, 3, solid(4, 2, {10, 20, 30}));
    write_png(path(std::string("cs/gtFine/") + split + "/c/" + stem + "_gtFine_labelIds.png"), 4, 2,
              1, {7, 7, 26, 26, 0, 0, 7, 33});
  }
  r = run("data --dataset cityscapes --data-dir " + path("cs") + " --seg-size 2x4");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("segmentation, 19 classes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("class (pixels)"), std::string::npos) << r.output;
  EXPECT_EQ(row(r.output, " 0 road"), (std::vector<std::string>{"3", "3"})) << r.output;
  EXPECT_EQ(row(r.output, "13 car"), (std::vector<std::string>{"2", "2"})) << r.output;
  EXPECT_EQ(row(r.output, "ignored (255)"), (std::vector<std::string>{"2", "2"})) << r.output;
}

TEST_F(Cli, DataFailsWithOneLineNamingTheFileAndFault) {
  expect_error(run("data --dataset mnist --data-dir " + path("missing")), path("missing"));
  expect_error(run("data --dataset mnist --data-dir " + path("missing")), "not found");
  std::string bin = path("cifar/test_batch.bin");
  testing_data::write_bytes(bin, std::vector<uint8_t>(3073 + 10, 0));
  for (int b = 1; b <= 5; ++b)
    testing_data::write_bytes(path("cifar/data_batch_" + std::to_string(b) + ".bin"),
                              std::vector<uint8_t>(3073, 1));
  Result r = run("data --dataset cifar10 --data-dir " + path("cifar"));
  expect_error(r, bin + ": truncated");
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  expect_error(run("data --dataset cityscapes --data-dir " + path("x") + " --seg-size 12"),
               "--seg-size must be HxW");
  expect_error(run("data --dataset mnist --data-dir " + path("x") + " --coarse-labels"),
               "--coarse-labels applies to cifar100");
  expect_error(run("train --dataset cityscapes --data-dir " + path("missing")), path("missing"));
}

}  // namespace
}  // namespace sr
