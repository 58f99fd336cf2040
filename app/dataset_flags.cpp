// Dataset flags: CLI11 options into DatasetOptions.
#include "app/dataset_flags.h"

#include <cstdio>

#include "app/validators.h"
#include "engine/error.h"

namespace sr::app {

DatasetFlags::DatasetFlags(CLI::App& app, const std::string& dataset_help) {
  std::string names;
  for (const auto& n : dataset_names()) names += (names.empty() ? "" : " | ") + n;
  using Apply = std::function<void(DatasetOptions&, const DatasetOptions&)>;
  auto field = [&](CLI::Option* o, std::vector<std::string> pointers, Apply apply) {
    fields_.push_back({o, std::move(pointers), std::move(apply)});
    return o;
  };
  dataset_opt_ = field(app.add_option("--dataset", opts_.name,
                                      dataset_help.empty() ? names : names + "; " + dataset_help),
                       {"/name"}, [](auto& o, const auto& p) { o.name = p.name; });
  field(app.add_option("--data-dir", opts_.dir,
                       "directory of the dataset (default: its usual place; fashion-mnist: "
                       "/usr/share/datasets/fashion-mnist)"),
        {"/dir"}, [](auto& o, const auto& p) { o.dir = p.dir; });
  field(app.add_option("--image-size", opts_.image_size,
                       "caltech101, image-folder: resize images to NxN (default: 220 for "
                       "caltech101, the images' own size for image-folder)")
            ->check(integer_in(0, kMaxImageSize)),
        {"/image_size"}, [](auto& o, const auto& p) { o.image_size = p.image_size; });
  field(app.add_option("--seg-size", seg_size_,
                       "cityscapes: resize images and label maps to HxW (default 256x512)"),
        {"/seg_height", "/seg_width"},
        [](auto& o, const auto& p) { o.seg_height = p.seg_height, o.seg_width = p.seg_width; });
  field(app.add_option("--test-fraction", opts_.test_fraction,
                       "caltech101, image-folder: fraction of each class in the test split")
            ->capture_default_str(),
        {"/test_fraction"}, [](auto& o, const auto& p) { o.test_fraction = p.test_fraction; });
  field(app.add_option("--split-seed", opts_.split_seed,
                       "caltech101, image-folder: seed of the stratified train/test split")
            ->capture_default_str()
            ->check(seed_value()),
        {"/split_seed"}, [](auto& o, const auto& p) { o.split_seed = p.split_seed; });
  field(app.add_flag("--coarse-labels", opts_.coarse_labels,
                     "cifar100: the 20 coarse superclass labels instead of the 100 fine ones"),
        {"/coarse_labels"}, [](auto& o, const auto& p) { o.coarse_labels = p.coarse_labels; });
  field(app.add_option("--channels", opts_.channels,
                       "image-folder: 3 (RGB, gray images replicated; default) or 1 (gray "
                       "images)"),
        {"/channels"}, [](auto& o, const auto& p) { o.channels = p.channels; });
}

void DatasetFlags::apply_given(DatasetOptions& o) const {
  const DatasetOptions parsed = options();
  for (const Field& f : fields_)
    if (f.option->count() > 0) f.apply(o, parsed);
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
