// The embedded segmentation set (data/fashion_seg.h): the documented recipe recomputed by hand
// for an item, label maps that agree with the pixels, train/test made from their own sources,
// bad options, and the whole set from the Debian Fashion-MNIST pinned by its fingerprints.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "data/dataset.h"
#include "data/fashion_seg.h"
#include "data/resize.h"
#include "data/summary.h"
#include "engine/error.h"
#include "engine/random.h"

namespace sr {
namespace {

DatasetSplits sources() {
  return make_synthetic(64, 32, 1, 28, 28, 10, 3);
}

ComposedSegOptions small() {
  ComposedSegOptions o;
  o.train_size = 20, o.test_size = 8;
  return o;
}

// Item i of the train split, composed again from the recipe in fashion_seg.h.
void recompose(const Dataset& src, const ComposedSegOptions& o, int64_t i,
               std::vector<uint8_t>& canvas, std::vector<uint8_t>& map) {
  const int64_t side = o.canvas;
  canvas.assign(size_t(side * side), 0);
  map.assign(size_t(side * side), 0);
  Generator g(derive_seed(derive_seed(o.seed, 1), uint64_t(i)));
  int64_t n = o.min_items + g.randint(o.max_items - o.min_items + 1);
  std::vector<uint8_t> garment(28 * 28);
  for (int64_t k = 0; k < n; ++k) {
    int64_t which = g.randint(src.size());
    int64_t s = o.min_scale + g.randint(o.max_scale - o.min_scale + 1);
    int64_t row = g.randint(side - s + 1), col = g.randint(side - s + 1);
    src.read_pixels(which, garment.data());
    std::vector<uint8_t> scaled(size_t(s * s));
    resize_bilinear(garment.data(), 28, 28, 1, scaled.data(), int(s), int(s));
    for (int64_t y = 0; y < s; ++y)
      for (int64_t x = 0; x < s; ++x) {
        uint8_t v = scaled[size_t(y * s + x)];
        size_t at = size_t((row + y) * side + col + x);
        if (v >= o.foreground) {
          canvas[at] = v;
          map[at] = uint8_t(src.label(which) + 1);
        } else if (v > canvas[at]) {
          canvas[at] = v;
        }
      }
  }
}

TEST(FashionSeg, ItemsFollowTheDocumentedRecipe) {
  DatasetSplits src = sources();
  ComposedSegOptions o = small();
  DatasetSplits d = compose_segmentation(*src.train, *src.test, o, "composed");
  ASSERT_EQ(d.train->size(), 20);
  ASSERT_EQ(d.test->size(), 8);
  const DatasetInfo& info = d.train->info();
  EXPECT_TRUE(info.segmentation);
  EXPECT_EQ(info.num_classes, 11);
  EXPECT_EQ(info.class_names.front(), "background");
  EXPECT_EQ(info.class_names[1], src.train->info().class_names[0]);
  EXPECT_EQ(info.height, 64);
  std::vector<uint8_t> px(64 * 64), map(64 * 64), want_px, want_map;
  for (int64_t i : {0, 7, 19}) {
    SCOPED_TRACE(i);
    d.train->read_pixels(i, px.data());
    d.train->read_label_map(i, map.data());
    recompose(*src.train, o, i, want_px, want_map);
    EXPECT_EQ(px, want_px);
    EXPECT_EQ(map, want_map);
  }
  // The test split is normalised with the training split's statistics.
  EXPECT_EQ(d.test->norm_mean(), d.train->mean());
}

TEST(FashionSeg, LabelsAgreeWithPixelsAndSplitsUseTheirOwnSources) {
  DatasetSplits src = sources();
  ComposedSegOptions o = small();
  DatasetSplits d = compose_segmentation(*src.train, *src.test, o, "composed");
  std::vector<uint8_t> px(64 * 64), map(64 * 64);
  std::set<int> seen;
  for (int64_t i = 0; i < d.train->size(); ++i) {
    d.train->read_pixels(i, px.data());
    d.train->read_label_map(i, map.data());
    for (size_t p = 0; p < px.size(); ++p) {
      ASSERT_LE(map[p], 10);
      if (map[p] != 0) {
        ASSERT_GE(px[p], o.foreground);  // a labeled pixel is a garment's
      }
      seen.insert(map[p]);
    }
  }
  EXPECT_GE(seen.size(), 6u);  // background and several classes over 20 canvases
  // The test canvases come from the test source: composing with another test source changes
  // them and leaves the train canvases alone.
  DatasetSplits other = make_synthetic(64, 32, 1, 28, 28, 10, 4);
  DatasetSplits e = compose_segmentation(*src.train, *other.test, o, "composed");
  EXPECT_EQ(e.train->fingerprint(), d.train->fingerprint());
  EXPECT_NE(e.test->fingerprint(), d.test->fingerprint());
}

TEST(FashionSeg, BadSourcesAndOptionsAreRefused) {
  DatasetSplits src = sources();
  DatasetSplits rgb = make_synthetic(8, 8, 3, 28, 28, 10, 3);
  EXPECT_THROW(compose_segmentation(*rgb.train, *rgb.test, small(), "c"), ValueError);
  ComposedSegOptions o = small();
  o.max_scale = 80;  // larger than the canvas
  EXPECT_THROW(compose_segmentation(*src.train, *src.test, o, "c"), ValueError);
  o = small();
  o.min_items = 3, o.max_items = 2;
  EXPECT_THROW(compose_segmentation(*src.train, *src.test, o, "c"), ValueError);
  DatasetSplits seg = compose_segmentation(*src.train, *src.test, small(), "c");
  EXPECT_THROW(compose_segmentation(*seg.train, *seg.test, small(), "c"), ValueError);
}

// Measured once from dataset-fashion-mnist (Debian) at the defaults; a change means the data,
// the recipe or the resize changed, and docs/SEGMENTATION.md must say so.
constexpr const char* kSegTrainFingerprint = "5dd60f7c2c74e992";
constexpr const char* kSegTestFingerprint = "969c7641eb119a61";

TEST(FashionSeg, DebianPackageComposesThePinnedSet) {
  std::string dir = default_data_dir("fashion-seg");
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << dir << " absent (Debian package dataset-fashion-mnist not installed)";
  DatasetOptions opt;
  opt.name = "fashion-seg";
  DatasetSplits s = load_dataset(opt);
  ASSERT_EQ(s.train->size(), 10000);
  ASSERT_EQ(s.test->size(), 2000);
  SplitSummary tr = summarize(*s.train);
  EXPECT_EQ(tr.fingerprint, kSegTrainFingerprint);
  EXPECT_EQ(s.test->fingerprint(), kSegTestFingerprint);
  EXPECT_EQ(tr.ignored_pixels, 0);
  for (int c = 1; c <= 10; ++c) EXPECT_GT(tr.class_counts[size_t(c)], 400000) << "class " << c;
}

}  // namespace
}  // namespace sr
