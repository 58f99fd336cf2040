// ImageFileDataset: a classification dataset of image files decoded on the fly (stb_image),
// for sets too large to keep decoded (Caltech-101, a user's image folders). Memory holds only
// the paths and labels.
//
// Every item is decoded with the dataset's channel count (gray replicated to RGB for 3-channel
// sets) and resized bilinearly to the dataset's height x width. Reads are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace sr {

class ImageFileDataset : public Dataset {
 public:
  // The mean/std are computed over at most this many items, evenly spaced over the set.
  static constexpr int64_t kStatsSample = 500;

  // `paths[i]` is an image of class `labels[i]` (or Dataset::kNoLabel: not labeled yet).
  // info.channels is 1 or 3; info.height x info.width is the size every item is resized to.
  //
  // At construction (load time) every file's header is checked (stbi_info, no decoding): an
  // IOError names the first file that is missing, undecodable or has a channel count the set
  // cannot use. Then mean/std are computed from a deterministic sample of at most kStatsSample
  // items (decoded and resized as read_pixels does). A file that decodes badly later (a corrupt
  // body behind a good header) makes read_pixels throw an IOError naming it.
  ImageFileDataset(DatasetInfo info, std::vector<std::string> paths, std::vector<int64_t> labels);

  const DatasetInfo& info() const override { return info_; }
  int64_t size() const override { return int64_t(paths_.size()); }
  void read_pixels(int64_t i, uint8_t* dst) const override;
  int64_t label(int64_t i) const override { return labels_[size_t(i)]; }
  const std::vector<float>& mean() const override { return mean_; }
  const std::vector<float>& std() const override { return std_; }
  const std::string& path(int64_t i) const { return paths_[size_t(i)]; }
  std::string source(int64_t i) const override { return paths_[size_t(i)]; }

 private:
  DatasetInfo info_;
  std::vector<std::string> paths_;
  std::vector<int64_t> labels_;
  std::vector<float> mean_, std_;
};

}  // namespace sr
