// Batches: items of a dataset turned into normalised float tensors, with the augmentations of
// the paper's protocol (random crop with zero padding, horizontal flip). A segmentation item's
// label map gets the same crop and flip as its image.
//
// Every random choice is a function of (seed, epoch, item index): runs repeat exactly, whatever
// the order or thread that assembles a batch.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "engine/tensor.h"

namespace sr {

struct Augment {
  int64_t crop_padding = 0;  // random crop of the original size from the image padded by this
  bool hflip = false;        // flip horizontally with probability 1/2
  // Random scale (segmentation, as fyu/drn's RandomScale): the item is resized by a factor f
  // uniform in [scale_min, scale_max] (image bilinear, label map nearest), then an H x W window
  // at a uniform offset over the resized item (widened by crop_padding on each side) is cut;
  // where the window leaves the item, pixels are padding (0) and labels the ignore index.
  // 1 and 1: no scaling, and the crop above.
  float scale_min = 1.f, scale_max = 1.f;
};

struct Batch {
  // (N, C, H, W) float32, (pixel / 255 - mean) / std per channel with the dataset's normalisation
  // statistics (Dataset::norm_mean / norm_std: a test split uses its training split's); padding
  // pixels are 0 before normalisation.
  Tensor images;
  // Classification: (N) int64 classes. Segmentation: (N, H, W) int64 class ids, cropped and
  // flipped with the image; padding and unlabeled pixels hold the dataset's ignore_index.
  Tensor labels;
};

Batch make_batch(const Dataset& ds, const std::vector<int64_t>& indices, const Augment& aug,
                 uint64_t seed, int64_t epoch);

// The batches of one epoch over `pool`: shuffled by (seed, epoch) when asked, the last partial
// batch dropped when asked.
std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& pool,
                                                int64_t batch_size, bool shuffle, bool drop_last,
                                                uint64_t seed, int64_t epoch);

}  // namespace sr
