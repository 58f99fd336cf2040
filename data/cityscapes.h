// Cityscapes semantic segmentation (gtFine), decoded on the fly.
//
//   images:     <dir>/leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png   (8-bit RGB)
//   label maps: <dir>/gtFine/<split>/<city>/<stem>_gtFine_labelIds.png    (8-bit gray, labelIds)
//
// Splits: train, and val as the test split (the official test labels are not public). Label
// ids map to the 19 training classes (cityscapes_train_id); every other id becomes 255, the
// ignore index. Images are resized bilinearly and label maps by nearest neighbour to
// height x width (256 x 512 by default, a quarter of the 1024 x 2048 originals).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image_decode.h"

namespace sr {

// trainId of a Cityscapes labelId (7 road -> 0, ..., 33 bicycle -> 18), 255 for all others.
uint8_t cityscapes_train_id(int label_id);
// The 19 class names in trainId order.
const std::vector<std::string>& cityscapes_class_names();

// IOError naming `path` unless a labelIds map's header shows 1 channel ("wrong channel count")
// of 8 bits ("wrong bit depth").
void check_label_map_header(const std::string& path, const ImageHeader& h);
// A decoded labelIds map (1 channel) mapped to trainIds and resized by nearest neighbour to
// width x height into dst (what read_label_map does after decoding the file).
void label_ids_to_train_ids(DecodedImage m, int width, int height, uint8_t* dst);

class CityscapesDataset : public Dataset {
 public:
  static constexpr int64_t kStatsSample = 500;

  // Pairs of image and labelIds files. At construction every pair's headers are checked: an
  // IOError names a missing file, an undecodable one, an image that is not RGB or gray, a label
  // map that is not 1-channel ("wrong channel count") or not 8-bit ("wrong bit depth"), or a
  // pair whose sizes differ ("size mismatch"). Then mean/std come from at most kStatsSample evenly
  // spaced items.
  CityscapesDataset(std::vector<std::string> images, std::vector<std::string> label_maps,
                    int64_t height, int64_t width);

  const DatasetInfo& info() const override { return info_; }
  int64_t size() const override { return int64_t(images_.size()); }
  void read_pixels(int64_t i, uint8_t* dst) const override;
  // -1: a segmentation item has a label map, not a label.
  int64_t label(int64_t) const override { return -1; }
  void read_label_map(int64_t i, uint8_t* dst) const override;
  const std::vector<float>& mean() const override { return mean_; }
  const std::vector<float>& std() const override { return std_; }
  const std::string& image_path(int64_t i) const { return images_[size_t(i)]; }
  std::string source(int64_t i) const override { return images_[size_t(i)]; }
  const std::string& label_path(int64_t i) const { return labels_[size_t(i)]; }

 private:
  DatasetInfo info_;
  std::vector<std::string> images_, labels_;
  std::vector<float> mean_, std_;
};

// Finds the pairs of `split` (train or val) under `dir`, sorted by city and file name. IOError
// naming the path: a missing directory, a split with no images ("split would be empty"), an
// image without its labelIds file.
std::shared_ptr<CityscapesDataset> load_cityscapes_split(const std::string& dir,
                                                         const std::string& split, int64_t height,
                                                         int64_t width);

// train and val (as test).
DatasetSplits load_cityscapes(const std::string& dir, int64_t height, int64_t width);

}  // namespace sr
