// Cityscapes from generated leftImg8bit / gtFine trees: pairing, the labelId -> trainId table,
// bilinear image and nearest-neighbour label resizing on known tiny images, label maps in the
// fingerprint and summary, and every bad-file case.
#include <gtest/gtest.h>

#include <map>

#include "data/cityscapes.h"
#include "data/summary.h"
#include "tests/data_writers.h"

namespace sr {
namespace {

using namespace testing_data;

// 8 x 4 label ids, row-major: road, sidewalk, car, bicycle, unlabeled, ego vehicle, license
// plate area ... chosen to cover mapped and unmapped ids.
const std::vector<uint8_t> kIds = {7,  8,  26, 33, 0,   1,  7,  8,   //
                                   11, 12, 13, 17, 19,  20, 21, 22,  //
                                   23, 24, 25, 26, 27,  28, 31, 32,  //
                                   33, 34, 6,  9,  255, 16, 14, 10};

// R = 20 x column, G = 50, B = 100 + 20 x row.
std::vector<uint8_t> ramp_image() {
  std::vector<uint8_t> v;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 8; ++c) v.insert(v.end(), {uint8_t(20 * c), 50, uint8_t(100 + 20 * r)});
  return v;
}

struct Item {
  std::string image, label;
};

Item write_pair(const std::string& dir, const std::string& split, const std::string& city,
                const std::string& stem) {
  Item it{dir + "/leftImg8bit/" + split + "/" + city + "/" + stem + "_leftImg8bit.png",
          dir + "/gtFine/" + split + "/" + city + "/" + stem + "_gtFine_labelIds.png"};
  write_png(it.image, 8, 4, 3, ramp_image());
  write_png(it.label, 8, 4, 1, kIds);
  // The other gtFine files of the official layout are ignored.
  write_png(dir + "/gtFine/" + split + "/" + city + "/" + stem + "_gtFine_color.png", 8, 4, 3,
            ramp_image());
  return it;
}

// train: bochum (1 item), aachen (1 item); val: frankfurt (1 item).
std::vector<Item> write_tree(const std::string& dir) {
  return {write_pair(dir, "train", "bochum", "bochum_000000_000313"),
          write_pair(dir, "train", "aachen", "aachen_000000_000019"),
          write_pair(dir, "val", "frankfurt", "frankfurt_000000_000294")};
}

DatasetOptions cs_opts(const std::string& dir, int64_t h, int64_t w) {
  DatasetOptions o;
  o.name = "cityscapes", o.dir = dir, o.seg_height = h, o.seg_width = w;
  return o;
}

TEST(Cityscapes, LabelIdsMapToTheNineteenTrainIds) {
  // SPEC §7, written out independently of the loader's table.
  std::map<int, int> want = {{7, 0},   {8, 1},   {11, 2},  {12, 3},  {13, 4},  {17, 5},  {19, 6},
                             {20, 7},  {21, 8},  {22, 9},  {23, 10}, {24, 11}, {25, 12}, {26, 13},
                             {27, 14}, {28, 15}, {31, 16}, {32, 17}, {33, 18}};
  for (int id = -1; id < 256; ++id)
    EXPECT_EQ(cityscapes_train_id(id), want.count(id) ? want[id] : 255) << "labelId " << id;
  EXPECT_EQ(cityscapes_class_names().size(), 19u);
  EXPECT_EQ(cityscapes_class_names()[0], "road");
  EXPECT_EQ(cityscapes_class_names()[6], "traffic light");
  EXPECT_EQ(cityscapes_class_names()[18], "bicycle");
}

TEST(Cityscapes, PairsSplitsAndReadsAtTheOriginalSize) {
  TempDir d;
  std::vector<Item> items = write_tree(d.str());
  DatasetSplits s = load_dataset(cs_opts(d.str(), 4, 8));
  const DatasetInfo& info = s.train->info();
  EXPECT_TRUE(info.segmentation);
  EXPECT_EQ(info.num_classes, 19);
  EXPECT_EQ(info.ignore_index, 255);
  EXPECT_EQ(info.class_names[13], "car");
  ASSERT_EQ(s.train->size(), 2);
  ASSERT_EQ(s.test->size(), 1);  // val
  const auto& tr = static_cast<const CityscapesDataset&>(*s.train);
  EXPECT_EQ(tr.image_path(0), items[1].image);  // aachen sorts before bochum
  EXPECT_EQ(tr.label_path(1), items[0].label);
  EXPECT_EQ(tr.label(0), -1);
  std::vector<uint8_t> px(3 * 32), map(32);
  tr.read_pixels(0, px.data());
  tr.read_label_map(0, map.data());
  std::vector<uint8_t> img = ramp_image();
  for (int k = 0; k < 32; ++k) {
    for (int ch = 0; ch < 3; ++ch) ASSERT_EQ(px[size_t(ch * 32 + k)], img[size_t(k * 3 + ch)]);
    ASSERT_EQ(map[size_t(k)], cityscapes_train_id(kIds[size_t(k)])) << k;
  }
}

TEST(Cityscapes, ImagesResizeBilinearlyAndLabelMapsByNearestNeighbour) {
  TempDir d;
  write_tree(d.str());
  // Halved: label picks rows 1, 3 and columns 1, 3, 5, 7.
  DatasetSplits half = load_dataset(cs_opts(d.str(), 2, 4));
  std::vector<uint8_t> map(8);
  half.train->read_label_map(0, map.data());
  std::vector<uint8_t> want;
  for (int r : {1, 3})
    for (int c : {1, 3, 5, 7}) want.push_back(cityscapes_train_id(kIds[size_t(r * 8 + c)]));
  EXPECT_EQ(map, want);

  // Doubled: the label map repeats each pixel 2 x 2; the image is bilinear with aligned centres:
  // R row 0 20 .. 140 becomes 0 5 15 25 .. 135 140, B column 100 .. 160 becomes
  // 100 105 115 .. 155 160.
  DatasetSplits dbl = load_dataset(cs_opts(d.str(), 8, 16));
  std::vector<uint8_t> big(128), px(3 * 128);
  dbl.train->read_label_map(0, big.data());
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x)
      ASSERT_EQ(big[size_t(y * 16 + x)], cityscapes_train_id(kIds[size_t((y / 2) * 8 + x / 2)]));
  dbl.train->read_pixels(0, px.data());
  auto up = [](int j, int n, int step, int base) {  // enlarged ramp at output j of 2n
    return j == 0 ? base : j == 2 * n - 1 ? base + step * (n - 1) : base + step * j / 2 - step / 4;
  };
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x) {
      ASSERT_EQ(px[size_t(0 * 128 + y * 16 + x)], up(x, 8, 20, 0)) << y << "," << x;
      ASSERT_EQ(px[size_t(1 * 128 + y * 16 + x)], 50);
      ASSERT_EQ(px[size_t(2 * 128 + y * 16 + x)], up(y, 4, 20, 100)) << y << "," << x;
    }
}

TEST(Cityscapes, LabelMapsCountInFingerprintAndSummary) {
  TempDir d;
  std::vector<Item> items = write_tree(d.str());
  DatasetSplits a = load_dataset(cs_opts(d.str(), 4, 8));
  SplitSummary sum = summarize(*a.test);
  EXPECT_EQ(sum.fingerprint, a.test->fingerprint());
  std::vector<int64_t> counts(19, 0);
  int64_t ignored = 0;
  for (uint8_t id : kIds) {
    uint8_t t = cityscapes_train_id(id);
    t == 255 ? ++ignored : ++counts[t];
  }
  EXPECT_EQ(sum.class_counts, counts);
  EXPECT_EQ(sum.ignored_pixels, ignored);

  // Items are read on the fly: the fingerprint follows the files.
  std::string test_before = a.test->fingerprint(), train_before = a.train->fingerprint();
  std::vector<uint8_t> ids = kIds;
  ids[0] = 8;  // one label pixel changes, no image pixel does
  write_png(items[2].label, 8, 4, 1, ids);
  EXPECT_NE(a.test->fingerprint(), test_before);
  EXPECT_EQ(a.train->fingerprint(), train_before);
}

TEST(Cityscapes, EveryBadFileIsAnIOErrorNamingIt) {
  TempDir d;
  auto load = [&](const std::string& dir) { return load_dataset(cs_opts(dir, 4, 8)); };
  std::string missing = d / "none";
  expect_io_error([&] { load(missing); }, missing, "data directory not found");

  std::string dir = d / "nolabel";
  std::vector<Item> it = write_tree(dir);
  fs::remove(it[1].label);
  expect_io_error([&] { load(dir); }, it[1].label, "file not found");

  dir = d / "rgblabel";
  it = write_tree(dir);
  write_png(it[0].label, 8, 4, 3, ramp_image());
  expect_io_error([&] { load(dir); }, it[0].label, "wrong channel count");

  dir = d / "label16";
  it = write_tree(dir);
  write_png16_gray(it[2].label, 8, 4);
  expect_io_error([&] { load(dir); }, it[2].label, "wrong bit depth");

  dir = d / "sizes";
  it = write_tree(dir);
  write_png(it[2].image, 6, 4, 3, solid(6, 4, {1, 2, 3}));
  expect_io_error([&] { load(dir); }, it[2].label, "size mismatch");

  dir = d / "garbage";
  it = write_tree(dir);
  write_bytes(it[0].image, {'G', 'I', 'F', '8'});
  expect_io_error([&] { load(dir); }, it[0].image, "undecodable image");

  dir = d / "noval";
  it = write_tree(dir);
  fs::remove(it[2].image);  // leftImg8bit/val/frankfurt exists but holds no image
  expect_io_error([&] { load(dir); }, dir + "/leftImg8bit/val", "split would be empty");

  dir = d / "nogtval";
  it = write_tree(dir);
  fs::remove_all(dir + "/gtFine/val");
  expect_io_error([&] { load(dir); }, dir + "/gtFine/val", "directory not found");
}

}  // namespace
}  // namespace sr
