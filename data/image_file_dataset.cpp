// On-the-fly image-file dataset: header validation at load time, decode + resize per read.
#include "data/image_file_dataset.h"

#include "data/channel_stats.h"
#include "data/image_decode.h"
#include "data/resize.h"
#include "engine/error.h"

namespace sr {

ImageFileDataset::ImageFileDataset(DatasetInfo info, std::vector<std::string> paths,
                                   std::vector<int64_t> labels)
    : info_(std::move(info)), paths_(std::move(paths)), labels_(std::move(labels)) {
  SR_CHECK_VALUE(paths_.size() == labels_.size(), "dataset {}: {} paths but {} labels", info_.name,
                 paths_.size(), labels_.size());
  SR_CHECK_VALUE(info_.channels == 1 || info_.channels == 3,
                 "dataset {}: channels must be 1 or 3, got {}", info_.name, info_.channels);
  SR_CHECK_VALUE(info_.height > 0 && info_.width > 0, "dataset {}: bad image size {}x{}",
                 info_.name, info_.height, info_.width);
  SR_CHECK_VALUE(!paths_.empty(), "dataset {}: no images", info_.name);
  for (size_t i = 0; i < paths_.size(); ++i) {
    const std::string& p = paths_[i];
    SR_CHECK_VALUE(labels_[i] == kNoLabel || (labels_[i] >= 0 && labels_[i] < info_.num_classes),
                   "dataset {}: label {} of {} is out of range [0, {})", info_.name, labels_[i], p,
                   info_.num_classes);
    check_image_channels(p, read_image_header(p).channels, int(info_.channels));
  }
  sample_channel_stats(
      size(), info_.channels, info_.height * info_.width, kStatsSample,
      [this](int64_t i, uint8_t* dst) { read_pixels(i, dst); }, mean_, std_);
}

void ImageFileDataset::read_pixels(int64_t i, uint8_t* dst) const {
  int C = int(info_.channels), H = int(info_.height), W = int(info_.width);
  DecodedImage img = decode_image(paths_[size_t(i)], C);
  resize_to_chw(img.hwc.data(), img.width, img.height, C, dst, W, H);
}

}  // namespace sr
