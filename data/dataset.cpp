// In-memory datasets, fingerprints, the dataset registry and the synthetic task.
#include "data/dataset.h"

#include <cmath>
#include <cstring>

#include "data/idx.h"
#include "engine/error.h"
#include "engine/random.h"

namespace sr {

void Dataset::read_label_map(int64_t, uint8_t*) const {
  throw ValueError(fmt::format("dataset {} has no label maps (not a segmentation dataset)",
                               info().name));
}

std::string Dataset::fingerprint() const {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  std::vector<uint8_t> buf(static_cast<size_t>(item_bytes()));
  for (int64_t i = 0; i < size(); ++i) {
    read_pixels(i, buf.data());
    mix(buf.data(), buf.size());
    int64_t l = label(i);
    mix(reinterpret_cast<const uint8_t*>(&l), sizeof l);
  }
  return fmt::format("{:016x}", h);
}

InMemoryDataset::InMemoryDataset(DatasetInfo info, std::vector<uint8_t> pixels,
                                 std::vector<int64_t> labels)
    : info_(std::move(info)), pixels_(std::move(pixels)), labels_(std::move(labels)) {
  int64_t C = info_.channels, plane = info_.height * info_.width;
  SR_CHECK_VALUE(int64_t(pixels_.size()) == int64_t(labels_.size()) * C * plane,
                 "dataset {}: {} pixel bytes for {} items of {}x{}x{}", info_.name,
                 pixels_.size(), labels_.size(), C, info_.height, info_.width);
  std::vector<double> s(size_t(C), 0.0), s2(size_t(C), 0.0);
  for (size_t i = 0; i < labels_.size(); ++i)
    for (int64_t c = 0; c < C; ++c) {
      const uint8_t* p = pixels_.data() + (int64_t(i) * C + c) * plane;
      uint64_t a = 0, a2 = 0;
      for (int64_t k = 0; k < plane; ++k) a += p[k], a2 += uint64_t(p[k]) * p[k];
      s[size_t(c)] += double(a), s2[size_t(c)] += double(a2);
    }
  double n = double(labels_.size()) * double(plane);
  for (int64_t c = 0; c < C; ++c) {
    double m = n > 0 ? s[size_t(c)] / n / 255.0 : 0.0;
    double var = n > 0 ? s2[size_t(c)] / n / (255.0 * 255.0) - m * m : 0.0;
    mean_.push_back(float(m));
    std_.push_back(float(std::sqrt(std::max(var, 1e-12))));
  }
}

void InMemoryDataset::read_pixels(int64_t i, uint8_t* dst) const {
  std::memcpy(dst, pixels(i), size_t(item_bytes()));
}

std::string default_data_dir(const std::string& name) {
  if (name == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  return "";
}

DatasetSplits load_dataset(const std::string& name, const std::string& dir_in) {
  std::string dir = dir_in.empty() ? default_data_dir(name) : dir_in;
  if (name == "fashion-mnist" || name == "mnist") {
    SR_CHECK_IO(!dir.empty(), "dataset {}: no data directory given (use --data-dir)", name);
    return load_mnist_dir(name, dir);
  }
  if (name == "synthetic") return make_synthetic(2048, 512, 1, 28, 28, 10, 7);
  throw ValueError(fmt::format(
      "unknown dataset '{}' (expected fashion-mnist, mnist or synthetic)", name));
}

DatasetSplits make_synthetic(int64_t train_size, int64_t test_size, int64_t C, int64_t H,
                             int64_t W, int64_t classes, uint64_t seed) {
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
  return {make(train_size, derive_seed(seed, 1)), make(test_size, derive_seed(seed, 2))};
}

}  // namespace sr
