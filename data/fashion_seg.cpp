// fashion-seg: segmentation canvases composed from a classification set (see fashion_seg.h).
#include "data/fashion_seg.h"

#include <algorithm>
#include <cstring>

#include "data/channel_stats.h"
#include "data/resize.h"
#include "engine/error.h"
#include "engine/random.h"

namespace sr {

InMemorySegDataset::InMemorySegDataset(DatasetInfo info, std::vector<uint8_t> pixels,
                                       std::vector<uint8_t> maps)
    : info_(std::move(info)), pixels_(std::move(pixels)), maps_(std::move(maps)) {
  const int64_t plane = info_.height * info_.width;
  SR_CHECK_VALUE(info_.segmentation && plane > 0 && info_.channels > 0,
                 "dataset {}: a segmentation set of {}x{}x{} items", info_.name, info_.channels,
                 info_.height, info_.width);
  size_ = int64_t(maps_.size()) / plane;
  SR_CHECK_VALUE(int64_t(maps_.size()) == size_ * plane &&
                     int64_t(pixels_.size()) == size_ * plane * info_.channels,
                 "dataset {}: {} pixel bytes and {} label bytes for items of {}x{}x{}", info_.name,
                 pixels_.size(), maps_.size(), info_.channels, info_.height, info_.width);
  ChannelStats stats(info_.channels);
  for (int64_t i = 0; i < size_; ++i) stats.add(pixels_.data() + size_t(i * item_bytes()), plane);
  mean_ = stats.mean();
  std_ = stats.std();
}

void InMemorySegDataset::read_pixels(int64_t i, uint8_t* dst) const {
  std::memcpy(dst, pixels_.data() + size_t(i * item_bytes()), size_t(item_bytes()));
}

void InMemorySegDataset::read_label_map(int64_t i, uint8_t* dst) const {
  const int64_t plane = info_.height * info_.width;
  std::memcpy(dst, maps_.data() + size_t(i * plane), size_t(plane));
}

namespace {

std::shared_ptr<Dataset> compose(const Dataset& src, int64_t n, uint64_t seed,
                                 const ComposedSegOptions& o, DatasetInfo info) {
  const int64_t side = o.canvas, plane = side * side;
  const int64_t sh = src.info().height, sw = src.info().width;
  std::vector<uint8_t> pixels(size_t(n * plane), 0), maps(size_t(n * plane), 0);
  std::vector<uint8_t> garment(size_t(sh * sw)), scaled(size_t(o.max_scale * o.max_scale));
  for (int64_t i = 0; i < n; ++i) {
    Generator g(derive_seed(seed, uint64_t(i)));
    uint8_t* canvas = pixels.data() + size_t(i * plane);
    uint8_t* map = maps.data() + size_t(i * plane);
    const int64_t items = o.min_items + g.randint(o.max_items - o.min_items + 1);
    for (int64_t k = 0; k < items; ++k) {
      const int64_t which = g.randint(src.size());
      const int64_t s = o.min_scale + g.randint(o.max_scale - o.min_scale + 1);
      const int64_t row = g.randint(side - s + 1), col = g.randint(side - s + 1);
      src.read_pixels(which, garment.data());
      const auto cls = uint8_t(src.label(which) + 1);
      resize_bilinear(garment.data(), int(sw), int(sh), 1, scaled.data(), int(s), int(s));
      for (int64_t y = 0; y < s; ++y)
        for (int64_t x = 0; x < s; ++x) {
          const uint8_t v = scaled[size_t(y * s + x)];
          const size_t at = size_t((row + y) * side + col + x);
          if (v >= o.foreground) {
            canvas[at] = v;
            map[at] = cls;
          } else {
            canvas[at] = std::max(canvas[at], v);
          }
        }
    }
  }
  return std::make_shared<InMemorySegDataset>(std::move(info), std::move(pixels), std::move(maps));
}

}  // namespace

DatasetSplits compose_segmentation(const Dataset& train_source, const Dataset& test_source,
                                   const ComposedSegOptions& o, const std::string& name) {
  for (const Dataset* s : {&train_source, &test_source}) {
    const DatasetInfo& si = s->info();
    SR_CHECK_VALUE(!si.segmentation && si.channels == 1 && s->size() > 0 && si.num_classes < 255,
                   "{}: composes 1-channel classification images, got {} ({} channels, {} items)",
                   name, si.name, si.channels, s->size());
    SR_CHECK_VALUE(si.height == train_source.info().height &&
                       si.width == train_source.info().width &&
                       si.num_classes == train_source.info().num_classes,
                   "{}: the train and test sources differ in geometry or classes", name);
  }
  SR_CHECK_VALUE(o.train_size > 0 && o.test_size > 0 && o.min_items >= 1 &&
                     o.max_items >= o.min_items && o.min_scale >= 1 && o.max_scale >= o.min_scale &&
                     o.max_scale <= o.canvas && o.foreground >= 1 && o.foreground <= 255,
                 "{}: sizes {}/{}, items {}..{}, scales {}..{} on a {} canvas, foreground {} are "
                 "out of range",
                 name, o.train_size, o.test_size, o.min_items, o.max_items, o.min_scale,
                 o.max_scale, o.canvas, o.foreground);
  DatasetInfo info;
  info.name = name;
  info.channels = 1;
  info.height = info.width = o.canvas;
  info.num_classes = train_source.info().num_classes + 1;
  info.class_names.push_back("background");
  for (const auto& c : train_source.info().class_names) info.class_names.push_back(c);
  info.segmentation = true;
  DatasetSplits d;
  d.train = compose(train_source, o.train_size, derive_seed(o.seed, 1), o, info);
  d.test = compose(test_source, o.test_size, derive_seed(o.seed, 2), o, info);
  d.test->normalize_with(d.train->mean(), d.train->std());
  d.notes.push_back(fmt::format(
      "{}: {}x{} canvases of {}-{} {} items (side {}-{} px, pixels >= {} foreground), "
      "{} train canvases from the {} training images, {} test canvases from the {} test images; "
      "class 0 = background",
      name, o.canvas, o.canvas, o.min_items, o.max_items, train_source.info().name, o.min_scale,
      o.max_scale, o.foreground, o.train_size, train_source.size(), o.test_size,
      test_source.size()));
  return d;
}

}  // namespace sr
