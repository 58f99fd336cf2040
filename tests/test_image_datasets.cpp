// The on-the-fly image-file datasets from generated PNG/JPEG trees: the image-folder dataset,
// Caltech-101, the stratified split, the resizers, and every bad-image case (undecodable, wrong
// channel count, empty class folder, sizes that differ, a split that would be empty).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "data/batch.h"
#include "data/dataset.h"
#include "data/image_file_dataset.h"
#include "data/resize.h"
#include "data/stratified_split.h"
#include "tests/data_writers.h"

namespace sr {
namespace {

using namespace testing_data;

// ---- resizing -------------------------------------------------------------------------------

TEST(Resize, BilinearAlignsPixelCentres) {
  std::vector<uint8_t> src = {0, 100}, dst(4);
  resize_bilinear(src.data(), 2, 1, 1, dst.data(), 4, 1);
  EXPECT_EQ(dst, (std::vector<uint8_t>{0, 25, 75, 100}));
  // Two channels interleaved, enlarged vertically.
  std::vector<uint8_t> rgb = {0, 200, 100, 0}, out(8);  // 1 x 2 pixels of 2 channels
  resize_bilinear(rgb.data(), 1, 2, 2, out.data(), 1, 4);
  EXPECT_EQ(out, (std::vector<uint8_t>{0, 200, 25, 150, 75, 50, 100, 0}));
  // A constant image stays constant at any scale.
  std::vector<uint8_t> flat(7 * 5 * 3, 123), small(3 * 2 * 3);
  resize_bilinear(flat.data(), 7, 5, 3, small.data(), 3, 2);
  for (uint8_t v : small) EXPECT_EQ(v, 123);
}

TEST(Resize, BilinearShrinkingAveragesInsteadOfSkipping) {
  // Columns 0 0 200 200 halved: each output mixes both halves' neighbourhood (tent of radius 2
  // source pixels), symmetric around the middle; plain 2-tap sampling would give 0 and 200.
  std::vector<uint8_t> src = {0, 0, 200, 200}, dst(2);
  resize_bilinear(src.data(), 4, 1, 1, dst.data(), 2, 1);
  EXPECT_EQ(dst[0], 25);
  EXPECT_EQ(dst[1], 175);
}

TEST(Resize, NearestPicksTheSourcePixelUnderEachCentre) {
  std::vector<uint8_t> src(16);
  for (int k = 0; k < 16; ++k) src[size_t(k)] = uint8_t(k);  // 4 x 4, value = y * 4 + x
  std::vector<uint8_t> dst(4);
  resize_nearest(src.data(), 4, 4, dst.data(), 2, 2);
  EXPECT_EQ(dst, (std::vector<uint8_t>{5, 7, 13, 15}));
  std::vector<uint8_t> up(4 * 6);
  resize_nearest(dst.data(), 2, 2, up.data(), 4, 6);  // 6 rows of 4
  EXPECT_EQ(up, (std::vector<uint8_t>{5,  5,  7,  7,  5,  5,  7,  7,  5,  5,  7,  7,
                                      13, 13, 15, 15, 13, 13, 15, 15, 13, 13, 15, 15}));
}

TEST(Resize, InterleavedToPlanar) {
  std::vector<uint8_t> hwc = {1, 2, 3, 4, 5, 6}, chw(6);  // 2 pixels of RGB
  hwc_to_chw(hwc.data(), 2, 1, 3, chw.data());
  EXPECT_EQ(chw, (std::vector<uint8_t>{1, 4, 2, 5, 3, 6}));
}

// ---- the stratified split -------------------------------------------------------------------

TEST(StratifiedSplit, PerClassCountsDeterminismAndSeeds) {
  std::vector<int64_t> labels;
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < std::vector<int>{5, 2, 10, 3}[size_t(c)]; ++k) labels.push_back(c);
  std::shuffle(labels.begin(), labels.end(), std::mt19937(3));
  SplitIndices s = stratified_split(labels, 4, 0.2, 7);
  std::vector<int> test_count(4, 0), train_count(4, 0);
  for (int64_t i : s.test) ++test_count[size_t(labels[size_t(i)])];
  for (int64_t i : s.train) ++train_count[size_t(labels[size_t(i)])];
  // round(0.2 n), at least 1 and at most n - 1.
  EXPECT_EQ(test_count, (std::vector<int>{1, 1, 2, 1}));
  EXPECT_EQ(train_count, (std::vector<int>{4, 1, 8, 2}));
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  EXPECT_EQ(s.train.size() + s.test.size(), labels.size());
  std::set<int64_t> all(s.train.begin(), s.train.end());
  all.insert(s.test.begin(), s.test.end());
  EXPECT_EQ(all.size(), labels.size());  // a partition

  EXPECT_EQ(stratified_split(labels, 4, 0.2, 7).test, s.test);
  EXPECT_NE(stratified_split(labels, 4, 0.2, 8).test, s.test);
  SplitIndices half = stratified_split(labels, 4, 0.5, 7);
  EXPECT_EQ(half.test.size(), 3u + 1u + 5u + 2u);  // round(1.5) = 2, clamped to n - 1 = 2
  EXPECT_THROW(stratified_split(labels, 4, 0.0, 7), ValueError);
  EXPECT_THROW(stratified_split({0, 0, 1}, 2, 0.5, 7), ValueError);  // class 1 has 1 item
}

// ---- image-folder ---------------------------------------------------------------------------

// root/cat: 5 RGB PNGs (one named .PNG), root/dog: a gray PNG and an RGB one, root/emu: 10 RGB
// PNGs; all 8 wide, 6 high; plus files that are not images. Returns path -> colour.
std::map<std::string, std::vector<uint8_t>> write_folder_tree(const std::string& root) {
  std::map<std::string, std::vector<uint8_t>> colours;
  auto put = [&](const std::string& rel, std::vector<uint8_t> c) {
    std::string p = root + "/" + rel;
    write_png(p, 8, 6, int(c.size()), solid(8, 6, c));
    colours[p] = c.size() == 1 ? std::vector<uint8_t>{c[0], c[0], c[0]} : c;
  };
  for (int k = 0; k < 5; ++k)
    put("cat/c" + std::to_string(k) + (k == 3 ? ".PNG" : ".png"), {uint8_t(10 * k), 20, 30});
  put("dog/d0.png", {77});
  put("dog/d1.png", {200, 100, 0});
  for (int k = 0; k < 10; ++k) put("emu/e" + std::to_string(k) + ".png", {0, uint8_t(9 * k), 250});
  write_bytes(root + "/cat/readme.txt", {'h', 'i'});
  write_bytes(root + "/cat/.hidden.png", {1, 2, 3});
  write_bytes(root + "/.git/config.png", {1, 2, 3});
  return colours;
}

DatasetOptions folder_opts(const std::string& dir) {
  DatasetOptions o;
  o.name = "image-folder", o.dir = dir;
  return o;
}

TEST(ImageFolder, ClassesSplitLabelsAndPixels) {
  TempDir d;
  auto colours = write_folder_tree(d / "root");
  DatasetSplits s = load_dataset(folder_opts(d / "root"));
  const DatasetInfo& info = s.train->info();
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"cat", "dog", "emu"}));
  EXPECT_EQ(info.num_classes, 3);
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.height, 6);
  EXPECT_EQ(info.width, 8);
  EXPECT_EQ(s.train->size(), 4 + 1 + 8);
  EXPECT_EQ(s.test->size(), 1 + 1 + 2);
  std::vector<float> sum(3, 0), sum2(3, 0);
  for (const auto& ds : {s.train, s.test}) {
    const auto& f = static_cast<const ImageFileDataset&>(*ds);
    std::vector<uint8_t> px(3 * 6 * 8);
    for (int64_t i = 0; i < f.size(); ++i) {
      fs::path p(f.path(i));
      EXPECT_EQ(p.parent_path().filename().string(), info.class_names[size_t(f.label(i))]);
      ASSERT_TRUE(colours.count(f.path(i))) << f.path(i);
      const std::vector<uint8_t>& c = colours[f.path(i)];
      f.read_pixels(i, px.data());
      for (int ch = 0; ch < 3; ++ch)
        for (int k = 0; k < 48; ++k) ASSERT_EQ(px[size_t(ch * 48 + k)], c[size_t(ch)]) << f.path(i);
      if (ds == s.train)
        for (int ch = 0; ch < 3; ++ch) {
          float v = c[size_t(ch)] / 255.f;
          sum[size_t(ch)] += v, sum2[size_t(ch)] += v * v;
        }
    }
  }
  // Mean/std of the training split (13 items, all in the sample) against the known colours.
  for (int ch = 0; ch < 3; ++ch) {
    float m = sum[size_t(ch)] / 13, sd = std::sqrt(std::max(sum2[size_t(ch)] / 13 - m * m, 0.f));
    EXPECT_NEAR(s.train->mean()[size_t(ch)], m, 1e-5);
    EXPECT_NEAR(s.train->std()[size_t(ch)], std::max(sd, 1e-6f), 1e-4);
  }
}

std::vector<std::string> test_paths(const DatasetSplits& s) {
  std::vector<std::string> v;
  const auto& f = static_cast<const ImageFileDataset&>(*s.test);
  for (int64_t i = 0; i < f.size(); ++i) v.push_back(f.path(i));
  return v;
}

TEST(ImageFolder, SplitIsDeterministicAndFollowsTheSeedAndFraction) {
  TempDir d;
  write_folder_tree(d / "root");
  DatasetOptions o = folder_opts(d / "root");
  DatasetSplits a = load_dataset(o), b = load_dataset(o);
  EXPECT_EQ(test_paths(a), test_paths(b));
  EXPECT_EQ(a.test->fingerprint(), b.test->fingerprint());
  o.split_seed = 1;
  EXPECT_NE(test_paths(load_dataset(o)), test_paths(a));
  o.test_fraction = 0.5;  // cat 5 -> round(2.5) = 3, dog 2 -> 1, emu 10 -> 5
  EXPECT_EQ(load_dataset(o).test->size(), 3 + 1 + 5);
}

TEST(ImageFolder, ImageSizeResizesAndOneChannelReadsGray) {
  TempDir d;
  auto colours = write_folder_tree(d / "root");
  DatasetOptions o = folder_opts(d / "root");
  o.image_size = 4;
  DatasetSplits s = load_dataset(o);
  EXPECT_EQ(s.train->info().height, 4);
  EXPECT_EQ(s.train->info().width, 4);
  const auto& f = static_cast<const ImageFileDataset&>(*s.train);
  std::vector<uint8_t> px(3 * 16);
  f.read_pixels(0, px.data());
  EXPECT_EQ(px[0], colours[f.path(0)][0]);  // solid colours survive resizing
  EXPECT_EQ(px[47], colours[f.path(0)][2]);

  TempDir g;
  for (int k = 0; k < 3; ++k) {
    write_png(g / ("a/" + std::to_string(k) + ".png"), 5, 5, 1, solid(5, 5, {uint8_t(k)}));
    write_png(g / ("b/" + std::to_string(k) + ".png"), 5, 5, 1, solid(5, 5, {uint8_t(100 + k)}));
  }
  DatasetOptions go = folder_opts(g.str());
  go.channels = 1;
  DatasetSplits gs = load_dataset(go);
  EXPECT_EQ(gs.train->info().channels, 1);
  EXPECT_EQ(gs.train->item_bytes(), 25);
}

TEST(ImageFolder, AnUndecodableFileAtReadTimeIsAnIOErrorNamingIt) {
  TempDir d;
  write_folder_tree(d / "root");
  DatasetSplits s = load_dataset(folder_opts(d / "root"));
  const auto& f = static_cast<const ImageFileDataset&>(*s.train);
  std::string victim = f.path(2);
  std::vector<uint8_t> b = read_bytes(victim);
  b.resize(40);  // the header survives, the pixel data does not
  write_bytes(victim, b);
  std::vector<uint8_t> px(size_t(f.item_bytes()));
  expect_io_error([&] { f.read_pixels(2, px.data()); }, victim, "undecodable image");
  // Also from a batch, whose items are read on several threads.
  std::vector<int64_t> all;
  for (int64_t i = 0; i < f.size(); ++i) all.push_back(i);
  expect_io_error([&] { make_batch(f, all, Augment{}, 0, 0); }, victim, "undecodable image");
}

TEST(ImageFolder, EveryBadTreeIsAnIOErrorNamingThePath) {
  TempDir d;
  auto two = [&](const std::string& dir) {
    for (int k = 0; k < 2; ++k)
      write_png(d / (dir + "/" + std::to_string(k) + ".png"), 4, 4, 3, solid(4, 4, {1, 2, 3}));
  };
  std::string missing = d / "missing";
  expect_io_error([&] { load_dataset(folder_opts(missing)); }, missing, "data directory not found");

  two("empty/a");
  write_bytes(d / "empty/b/notes.txt", {'x'});
  expect_io_error([&] { load_dataset(folder_opts(d / "empty")); }, d / "empty/b",
                  "empty class folder");

  two("single/a");
  write_png(d / "single/b/0.png", 4, 4, 3, solid(4, 4, {1, 2, 3}));
  expect_io_error([&] { load_dataset(folder_opts(d / "single")); }, d / "single/b", "only 1 image");

  two("oneclass/a");
  expect_io_error([&] { load_dataset(folder_opts(d / "oneclass")); }, d / "oneclass",
                  "needs at least 2");

  two("garbage/a");
  two("garbage/b");
  write_bytes(d / "garbage/b/x.png", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  expect_io_error([&] { load_dataset(folder_opts(d / "garbage")); }, d / "garbage/b/x.png",
                  "undecodable image");

  two("trunc/a");
  two("trunc/b");
  std::vector<uint8_t> b = read_bytes(d / "trunc/b/1.png");
  b.resize(40);
  write_bytes(d / "trunc/b/1.png", b);
  expect_io_error([&] { load_dataset(folder_opts(d / "trunc")); }, d / "trunc/b/1.png",
                  "undecodable image");

  two("rgba/a");
  two("rgba/b");
  write_png(d / "rgba/b/2.png", 4, 4, 4, solid(4, 4, {1, 2, 3, 255}));
  expect_io_error([&] { load_dataset(folder_opts(d / "rgba")); }, d / "rgba/b/2.png",
                  "wrong channel count");

  two("rgb_in_gray/a");
  two("rgb_in_gray/b");
  DatasetOptions gray = folder_opts(d / "rgb_in_gray");
  gray.channels = 1;
  expect_io_error([&] { load_dataset(gray); }, d / "rgb_in_gray/a/", "wrong channel count");

  two("sizes/a");
  two("sizes/b");
  write_png(d / "sizes/b/2.png", 5, 4, 3, solid(5, 4, {1, 2, 3}));
  expect_io_error([&] { load_dataset(folder_opts(d / "sizes")); }, d / "sizes/b/2.png",
                  "differs from 4x4");
  DatasetOptions sized = folder_opts(d / "sizes");
  sized.image_size = 4;  // with a target size, mixed sizes are fine
  EXPECT_EQ(load_dataset(sized).train->info().width, 4);
}

// A name that looks like an image on something that is not a regular file is refused, not
// dropped (a silently smaller class would change the split); a link to an image is followed.
TEST(ImageFolder, ImageNamesOnNonRegularFilesAreRefusedNamingThem) {
  TempDir d;
  for (const char* c : {"a", "b"})
    for (int k = 0; k < 2; ++k)
      write_png(d / fmt::format("root/{}/{}.png", c, k), 4, 4, 3, solid(4, 4, {1, 2, 3}));
  fs::create_symlink(d / "root/a/0.png", d / "root/b/linked.png");
  EXPECT_EQ(load_dataset(folder_opts(d / "root")).train->size() +
                load_dataset(folder_opts(d / "root")).test->size(),
            5);

  fs::create_directories(d / "root/b/dir.png");
  expect_io_error([&] { load_dataset(folder_opts(d / "root")); }, d / "root/b/dir.png",
                  "not a regular file");
  fs::remove(d / "root/b/dir.png");

  ASSERT_EQ(::mkfifo((d / "root/a/fifo.jpg").c_str(), 0644), 0);
  expect_io_error([&] { load_dataset(folder_opts(d / "root")); }, d / "root/a/fifo.jpg",
                  "not a regular file");
  fs::remove(d / "root/a/fifo.jpg");

  fs::create_symlink(d / "nowhere.png", d / "root/a/dangling.png");
  expect_io_error([&] { load_dataset(folder_opts(d / "root")); }, d / "root/a/dangling.png",
                  "not a regular file");
}

// ---- Caltech-101 ----------------------------------------------------------------------------

// <dir>/101_ObjectCategories/{BACKGROUND_Google: 3, accordion: 7, airplanes: 4 (one of them
// gray-valued)} JPEGs of assorted sizes.
void write_caltech(const std::string& dir) {
  std::string root = dir + "/101_ObjectCategories";
  for (int k = 0; k < 3; ++k)
    write_jpg(root + "/BACKGROUND_Google/image_000" + std::to_string(k + 1) + ".jpg", 9, 7, 3,
              solid(9, 7, {5, 5, 5}));
  for (int k = 0; k < 7; ++k)
    write_jpg(root + "/accordion/image_000" + std::to_string(k + 1) + ".jpg", 10 + k, 12, 3,
              solid(10 + k, 12, {200, 40, 40}));
  for (int k = 0; k < 4; ++k) {
    std::string p = root + "/airplanes/image_000" + std::to_string(k + 1) + ".jpg";
    if (k == 2) {
      write_jpg(p, 16, 8, 1, solid(16, 8, {90}));
    } else {
      write_jpg(p, 16, 8, 3, solid(16, 8, {30, 60, 220}));
    }
  }
}

DatasetOptions caltech_opts(const std::string& dir) {
  DatasetOptions o;
  o.name = "caltech101", o.dir = dir;
  return o;
}

TEST(Caltech101, ExcludesBackgroundResizesTo220AndSplitsPerClass) {
  TempDir d;
  write_caltech(d.str());
  DatasetSplits s = load_dataset(caltech_opts(d.str()));
  const DatasetInfo& info = s.train->info();
  EXPECT_EQ(info.name, "caltech101");
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"accordion", "airplanes"}));
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.height, 220);
  EXPECT_EQ(info.width, 220);
  // 0.2 x 7 -> 1 test, 0.2 x 4 -> round(0.8) = 1 test.
  EXPECT_EQ(s.train->size(), 6 + 3);
  EXPECT_EQ(s.test->size(), 1 + 1);
  bool background = false;
  for (const auto& notes : s.notes)
    background = background || notes.find("BACKGROUND_Google") != std::string::npos;
  EXPECT_TRUE(background);

  DatasetOptions o = caltech_opts(d / "101_ObjectCategories/");  // the category folder itself
  o.image_size = 12;
  o.test_fraction = 0.3;  // 7 -> round(2.1) = 2, 4 -> round(1.2) = 1
  DatasetSplits t = load_dataset(o);
  EXPECT_EQ(t.test->size(), 3);
  EXPECT_EQ(t.train->size(), 8);
  EXPECT_EQ(test_paths(t), test_paths(load_dataset(o)));
  const auto& f = static_cast<const ImageFileDataset&>(*t.train);
  std::vector<uint8_t> px(3 * 144);
  int gray_seen = 0;
  for (int64_t i = 0; i < f.size(); ++i) {
    f.read_pixels(i, px.data());
    std::vector<int> want = f.label(i) == 0                         ? std::vector<int>{200, 40, 40}
                            : f.path(i).ends_with("image_0003.jpg") ? std::vector<int>{90, 90, 90}
                                                                    : std::vector<int>{30, 60, 220};
    gray_seen += f.path(i).ends_with("airplanes/image_0003.jpg");
    for (int ch = 0; ch < 3; ++ch)
      for (int k = 0; k < 144; k += 13)
        EXPECT_NEAR(px[size_t(ch * 144 + k)], want[size_t(ch)], 4) << f.path(i);  // JPEG error
  }
  int gray_in_test = 0;
  for (const auto& p : test_paths(t)) gray_in_test += p.ends_with("airplanes/image_0003.jpg");
  EXPECT_EQ(gray_seen + gray_in_test, 1);
}

TEST(Caltech101, MissingCategoryFolderIsAnIOErrorNamingIt) {
  TempDir d;
  expect_io_error([&] { load_dataset(caltech_opts(d.str())); }, d / "101_ObjectCategories",
                  "data directory not found");
}

}  // namespace
}  // namespace sr
