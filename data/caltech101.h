// Caltech-101: `<dir>/101_ObjectCategories/<class>/*.jpg` (or `dir` itself when it is the
// 101_ObjectCategories folder), 101 classes. The BACKGROUND_Google folder is clutter, not an
// object category, and is excluded (as in the usual 101-class protocol). Images are resized to
// image_size x image_size (220 in the SRAAL paper), RGB (the set's few gray images replicated),
// and split per class, deterministically, into train and test (data/stratified_split.h).
#pragma once

#include <string>

#include "data/dataset.h"

namespace sr {

DatasetSplits load_caltech101(const std::string& dir, int64_t image_size, double test_fraction,
                              uint64_t seed);

}  // namespace sr
