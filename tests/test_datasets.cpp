// The in-memory datasets: IDX (MNIST family, plain and gzip) and CIFAR-10/100 binaries read from
// generated files, every bad-file case, the option checks of load_dataset, fingerprints and
// split summaries, and the whole Debian Fashion-MNIST when it is installed.
#include <gtest/gtest.h>

#include <cmath>

#include "data/cifar.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/summary.h"
#include "tests/data_writers.h"

namespace sr {
namespace {

using namespace testing_data;

uint8_t idx_pixel(int i, int r, int c) {
  return uint8_t((i * 37 + r * 5 + c) & 255);
}

// train: 12 items, t10k: 5 items, 4 x 3 images, labels i % 10.
void write_mnist(const TempDir& d, const std::string& sub, bool gz) {
  auto put = [&](const std::string& name, const std::vector<uint8_t>& b) {
    if (gz) {
      write_gzip(d / (sub + "/" + name + ".gz"), b);
    } else {
      write_bytes(d / (sub + "/" + name), b);
    }
  };
  for (auto [stem, n] : {std::pair{"train", 12}, std::pair{"t10k", 5}}) {
    std::vector<uint8_t> labels;
    for (int i = 0; i < n; ++i) labels.push_back(uint8_t(i % 10));
    put(std::string(stem) + "-images-idx3-ubyte", idx_images(n, 4, 3, idx_pixel));
    put(std::string(stem) + "-labels-idx1-ubyte", idx_labels(labels));
  }
}

DatasetOptions opts(const std::string& name, const std::string& dir) {
  DatasetOptions o;
  o.name = name, o.dir = dir;
  return o;
}

TEST(IdxDataset, PlainAndGzipFilesLoadTheSameItems) {
  TempDir d;
  write_mnist(d, "plain", false);
  write_mnist(d, "gz", true);
  DatasetSplits a = load_dataset(opts("mnist", d / "plain"));
  DatasetSplits b = load_dataset(opts("mnist", d / "gz"));
  for (const DatasetSplits* s : {&a, &b}) {
    ASSERT_EQ(s->train->size(), 12);
    ASSERT_EQ(s->test->size(), 5);
    const DatasetInfo& info = s->train->info();
    EXPECT_EQ(info.channels, 1);
    EXPECT_EQ(info.height, 4);
    EXPECT_EQ(info.width, 3);
    EXPECT_EQ(info.num_classes, 10);
    EXPECT_EQ(info.class_names[7], "7");
    EXPECT_EQ(s->train->label(11), 1);
    std::vector<uint8_t> px(12);
    s->train->read_pixels(9, px.data());
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(px[size_t(r * 3 + c)], idx_pixel(9, r, c));
  }
  EXPECT_EQ(a.train->fingerprint(), b.train->fingerprint());
  EXPECT_EQ(a.test->fingerprint(), b.test->fingerprint());
  EXPECT_NE(a.train->fingerprint(), a.test->fingerprint());
  // Mean and std against a direct computation over the 12 x 12 pixels.
  double s = 0, s2 = 0;
  for (int i = 0; i < 12; ++i)
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 3; ++c) {
        double v = idx_pixel(i, r, c) / 255.0;
        s += v, s2 += v * v;
      }
  double m = s / 144, sd = std::sqrt(s2 / 144 - m * m);
  EXPECT_NEAR(a.train->mean()[0], m, 1e-6);
  EXPECT_NEAR(a.train->std()[0], sd, 1e-6);
}

TEST(IdxDataset, FashionMnistNamesItsClasses) {
  TempDir d;
  write_mnist(d, "fm", true);
  DatasetSplits s = load_dataset(opts("fashion-mnist", d / "fm"));
  EXPECT_EQ(s.train->info().name, "fashion-mnist");
  EXPECT_EQ(s.train->info().class_names[0], "T-shirt/top");
  EXPECT_EQ(s.train->info().class_names[9], "Ankle boot");
}

TEST(IdxDataset, EveryBadFileIsAnIOErrorNamingIt) {
  TempDir d;
  std::string missing = d / "nowhere";
  expect_io_error([&] { load_dataset(opts("mnist", missing)); }, missing,
                  "data directory not found");

  auto fresh = [&](const std::string& sub) {
    write_mnist(d, sub, false);
    return d / sub;
  };
  std::string dir = fresh("nofile");
  fs::remove(dir + "/t10k-labels-idx1-ubyte");
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, dir + "/t10k-labels-idx1-ubyte",
                  "file not found");

  dir = fresh("magic");
  std::string img = dir + "/train-images-idx3-ubyte";
  std::vector<uint8_t> b = read_bytes(img);
  b[3] = 0x01;
  write_bytes(img, b);
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img, "wrong magic number");

  dir = fresh("trunc");
  img = dir + "/train-images-idx3-ubyte";
  b = read_bytes(img);
  b.resize(b.size() - 7);
  write_bytes(img, b);
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img, "truncated");

  dir = fresh("extra");
  img = dir + "/train-images-idx3-ubyte";
  b = read_bytes(img);
  b.push_back(0);
  write_bytes(img, b);
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img, "extra bytes");

  // A gzip file cut in the middle of its compressed stream.
  TempDir g;
  write_mnist(g, "gz", true);
  std::string gz = g / "gz/train-images-idx3-ubyte.gz";
  b = read_bytes(gz);
  b.resize(b.size() / 2);
  write_bytes(gz, b);
  expect_io_error([&] { load_dataset(opts("mnist", g / "gz")); }, gz, "truncated");

  dir = fresh("count");
  std::string lab = dir + "/train-labels-idx1-ubyte";
  write_bytes(lab, idx_labels({0, 1, 2, 3}));  // 4 labels for 12 images
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, lab, "count mismatch");

  dir = fresh("range");
  lab = dir + "/t10k-labels-idx1-ubyte";
  write_bytes(lab, idx_labels({0, 1, 10, 3, 4}));
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, lab, "out of range");

  dir = fresh("empty");
  img = dir + "/t10k-images-idx3-ubyte";
  write_bytes(img, idx_images(0, 4, 3, idx_pixel));
  write_bytes(dir + "/t10k-labels-idx1-ubyte", idx_labels({}));
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img, "no images");

  // Sizes whose product wraps around 2^64 (65536 * 65536 * 65536 * 65536 would be 0): refused
  // from the header, never read out of bounds.
  dir = fresh("overflow");
  img = dir + "/train-images-idx3-ubyte";
  b = read_bytes(img);
  for (int k = 4; k < 16; ++k) b[size_t(k)] = (k % 4 == 0) ? 0x01 : 0x00;  // 2^24 each
  write_bytes(img, b);
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img, "more than");
  b[4] = 0xFF, b[8] = 0xFF, b[12] = 0xFF;  // about 2^32 each: the product is past 2^64
  write_bytes(img, b);
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img, "more than");

  dir = fresh("zero-height");
  img = dir + "/train-images-idx3-ubyte";
  write_bytes(img, idx_images(12, 0, 3, idx_pixel));
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img, "size 0 in dimension 1");

  dir = fresh("shapes");
  img = dir + "/t10k-images-idx3-ubyte";
  write_bytes(img, idx_images(5, 3, 4, idx_pixel));
  expect_io_error([&] { load_dataset(opts("mnist", dir)); }, img,
                  "the test images are 3x4 but the training images 4x3");
}

TEST(InMemoryDatasetChecks, RefusesEmptyItemsAndAWrongPixelCount) {
  auto make = [](int64_t c, int64_t h, int64_t w, size_t bytes, size_t items) {
    DatasetInfo info{"t", c, h, w, 2, {"a", "b"}};
    return InMemoryDataset(info, std::vector<uint8_t>(bytes), std::vector<int64_t>(items, 0));
  };
  EXPECT_NO_THROW(make(1, 2, 3, 12, 2));
  EXPECT_THROW(make(1, 2, 3, 13, 2), ValueError);
  EXPECT_THROW(make(1, 0, 3, 0, 2), ValueError);
  EXPECT_THROW(make(0, 2, 3, 0, 2), ValueError);
  // (2^32)^2 wraps to 0 in 64 bits; it must not match 0 bytes.
  EXPECT_THROW(make(1, int64_t(1) << 32, int64_t(1) << 32, 0, 1), ValueError);
}

// ---- CIFAR ----------------------------------------------------------------------------------

uint8_t cifar_pixel(int item, int ch, int r, int c) {
  return uint8_t((item * 11 + ch * 70 + r * 3 + c) & 255);
}

// cifar-10-batches-bin with `per_batch[k]` records in data_batch_{k+1}, 3 in test_batch; item i
// (over the concatenated batches) has label i % 10.
void write_cifar10(const std::string& dir, std::vector<int> per_batch, bool meta) {
  int item = 0;
  for (int k = 0; k < 5; ++k) {
    std::vector<uint8_t> b;
    for (int j = 0; j < per_batch[size_t(k)]; ++j, ++item)
      cifar_record(b, {uint8_t(item % 10)},
                   [&](int ch, int r, int c) { return cifar_pixel(item, ch, r, c); });
    write_bytes(dir + "/data_batch_" + std::to_string(k + 1) + ".bin", b);
  }
  std::vector<uint8_t> t;
  for (int j = 0; j < 3; ++j)
    cifar_record(t, {uint8_t(9 - j)},
                 [&](int ch, int r, int c) { return cifar_pixel(100 + j, ch, r, c); });
  write_bytes(dir + "/test_batch.bin", t);
  if (meta) {
    std::ofstream f(dir + "/batches.meta.txt");
    for (int k = 0; k < 10; ++k) f << "name" << k << "\n";
    f << "\n";  // the official file ends with a blank line
  }
}

TEST(CifarDataset, Cifar10ReadsEveryBatchInOrder) {
  TempDir d;
  std::string dir = d / "cifar-10-batches-bin";
  write_cifar10(dir, {2, 3, 1, 2, 2}, false);
  // The parent directory works as well as the batches directory itself.
  for (const std::string& where : {d.str(), dir}) {
    DatasetSplits s = load_dataset(opts("cifar10", where));
    ASSERT_EQ(s.train->size(), 10);
    ASSERT_EQ(s.test->size(), 3);
    const DatasetInfo& info = s.train->info();
    EXPECT_EQ(info.channels, 3);
    EXPECT_EQ(info.height, 32);
    EXPECT_EQ(info.num_classes, 10);
    EXPECT_EQ(info.class_names[1], "automobile");
    for (int i = 0; i < 10; ++i) EXPECT_EQ(s.train->label(i), i % 10);
    EXPECT_EQ(s.test->label(2), 7);
    std::vector<uint8_t> px(3 * 32 * 32);
    s.train->read_pixels(6, px.data());  // first record of data_batch_4
    for (int ch = 0; ch < 3; ++ch)
      for (int r = 0; r < 32; r += 7)
        for (int c = 0; c < 32; c += 5)
          ASSERT_EQ(px[size_t((ch * 32 + r) * 32 + c)], cifar_pixel(6, ch, r, c));
  }
  write_cifar10(dir, {2, 3, 1, 2, 2}, true);
  EXPECT_EQ(load_dataset(opts("cifar10", dir)).train->info().class_names[3], "name3");
}

TEST(CifarDataset, MeanAndStdPerChannelOnKnownPixels) {
  TempDir d;
  std::string dir = d / "c";
  // Red 255, green 0, blue alternating 0 / 255: means 1, 0, 0.5; std 0, 0, 0.5.
  for (int k = 1; k <= 5; ++k) {
    std::vector<uint8_t> b;
    cifar_record(b, {0}, [](int ch, int r, int c) {
      return uint8_t(ch == 0 ? 255 : ch == 1 ? 0 : ((r + c) % 2) * 255);
    });
    write_bytes(dir + "/data_batch_" + std::to_string(k) + ".bin", b);
  }
  write_bytes(dir + "/test_batch.bin", read_bytes(dir + "/data_batch_1.bin"));
  DatasetSplits s = load_dataset(opts("cifar10", dir));
  std::vector<float> m = s.train->mean(), sd = s.train->std();
  EXPECT_NEAR(m[0], 1.0, 1e-6);
  EXPECT_NEAR(m[1], 0.0, 1e-6);
  EXPECT_NEAR(m[2], 0.5, 1e-6);
  EXPECT_NEAR(sd[0], 0.0, 1e-5);
  EXPECT_NEAR(sd[2], 0.5, 1e-6);
}

TEST(CifarDataset, Cifar100FineByDefaultCoarseOnRequest) {
  TempDir d;
  std::string dir = d / "cifar-100-binary";
  for (auto [split, n] : {std::pair{"train", 6}, std::pair{"test", 2}}) {
    std::vector<uint8_t> b;
    for (int i = 0; i < n; ++i)
      cifar_record(b, {uint8_t(i % 20), uint8_t(50 + i)},
                   [&](int ch, int r, int c) { return cifar_pixel(i, ch, r, c); });
    write_bytes(dir + "/" + split + ".bin", b);
  }
  DatasetSplits fine = load_dataset(opts("cifar100", d.str()));
  ASSERT_EQ(fine.train->size(), 6);
  ASSERT_EQ(fine.test->size(), 2);
  EXPECT_EQ(fine.train->info().num_classes, 100);
  EXPECT_EQ(fine.train->label(4), 54);
  EXPECT_EQ(fine.train->info().class_names[54], "54");
  std::vector<uint8_t> px(3 * 32 * 32);
  fine.train->read_pixels(3, px.data());
  EXPECT_EQ(px[size_t((2 * 32 + 5) * 32 + 9)], cifar_pixel(3, 2, 5, 9));

  DatasetOptions o = opts("cifar100", dir);
  o.coarse_labels = true;
  DatasetSplits coarse = load_dataset(o);
  EXPECT_EQ(coarse.train->info().num_classes, 20);
  EXPECT_EQ(coarse.train->label(4), 4);
  EXPECT_NE(coarse.train->fingerprint(), fine.train->fingerprint());

  std::ofstream(dir + "/coarse_label_names.txt") << "aquatic_mammals\nfish\nflowers\n";
  expect_io_error([&] { load_dataset(o); }, dir + "/coarse_label_names.txt",
                  "expected 20 class names, found 3");
  {
    std::ofstream f(dir + "/fine_label_names.txt");
    for (int k = 0; k < 100; ++k) f << "fine" << k << "\n";
  }
  EXPECT_EQ(load_dataset(opts("cifar100", dir)).train->info().class_names[54], "fine54");
}

TEST(CifarDataset, EveryBadFileIsAnIOErrorNamingIt) {
  TempDir d;
  std::string missing = d / "none";
  expect_io_error([&] { load_dataset(opts("cifar10", missing)); }, missing,
                  "data directory not found");

  std::string dir = d / "a";
  write_cifar10(dir, {2, 2, 2, 2, 2}, false);
  fs::remove(dir + "/data_batch_3.bin");
  expect_io_error([&] { load_dataset(opts("cifar10", dir)); }, dir + "/data_batch_3.bin",
                  "file not found");

  write_cifar10(dir, {2, 2, 2, 2, 2}, false);
  write_bytes(dir + "/data_batch_2.bin", {});
  expect_io_error([&] { load_dataset(opts("cifar10", dir)); }, dir + "/data_batch_2.bin",
                  "empty file");

  write_cifar10(dir, {2, 2, 2, 2, 2}, false);
  std::vector<uint8_t> b = read_bytes(dir + "/test_batch.bin");
  b.resize(b.size() - 100);
  write_bytes(dir + "/test_batch.bin", b);
  expect_io_error([&] { load_dataset(opts("cifar10", dir)); }, dir + "/test_batch.bin",
                  "truncated");
  expect_io_error([&] { load_dataset(opts("cifar10", dir)); }, dir + "/test_batch.bin",
                  "record 2 is incomplete");

  write_cifar10(dir, {2, 2, 2, 2, 2}, false);
  b = read_bytes(dir + "/data_batch_5.bin");
  b[3073] = 10;  // the label byte of record 1
  write_bytes(dir + "/data_batch_5.bin", b);
  expect_io_error([&] { load_dataset(opts("cifar10", dir)); }, dir + "/data_batch_5.bin",
                  "label 10 of record 1 is out of range [0, 10)");

  write_cifar10(dir, {2, 2, 2, 2, 2}, false);
  std::ofstream(dir + "/batches.meta.txt") << "a\nb\n";
  expect_io_error([&] { load_dataset(opts("cifar10", dir)); }, dir + "/batches.meta.txt",
                  "expected 10 class names, found 2");

  // CIFAR-100: both label bytes are checked, whichever is used.
  std::string c100 = d / "c100";
  for (const char* split : {"train", "test"}) {
    std::vector<uint8_t> r;
    cifar_record(r, {3, 40}, [](int, int, int) { return uint8_t(0); });
    write_bytes(c100 + "/" + split + ".bin", r);
  }
  b = read_bytes(c100 + "/train.bin");
  b[1] = 100;
  write_bytes(c100 + "/train.bin", b);
  expect_io_error([&] { load_dataset(opts("cifar100", c100)); }, c100 + "/train.bin",
                  "fine label 100 of record 0 is out of range [0, 100)");
  b[1] = 5, b[0] = 20;
  write_bytes(c100 + "/train.bin", b);
  expect_io_error([&] { load_dataset(opts("cifar100", c100)); }, c100 + "/train.bin",
                  "coarse label 20 of record 0 is out of range [0, 20)");
}

// ---- the registry ---------------------------------------------------------------------------

TEST(LoadDataset, RejectsUnknownNamesAndOptionsThatDoNotApply) {
  auto value_error = [](DatasetOptions o, const std::string& phrase) {
    try {
      load_dataset(o);
      ADD_FAILURE() << "no ValueError; expected '" << phrase << "'";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
  };
  value_error(opts("imagenet-21k", ""), "unknown dataset 'imagenet-21k'");
  DatasetOptions o = opts("mnist", "/x");
  o.image_size = 32;
  value_error(o, "--image-size applies to caltech101 and image-folder");
  o = opts("cifar10", "/x");
  o.coarse_labels = true;
  value_error(o, "--coarse-labels applies to cifar100");
  o = opts("image-folder", "/x");
  o.channels = 2;
  value_error(o, "--channels must be 1 or 3");
  o = opts("image-folder", "/x");
  o.test_fraction = 0;
  value_error(o, "a split would be empty");
  o.test_fraction = 1;
  value_error(o, "a split would be empty");
  o = opts("cityscapes", "/x");
  o.seg_height = 64;
  value_error(o, "--seg-size must give both");
  o = opts("cifar10", "/x");
  o.test_fraction = 0.5;
  value_error(o, "apply to caltech101 and image-folder");
  value_error(opts("synthetic", "/x"), "takes no --data-dir");
  // No directory for a dataset without a usual place.
  try {
    load_dataset(opts("cifar10", ""));
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("--data-dir"), std::string::npos) << e.what();
  }
}

// ---- fingerprints, scans, summaries ----------------------------------------------------------

TEST(Fingerprint, IsFnv1aOverPixelsAndLittleEndianLabels) {
  DatasetInfo info{"tiny", 1, 1, 2, 3, {"a", "b", "c"}};
  InMemoryDataset ds(info, {7, 200, 0, 255}, {2, 0});
  uint64_t h = 1469598103934665603ull;
  for (uint8_t v :
       std::vector<uint8_t>{7, 200, 2, 0, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0})
    h = (h ^ v) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
  EXPECT_EQ(ds.fingerprint(), hex);
  InMemoryDataset other(info, {7, 200, 0, 255}, {2, 1});
  EXPECT_NE(other.fingerprint(), ds.fingerprint());  // labels count
}

TEST(Fingerprint, StableAcrossLoadsAndSensitiveToContent) {
  DatasetSplits a = make_synthetic(300, 20, 3, 8, 8, 4, 5);
  DatasetSplits b = make_synthetic(300, 20, 3, 8, 8, 4, 5);
  DatasetSplits c = make_synthetic(300, 20, 3, 8, 8, 4, 6);
  EXPECT_EQ(a.train->fingerprint(), b.train->fingerprint());
  EXPECT_NE(a.train->fingerprint(), c.train->fingerprint());
  EXPECT_EQ(a.train->fingerprint().size(), 16u);
}

TEST(Summary, CountsClassesAndMatchesTheFingerprint) {
  DatasetSplits s = make_synthetic(500, 20, 1, 8, 8, 5, 1);
  SplitSummary sum = summarize(*s.train);
  EXPECT_EQ(sum.items, 500);
  std::vector<int64_t> counts(5, 0);
  for (int64_t i = 0; i < 500; ++i) ++counts[size_t(s.train->label(i))];
  EXPECT_EQ(sum.class_counts, counts);
  EXPECT_EQ(sum.fingerprint, s.train->fingerprint());
  EXPECT_EQ(sum.mean, s.train->mean());
}

// A dataset whose item `bad` cannot be read, as an undecodable file would be.
class BrokenItem : public InMemoryDataset {
 public:
  BrokenItem(DatasetInfo info, std::vector<uint8_t> px, std::vector<int64_t> labels, int64_t bad)
      : InMemoryDataset(std::move(info), std::move(px), std::move(labels)), bad_(bad) {}
  void read_pixels(int64_t i, uint8_t* dst) const override {
    if (i == bad_) throw IOError("item " + std::to_string(i) + ": undecodable image");
    InMemoryDataset::read_pixels(i, dst);
  }

 private:
  int64_t bad_;
};

TEST(Scan, ReadErrorsOnWorkerThreadsReachTheCaller) {
  int64_t n = 3000;
  DatasetInfo info{"broken", 1, 16, 16, 2, {"a", "b"}};
  std::vector<int64_t> labels(size_t(n), 0);
  BrokenItem ds(info, std::vector<uint8_t>(size_t(n * 256), 9), labels, 2500);
  EXPECT_THROW(ds.fingerprint(), IOError);
  EXPECT_THROW(summarize(ds), IOError);
}

// ---- the Debian package ---------------------------------------------------------------------

// Measured once from dataset-fashion-mnist (Debian); a change means the data or the reader
// changed.
constexpr const char* kFashionTrainFingerprint = "8606f3bde34f6f1e";
constexpr const char* kFashionTestFingerprint = "1a65170bf76cd49f";

TEST(FashionMnist, DebianPackageReadsWhole) {
  std::string dir = default_data_dir("fashion-mnist");
  if (!fs::is_directory(dir))
    GTEST_SKIP() << dir << " absent (Debian package dataset-fashion-mnist not installed)";
  DatasetSplits s = load_dataset(DatasetOptions{});
  ASSERT_EQ(s.train->size(), 60000);
  ASSERT_EQ(s.test->size(), 10000);
  EXPECT_EQ(s.train->info().height, 28);
  EXPECT_EQ(s.train->info().width, 28);
  SplitSummary tr = summarize(*s.train), te = summarize(*s.test);
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(tr.class_counts[size_t(c)], 6000) << "class " << c;
    EXPECT_EQ(te.class_counts[size_t(c)], 1000) << "class " << c;
  }
  EXPECT_EQ(tr.fingerprint, kFashionTrainFingerprint);
  EXPECT_EQ(te.fingerprint, kFashionTestFingerprint);
  EXPECT_NEAR(s.train->mean()[0], 0.2860, 1e-3);  // the commonly quoted statistics
  EXPECT_NEAR(s.train->std()[0], 0.3530, 1e-3);
}

}  // namespace
}  // namespace sr
