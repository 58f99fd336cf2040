// Dataset flags: CLI11 options into DatasetOptions.
#include "app/dataset_flags.h"

#include <cstdio>

#include "app/validators.h"
#include "engine/error.h"

namespace sr::app {

DatasetFlags::DatasetFlags(CLI::App& app) {
  std::string names;
  for (const auto& n : dataset_names()) names += (names.empty() ? "" : " | ") + n;
  dataset_opt_ = app.add_option("--dataset", opts_.name, names)->capture_default_str();
  app.add_option("--data-dir", opts_.dir,
                 "directory of the dataset (default: its usual place; fashion-mnist: "
                 "/usr/share/datasets/fashion-mnist)");
  app.add_option("--image-size", opts_.image_size,
                 "caltech101, image-folder: resize images to NxN (default: 220 for caltech101, "
                 "the images' own size for image-folder)")
      ->check(integer_in(0, kMaxImageSize));
  app.add_option("--seg-size", seg_size_,
                 "cityscapes: resize images and label maps to HxW (default 256x512)");
  app.add_option("--test-fraction", opts_.test_fraction,
                 "caltech101, image-folder: fraction of each class in the test split")
      ->capture_default_str();
  app.add_option("--split-seed", opts_.split_seed,
                 "caltech101, image-folder: seed of the stratified train/test split")
      ->capture_default_str()
      ->check(seed_value());
  app.add_flag("--coarse-labels", opts_.coarse_labels,
               "cifar100: the 20 coarse superclass labels instead of the 100 fine ones");
  app.add_option("--channels", opts_.channels,
                 "image-folder: 3 (RGB, gray images replicated; default) or 1 (gray images)");
}

DatasetOptions DatasetFlags::options() const {
  DatasetOptions o = opts_;
  if (!seg_size_.empty()) {
    long long h = 0, w = 0;
    char tail = 0;
    int n = std::sscanf(seg_size_.c_str(), "%lldx%lld%c", &h, &w, &tail);
    SR_CHECK_VALUE(n == 2 && h > 0 && w > 0, "--seg-size must be HxW (e.g. 256x512), got '{}'",
                   seg_size_);
    o.seg_height = h, o.seg_width = w;
  }
  return o;
}

}  // namespace sr::app
