// Batch transforms: normalisation, random crop with padding, random scale and horizontal flip;
// the label map of a segmentation item gets exactly the image's crop, scale and flip (padding =
// ignore index); every random choice is a function of (seed, epoch, item).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <tuple>

#include "data/batch.h"
#include "data/dataset.h"

namespace sr {
namespace {

constexpr int64_t kH = 4, kW = 6;

// Segmentation items whose pixel at (y, x) is 10 + y * W + x and whose label is y * W + x, so
// every output position says which source position it shows.
class PositionDataset : public Dataset {
 public:
  explicit PositionDataset(int64_t n) : n_(n) {
    info_.name = "positions";
    info_.channels = 1, info_.height = kH, info_.width = kW;
    info_.num_classes = kH * kW;
    info_.segmentation = true;
  }
  const DatasetInfo& info() const override { return info_; }
  int64_t size() const override { return n_; }
  void read_pixels(int64_t, uint8_t* dst) const override {
    for (int64_t k = 0; k < kH * kW; ++k) dst[k] = uint8_t(10 + k);
  }
  int64_t label(int64_t) const override { return -1; }
  void read_label_map(int64_t, uint8_t* dst) const override {
    for (int64_t k = 0; k < kH * kW; ++k) dst[k] = uint8_t(k);
  }
  const std::vector<float>& mean() const override { return mean_; }
  const std::vector<float>& std() const override { return std_; }

 private:
  int64_t n_;
  DatasetInfo info_;
  std::vector<float> mean_{0.1f}, std_{0.2f};
};

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// The raw pixel behind a normalised value.
int raw(float v) {
  return int(std::lround((v * 0.2f + 0.1f) * 255.f));
}

TEST(BatchTransforms, NormalisesAndKeepsLabelMapsWithoutAugmentation) {
  PositionDataset ds(3);
  Batch b = make_batch(ds, {0, 2}, Augment{}, 1, 0);
  EXPECT_EQ(b.images.shape(), (Shape{2, 1, kH, kW}));
  EXPECT_EQ(b.labels.shape(), (Shape{2, kH, kW}));
  EXPECT_EQ(b.labels.dtype(), DType::i64);
  std::vector<float> x = b.images.to_vector();
  std::vector<int64_t> y = b.labels.to_vector_as<int64_t>();
  for (int64_t k = 0; k < 2 * kH * kW; ++k) {
    EXPECT_NEAR(x[size_t(k)], ((10 + k % (kH * kW)) / 255.f - 0.1f) / 0.2f, 1e-5);
    EXPECT_EQ(y[size_t(k)], k % (kH * kW));
  }
}

TEST(BatchTransforms, CropAndFlipMoveLabelMapWithImage) {
  int64_t n = 64, p = 2;
  PositionDataset ds(n);
  Batch b = make_batch(ds, range(n), Augment{p, true}, 7, 3);
  std::vector<float> x = b.images.to_vector();
  std::vector<int64_t> y = b.labels.to_vector_as<int64_t>();
  std::set<std::tuple<int, int, bool>> seen;
  for (int64_t i = 0; i < n; ++i) {
    // Exactly one (dy, dx, flip) explains the whole item, image and labels alike.
    int matches = 0;
    for (int dy = -int(p); dy <= p; ++dy)
      for (int dx = -int(p); dx <= p; ++dx)
        for (bool flip : {false, true}) {
          bool ok = true;
          for (int64_t r = 0; r < kH && ok; ++r)
            for (int64_t c = 0; c < kW && ok; ++c) {
              int64_t sy = r + dy, sx = (flip ? kW - 1 - c : c) + dx;
              bool inside = sy >= 0 && sy < kH && sx >= 0 && sx < kW;
              size_t k = size_t(i * kH * kW + r * kW + c);
              int want_px = inside ? int(10 + sy * kW + sx) : 0;
              int64_t want_label = inside ? sy * kW + sx : 255;
              ok = raw(x[k]) == want_px && y[k] == want_label;
            }
          if (ok) ++matches, seen.insert({dy, dx, flip});
        }
    EXPECT_EQ(matches, 1) << "item " << i;
  }
  // 64 items draw many of the 50 (dy, dx, flip) choices, flipped and not.
  EXPECT_GT(seen.size(), 20u);
}

TEST(BatchTransforms, RandomChoicesDependOnSeedEpochAndItemOnly) {
  PositionDataset ds(40);
  Augment aug{2, true};
  auto item = [](const Batch& b, int64_t row) {
    std::vector<float> x = b.images.select(row).to_vector();
    std::vector<int64_t> y = b.labels.select(row).contiguous().to_vector_as<int64_t>();
    return std::make_pair(x, y);
  };
  Batch a = make_batch(ds, {3, 1, 2}, aug, 5, 2);
  Batch b = make_batch(ds, {1, 2, 3}, aug, 5, 2);
  EXPECT_EQ(item(a, 0), item(b, 2));  // item 3, wherever it sits in the batch
  EXPECT_EQ(item(a, 1), item(b, 0));  // item 1
  int differ_epoch = 0, differ_seed = 0;
  Batch all = make_batch(ds, range(40), aug, 5, 2);
  Batch next_epoch = make_batch(ds, range(40), aug, 5, 3);
  Batch other_seed = make_batch(ds, range(40), aug, 6, 2);
  for (int64_t i = 0; i < 40; ++i) {
    differ_epoch += item(all, i) != item(next_epoch, i);
    differ_seed += item(all, i) != item(other_seed, i);
  }
  EXPECT_GT(differ_epoch, 20);
  EXPECT_GT(differ_seed, 20);
  EXPECT_EQ(item(all, 3), item(a, 0));
}

// 16 x 16 segmentation items of 4 x 4 blocks: channel 0 is 30 + 60 bx, channel 1 30 + 60 by and
// the label by * 4 + bx, so a pixel's two values say which block it shows.
class BlockDataset : public Dataset {
 public:
  explicit BlockDataset(int64_t n) : n_(n) {
    info_.name = "blocks";
    info_.channels = 2, info_.height = 16, info_.width = 16;
    info_.num_classes = 16;
    info_.segmentation = true;
  }
  const DatasetInfo& info() const override { return info_; }
  int64_t size() const override { return n_; }
  void read_pixels(int64_t, uint8_t* dst) const override {
    for (int64_t k = 0; k < 256; ++k) {
      dst[k] = uint8_t(30 + 60 * ((k % 16) / 4));
      dst[256 + k] = uint8_t(30 + 60 * ((k / 16) / 4));
    }
  }
  int64_t label(int64_t) const override { return -1; }
  void read_label_map(int64_t, uint8_t* dst) const override {
    for (int64_t k = 0; k < 256; ++k) dst[k] = uint8_t(((k / 16) / 4) * 4 + (k % 16) / 4);
  }
  const std::vector<float>& mean() const override { return mean_; }
  const std::vector<float>& std() const override { return std_; }

 private:
  int64_t n_;
  DatasetInfo info_;
  std::vector<float> mean_{0.1f, 0.1f}, std_{0.2f, 0.2f};
};

// Random scale, crop and flip together: the bilinear image sample and the nearest label sample
// come from the same place. A blend only mixes pixels next to the label's source pixel, so each
// channel lies within one block step (60) of the label's block value, and away from block
// borders it equals it; padding and the ignore label coincide.
TEST(BatchTransforms, RandomScaleKeepsLabelMapAlignedWithImage) {
  const int64_t n = 48;
  BlockDataset ds(n);
  Augment aug;
  aug.hflip = true, aug.scale_min = 0.5f, aug.scale_max = 2.f;
  Batch b = make_batch(ds, range(n), aug, 11, 1);
  std::vector<float> x = b.images.to_vector();
  std::vector<int64_t> y = b.labels.to_vector_as<int64_t>();
  int64_t labeled = 0, exact = 0, padded_items = 0, full_items = 0, flipped_items = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t pads = 0;
    for (int64_t k = 0; k < 256; ++k) {
      int c0 = raw(x[size_t(i * 512 + k)]), c1 = raw(x[size_t(i * 512 + 256 + k)]);
      int64_t lab = y[size_t(i * 256 + k)];
      if (lab == 255) {
        ++pads;
        ASSERT_EQ(c0, 0) << "item " << i << " pixel " << k;
        ASSERT_EQ(c1, 0) << "item " << i << " pixel " << k;
        continue;
      }
      ASSERT_TRUE(lab >= 0 && lab < 16);
      int want0 = int(30 + 60 * (lab % 4)), want1 = int(30 + 60 * (lab / 4));
      ASSERT_LE(std::abs(c0 - want0), 60) << "item " << i << " pixel " << k;
      ASSERT_LE(std::abs(c1 - want1), 60) << "item " << i << " pixel " << k;
      ++labeled;
      exact += c0 == want0 && c1 == want1;
    }
    padded_items += pads > 0, full_items += pads == 0;
    // Flipped when the left column shows a block further right than the right column does.
    flipped_items += y[size_t(i * 256 + 8 * 16)] % 4 > y[size_t(i * 256 + 8 * 16 + 15)] % 4;
  }
  EXPECT_GT(double(exact), 0.4 * double(labeled));
  EXPECT_GT(padded_items, 5);  // scaled down (or shifted): padding
  EXPECT_GT(full_items, 5);    // scaled up: the window lies inside
  EXPECT_GT(flipped_items, 5);
  Augment bad;
  bad.scale_min = 2.f, bad.scale_max = 1.f;
  EXPECT_THROW(make_batch(ds, {0}, bad, 0, 0), ValueError);
}

TEST(BatchTransforms, ClassificationFlipMirrorsAndLabelsStayClasses) {
  DatasetSplits d = make_synthetic(32, 4, 1, 8, 8, 4, 2);
  Batch plain = make_batch(*d.train, range(32), Augment{}, 3, 0);
  Batch flipped = make_batch(*d.train, range(32), Augment{0, true}, 3, 0);
  EXPECT_EQ(flipped.labels.shape(), (Shape{32}));
  EXPECT_EQ(flipped.labels.to_vector_as<int64_t>(), plain.labels.to_vector_as<int64_t>());
  std::vector<float> p = plain.images.to_vector(), f = flipped.images.to_vector();
  int mirrored = 0, same = 0;
  for (int64_t i = 0; i < 32; ++i) {
    bool is_same = true, is_mirror = true;
    for (int64_t r = 0; r < 8; ++r)
      for (int64_t c = 0; c < 8; ++c) {
        float v = f[size_t(i * 64 + r * 8 + c)];
        is_same = is_same && v == p[size_t(i * 64 + r * 8 + c)];
        is_mirror = is_mirror && v == p[size_t(i * 64 + r * 8 + 7 - c)];
      }
    EXPECT_TRUE(is_same || is_mirror) << "item " << i;
    mirrored += is_mirror && !is_same, same += is_same;
  }
  EXPECT_GT(mirrored, 5);
  EXPECT_GT(same, 5);
}

}  // namespace
}  // namespace sr

namespace sr {
namespace {

// The test split is normalised with the training split's statistics (SPEC section 6), not its
// own: a batch of test items is (pixel / 255 - train mean) / train std.
TEST(BatchTransforms, TestSplitUsesTheTrainingSplitsStatistics) {
  DatasetSplits d = make_synthetic(64, 16, 2, 6, 6, 4, 9);
  ASSERT_NE(d.test->mean(), d.train->mean());  // the splits' own statistics differ
  EXPECT_EQ(d.test->norm_mean(), d.train->mean());
  EXPECT_EQ(d.test->norm_std(), d.train->std());
  EXPECT_EQ(d.train->norm_mean(), d.train->mean());
  std::vector<float> x = make_batch(*d.test, {3}, Augment{}, 0, 0).images.to_vector();
  std::vector<uint8_t> px(size_t(d.test->item_bytes()));
  d.test->read_pixels(3, px.data());
  for (size_t i = 0; i < px.size(); ++i) {
    size_t c = i / 36;
    double want = (px[i] / 255.0 - d.train->mean()[c]) / d.train->std()[c];
    EXPECT_NEAR(x[i], want, 1e-5) << i;
  }
  EXPECT_THROW(d.test->normalize_with({0.5f}, {0.2f}), ValueError);  // 1 value, 2 channels
}

}  // namespace
}  // namespace sr
