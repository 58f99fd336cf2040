// In-memory datasets, fingerprints and item scans, the dataset registry (load_dataset) and the
// synthetic task.
#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "data/caltech101.h"
#include "data/channel_stats.h"
#include "data/cifar.h"
#include "data/cityscapes.h"
#include "data/fashion_seg.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/parallel_items.h"
#include "engine/error.h"
#include "engine/random.h"

namespace sr {

void Dataset::read_label_map(int64_t, uint8_t*) const {
  throw ValueError(
      fmt::format("dataset {} has no label maps (not a segmentation dataset)", info().name));
}

void FingerprintHasher::add(const uint8_t* pixels, size_t pixel_bytes, const uint8_t* label_map,
                            size_t map_bytes, int64_t label) {
  auto mix = [this](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 1099511628211ull;  // FNV-1a 64 prime
  };
  mix(pixels, pixel_bytes);
  if (label_map) {
    mix(label_map, map_bytes);
  } else {
    uint8_t b[8];
    for (int k = 0; k < 8; ++k) b[k] = uint8_t(uint64_t(label) >> (8 * k));
    mix(b, 8);
  }
}

std::string FingerprintHasher::hex() const {
  return fmt::format("{:016x}", h_);
}

std::string Dataset::fingerprint() const {
  FingerprintHasher h;
  size_t px = size_t(item_bytes()), map = size_t(info().height * info().width);
  for_each_item(*this, [&](int64_t, const uint8_t* pixels, const uint8_t* label_map, int64_t l) {
    h.add(pixels, px, label_map, map, l);
  });
  return h.hex();
}

void for_each_item(const Dataset& ds, const ItemVisitor& visit) {
  bool seg = ds.info().segmentation;
  int64_t px = ds.item_bytes(), map = seg ? ds.info().height * ds.info().width : 0;
  // Blocks of about 16 MiB of decoded items (at least 1, at most 4096 items).
  int64_t block =
      std::clamp<int64_t>((int64_t(16) << 20) / std::max<int64_t>(px + map, 1), 1, 4096);
  std::vector<uint8_t> pixels(static_cast<size_t>(block * px)),
      maps(static_cast<size_t>(block * map));
  std::vector<int64_t> labels(static_cast<size_t>(block));
  for (int64_t b0 = 0; b0 < ds.size(); b0 += block) {
    int64_t nb = std::min(block, ds.size() - b0);
    parallel_items(nb, px * 8, [&](int64_t j) {
      ds.read_pixels(b0 + j, pixels.data() + j * px);
      if (seg) ds.read_label_map(b0 + j, maps.data() + j * map);
      labels[size_t(j)] = ds.label(b0 + j);
    });
    for (int64_t j = 0; j < nb; ++j)
      visit(b0 + j, pixels.data() + j * px, seg ? maps.data() + j * map : nullptr,
            labels[size_t(j)]);
  }
}

InMemoryDataset::InMemoryDataset(DatasetInfo info, std::vector<uint8_t> pixels,
                                 std::vector<int64_t> labels)
    : info_(std::move(info)), pixels_(std::move(pixels)), labels_(std::move(labels)) {
  int64_t C = info_.channels, plane = 0, total = 0;
  SR_CHECK_VALUE(C > 0 && info_.height > 0 && info_.width > 0,
                 "dataset {}: items of {}x{}x{} pixels", info_.name, C, info_.height, info_.width);
  bool overflow = __builtin_mul_overflow(info_.height, info_.width, &plane) ||
                  __builtin_mul_overflow(plane, C, &total) ||
                  __builtin_mul_overflow(total, int64_t(labels_.size()), &total);
  SR_CHECK_VALUE(!overflow && int64_t(pixels_.size()) == total,
                 "dataset {}: {} pixel bytes for {} items of {}x{}x{}", info_.name, pixels_.size(),
                 labels_.size(), C, info_.height, info_.width);
  ChannelStats stats(C);
  for (size_t i = 0; i < labels_.size(); ++i) stats.add(this->pixels(int64_t(i)), plane);
  mean_ = stats.mean();
  std_ = stats.std();
}

void InMemoryDataset::read_pixels(int64_t i, uint8_t* dst) const {
  std::memcpy(dst, pixels(i), size_t(item_bytes()));
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {
      "fashion-mnist", "mnist",        "cifar10",   "cifar100",    "caltech101",
      "cityscapes",    "image-folder", "synthetic", "fashion-seg", "synthetic-seg"};
  return names;
}

std::string default_data_dir(const std::string& name) {
  if (name == "fashion-mnist" || name == "fashion-seg") return "/usr/share/datasets/fashion-mnist";
  return "";
}

namespace {

// Rejects options that do not apply to the chosen dataset or are out of range.
void check_options(const DatasetOptions& o) {
  const std::string& n = o.name;
  bool known = false;
  for (const auto& k : dataset_names()) known = known || k == n;
  if (!known) {
    std::string list;
    for (const auto& k : dataset_names()) list += (list.empty() ? "" : ", ") + k;
    throw ValueError(fmt::format("unknown dataset '{}' (expected one of: {})", n, list));
  }
  bool resizes = n == "caltech101" || n == "image-folder";
  SR_CHECK_VALUE(o.image_size >= 0 && o.image_size <= 8192,
                 "--image-size must be in [1, 8192] (0: the dataset's default), got {}",
                 o.image_size);
  SR_CHECK_VALUE(o.image_size == 0 || resizes,
                 "--image-size applies to caltech101 and image-folder, not to {}", n);
  SR_CHECK_VALUE(o.seg_height >= 0 && o.seg_height <= 8192 && o.seg_width >= 0 &&
                     o.seg_width <= 8192 && (o.seg_height == 0) == (o.seg_width == 0),
                 "--seg-size must give both a height and a width in [1, 8192], got {}x{}",
                 o.seg_height, o.seg_width);
  SR_CHECK_VALUE(o.seg_height == 0 || n == "cityscapes",
                 "--seg-size applies to cityscapes, not to {}", n);
  if (resizes) {
    SR_CHECK_VALUE(o.test_fraction > 0 && o.test_fraction < 1,
                   "--test-fraction must be in (0, 1), got {}: a split would be empty",
                   o.test_fraction);
  } else {
    SR_CHECK_VALUE(o.test_fraction == DatasetOptions{}.test_fraction && o.split_seed == 0,
                   "--test-fraction and --split-seed apply to caltech101 and image-folder "
                   "(which are split here), not to {} (which comes split)",
                   n);
  }
  SR_CHECK_VALUE(!o.coarse_labels || n == "cifar100",
                 "--coarse-labels applies to cifar100, not to {}", n);
  SR_CHECK_VALUE(o.channels == 0 || o.channels == 1 || o.channels == 3,
                 "--channels must be 1 or 3, got {}", o.channels);
  SR_CHECK_VALUE(o.channels == 0 || n == "image-folder",
                 "--channels applies to image-folder, not to {}", n);
  SR_CHECK_VALUE(o.dir.empty() || (n != "synthetic" && n != "synthetic-seg"),
                 "the {} dataset is generated, it takes no --data-dir", n);
}

DatasetSplits load_checked(const DatasetOptions& o) {
  const std::string& name = o.name;
  if (name == "synthetic") return make_synthetic(2048, 512, 1, 28, 28, 10, 7);
  if (name == "synthetic-seg") return make_synthetic_seg(7);
  std::string dir = o.dir.empty() ? default_data_dir(name) : o.dir;
  SR_CHECK_IO(!dir.empty(), "dataset {}: no data directory given (use --data-dir)", name);
  if (name == "fashion-mnist" || name == "mnist") return load_mnist_dir(name, dir);
  if (name == "fashion-seg") {
    DatasetSplits src = load_mnist_dir("fashion-mnist", dir);
    return compose_segmentation(*src.train, *src.test, ComposedSegOptions{}, name);
  }
  if (name == "cifar10") return load_cifar10(dir);
  if (name == "cifar100") return load_cifar100(dir, o.coarse_labels);
  if (name == "caltech101")
    return load_caltech101(dir, o.image_size > 0 ? o.image_size : 220, o.test_fraction,
                           o.split_seed);
  if (name == "image-folder")
    return load_image_folder(dir, o.image_size, o.channels > 0 ? o.channels : 3, o.test_fraction,
                             o.split_seed);
  return load_cityscapes(dir, o.seg_height > 0 ? o.seg_height : 256,
                         o.seg_width > 0 ? o.seg_width : 512);
}

}  // namespace

void Dataset::normalize_with(std::vector<float> mean, std::vector<float> std) {
  SR_CHECK_VALUE(int64_t(mean.size()) == info().channels && int64_t(std.size()) == info().channels,
                 "{}: normalisation statistics for {} and {} channels, the images have {}",
                 info().name, mean.size(), std.size(), info().channels);
  norm_mean_ = std::move(mean);
  norm_std_ = std::move(std);
}

namespace {
// The test split is normalised with the training split's statistics.
DatasetSplits normalized_like_train(DatasetSplits d) {
  if (d.train && d.test) d.test->normalize_with(d.train->mean(), d.train->std());
  return d;
}
}  // namespace

DatasetSplits load_dataset(const DatasetOptions& o) {
  check_options(o);
  try {
    return normalized_like_train(load_checked(o));
  } catch (const std::filesystem::filesystem_error& e) {
    throw IOError(e.what());  // e.g. a directory that cannot be listed; names the path
  }
}

DatasetSplits make_synthetic(int64_t train_size, int64_t test_size, int64_t C, int64_t H, int64_t W,
                             int64_t classes, uint64_t seed) {
  SR_CHECK_VALUE(train_size > 0 && test_size > 0 && C > 0 && H > 0 && W > 0 && classes > 1,
                 "synthetic dataset: sizes must be positive and classes > 1");
  auto make = [&](int64_t n, uint64_t s) {
    Generator g(s);
    std::vector<uint8_t> px(static_cast<size_t>(n * C * H * W));
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      int64_t y = g.randint(classes);
      labels[size_t(i)] = y;
      // Class y puts a bright square at one of `classes` positions on a grid.
      int64_t cells = int64_t(std::ceil(std::sqrt(double(classes))));
      int64_t ch = H / cells, cw = W / cells;
      int64_t r0 = (y / cells) * ch, c0 = (y % cells) * cw;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t r = 0; r < H; ++r)
          for (int64_t q = 0; q < W; ++q) {
            double v = 40.0 + 40.0 * g.uniform();
            if (r >= r0 && r < r0 + ch && q >= c0 && q < c0 + cw) v += 120.0;
            px[size_t(((i * C + c) * H + r) * W + q)] = uint8_t(std::min(255.0, v));
          }
    }
    DatasetInfo info{"synthetic", C, H, W, classes, {}};
    for (int64_t k = 0; k < classes; ++k) info.class_names.push_back("class" + std::to_string(k));
    return std::make_shared<InMemoryDataset>(info, std::move(px), std::move(labels));
  };
  return normalized_like_train(
      {make(train_size, derive_seed(seed, 1)), make(test_size, derive_seed(seed, 2)), {}});
}

DatasetSplits make_synthetic_seg(uint64_t seed) {
  // Sources: 28 x 28 discs of radius 11 whose gray level (72 + 18 k, +-4 noise) gives the class.
  auto discs = [&](int64_t n, uint64_t s) {
    Generator g(s);
    std::vector<uint8_t> px(size_t(n * 28 * 28), 0);
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = g.randint(10);
      labels[size_t(i)] = k;
      for (int64_t y = 0; y < 28; ++y)
        for (int64_t x = 0; x < 28; ++x)
          if ((y - 13.5) * (y - 13.5) + (x - 13.5) * (x - 13.5) <= 121.0)
            px[size_t((i * 28 + y) * 28 + x)] = uint8_t(72 + 18 * k - 4 + g.randint(9));
    }
    DatasetInfo info{"synthetic-discs", 1, 28, 28, 10, {}};
    for (int64_t k = 0; k < 10; ++k) info.class_names.push_back("class" + std::to_string(k));
    return std::make_shared<InMemoryDataset>(info, std::move(px), std::move(labels));
  };
  auto train = discs(256, derive_seed(seed, 1)), test = discs(64, derive_seed(seed, 2));
  ComposedSegOptions c;
  c.train_size = 512, c.test_size = 128, c.canvas = 32;
  c.min_items = 1, c.max_items = 3, c.min_scale = 12, c.max_scale = 24;
  c.seed = seed;
  return compose_segmentation(*train, *test, c, "synthetic-seg");
}

}  // namespace sr
