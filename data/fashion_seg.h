// fashion-seg: the embedded semantic-segmentation set, composed deterministically from the real
// Fashion-MNIST images that setup installs, so a segmentation run needs no download.
//
// Each item is a canvas x canvas gray image (64 x 64 by default) holding 2 to 4 garments. For
// item i of a split, a generator seeded by (seed, split, i) draws, in this order: the number of
// garments n uniform in [min_items, max_items]; then per garment the source image (uniform over
// the source split, with replacement), its side s uniform in [min_scale, max_scale] pixels, and
// its top-left corner (row, then column) uniform so that it lies wholly on the canvas. Garments
// are pasted in that order: the 28 x 28 source resized bilinearly to s x s; where a resized pixel
// is at least `foreground` (64 of 255) it overwrites the canvas and its label becomes the
// garment's class + 1; where it is fainter, the canvas keeps the brighter of the two and the
// label stays. So later garments occlude earlier ones, and the label map says which garment a
// visible pixel belongs to.
//
// Classes: 0 background, 1..10 the Fashion-MNIST classes (T-shirt/top ... Ankle boot); no pixel
// is ignored (255). Train canvases are made from the training images only, test canvases from
// the test images only. The test split is normalised with the training split's statistics.
#pragma once

#include <cstdint>

#include "data/dataset.h"

namespace sr {

struct ComposedSegOptions {
  int64_t train_size = 10000, test_size = 2000;
  int64_t canvas = 64;
  int64_t min_items = 2, max_items = 4;
  int64_t min_scale = 20, max_scale = 40;
  int foreground = 64;
  uint64_t seed = 12;
};

// Segmentation items held in memory: C x H x W pixels and H x W label maps per item.
class InMemorySegDataset : public Dataset {
 public:
  // ValueError unless the byte counts match `info`'s geometry.
  InMemorySegDataset(DatasetInfo info, std::vector<uint8_t> pixels, std::vector<uint8_t> maps);
  const DatasetInfo& info() const override { return info_; }
  int64_t size() const override { return size_; }
  void read_pixels(int64_t i, uint8_t* dst) const override;
  int64_t label(int64_t) const override { return -1; }
  void read_label_map(int64_t i, uint8_t* dst) const override;
  const std::vector<float>& mean() const override { return mean_; }
  const std::vector<float>& std() const override { return std_; }

 private:
  DatasetInfo info_;
  int64_t size_ = 0;
  std::vector<uint8_t> pixels_, maps_;
  std::vector<float> mean_, std_;
};

// Composes the segmentation splits from two 1-channel classification splits (Fashion-MNIST's, or
// any, e.g. the synthetic set in tests) as described above; `name` names the result. ValueError
// for sources that are not 1-channel classification sets or options out of range.
DatasetSplits compose_segmentation(const Dataset& train_source, const Dataset& test_source,
                                   const ComposedSegOptions& o, const std::string& name);

}  // namespace sr
