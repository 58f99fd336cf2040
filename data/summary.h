// What a user needs to trust a dataset split, computed in one pass over its items: the item
// count, per-class counts (items, or pixels for segmentation, plus ignored pixels), mean/std
// and the content fingerprint. `sraal data` prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace sr {

struct SplitSummary {
  int64_t items = 0;
  // Classification: items per class. Segmentation: label-map pixels per class.
  std::vector<int64_t> class_counts;
  int64_t ignored_pixels = 0;  // segmentation: pixels holding ignore_index
  std::vector<float> mean, std;
  std::string fingerprint;  // equal to Dataset::fingerprint()
};

// Reads every item once. IOError when a class id outside [0, num_classes) (other than the
// ignore index) or a label out of range shows up.
SplitSummary summarize(const Dataset& ds);

}  // namespace sr
