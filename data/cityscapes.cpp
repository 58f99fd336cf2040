// Cityscapes: pairing images with labelIds maps, the labelId -> trainId table, on-the-fly reads.
#include "data/cityscapes.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "data/channel_stats.h"
#include "data/image_decode.h"
#include "data/resize.h"
#include "engine/error.h"

namespace sr {

namespace {

namespace fs = std::filesystem;

struct TrainClass {
  int label_id;
  const char* name;
};
// SPEC §7: the 19 evaluated classes in trainId order.
constexpr TrainClass kClasses[] = {
    {7, "road"},  {8, "sidewalk"},       {11, "building"},     {12, "wall"},       {13, "fence"},
    {17, "pole"}, {19, "traffic light"}, {20, "traffic sign"}, {21, "vegetation"}, {22, "terrain"},
    {23, "sky"},  {24, "person"},        {25, "rider"},        {26, "car"},        {27, "truck"},
    {28, "bus"},  {31, "train"},         {32, "motorcycle"},   {33, "bicycle"}};

const std::array<uint8_t, 256>& train_id_table() {
  static const std::array<uint8_t, 256> t = [] {
    std::array<uint8_t, 256> a;
    a.fill(255);
    for (size_t k = 0; k < std::size(kClasses); ++k) a[size_t(kClasses[k].label_id)] = uint8_t(k);
    return a;
  }();
  return t;
}

const char kImageSuffix[] = "_leftImg8bit.png";
const char kLabelSuffix[] = "_gtFine_labelIds.png";

}  // namespace

uint8_t cityscapes_train_id(int label_id) {
  return label_id >= 0 && label_id < 256 ? train_id_table()[size_t(label_id)] : 255;
}

const std::vector<std::string>& cityscapes_class_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& c : kClasses) v.push_back(c.name);
    return v;
  }();
  return names;
}

CityscapesDataset::CityscapesDataset(std::vector<std::string> images,
                                     std::vector<std::string> label_maps, int64_t height,
                                     int64_t width)
    : images_(std::move(images)), labels_(std::move(label_maps)) {
  SR_CHECK_VALUE(images_.size() == labels_.size(), "cityscapes: {} images but {} label maps",
                 images_.size(), labels_.size());
  SR_CHECK_VALUE(height > 0 && width > 0, "cityscapes: bad size {}x{}", height, width);
  SR_CHECK_VALUE(!images_.empty(), "cityscapes: no images");
  info_.name = "cityscapes";
  info_.channels = 3, info_.height = height, info_.width = width;
  info_.num_classes = int64_t(std::size(kClasses));
  info_.class_names = cityscapes_class_names();
  info_.segmentation = true;
  info_.ignore_index = 255;
  for (size_t i = 0; i < images_.size(); ++i) {
    ImageHeader im = read_image_header(images_[i]);
    check_image_channels(images_[i], im.channels, 3);
    ImageHeader lb = read_image_header(labels_[i]);
    check_label_map_header(labels_[i], lb);
    SR_CHECK_IO(im.width == lb.width && im.height == lb.height,
                "{}: size mismatch: label map is {}x{} (W x H) but its image {} is {}x{}",
                labels_[i], lb.width, lb.height, images_[i], im.width, im.height);
  }
  sample_channel_stats(
      size(), 3, height * width, kStatsSample,
      [this](int64_t i, uint8_t* dst) { read_pixels(i, dst); }, mean_, std_);
}

void CityscapesDataset::read_pixels(int64_t i, uint8_t* dst) const {
  int H = int(info_.height), W = int(info_.width);
  DecodedImage img = decode_image(images_[size_t(i)], 3);
  resize_to_chw(img.hwc.data(), img.width, img.height, 3, dst, W, H);
}

void CityscapesDataset::read_label_map(int64_t i, uint8_t* dst) const {
  label_ids_to_train_ids(decode_image(labels_[size_t(i)], 1), int(info_.width), int(info_.height),
                         dst);
}

void check_label_map_header(const std::string& path, const ImageHeader& h) {
  SR_CHECK_IO(h.channels == 1,
              "{}: wrong channel count: a labelIds map has 1 channel, this one has {}", path,
              h.channels);
  SR_CHECK_IO(!h.sixteen_bit, "{}: wrong bit depth: a labelIds map is 8-bit, this one 16-bit",
              path);
}

void label_ids_to_train_ids(DecodedImage m, int width, int height, uint8_t* dst) {
  SR_CHECK_VALUE(m.channels == 1, "label map: {} channels decoded, expected 1", m.channels);
  const auto& table = train_id_table();
  for (uint8_t& v : m.hwc) v = table[v];
  resize_nearest(m.hwc.data(), m.width, m.height, dst, width, height);
}

std::shared_ptr<CityscapesDataset> load_cityscapes_split(const std::string& dir,
                                                         const std::string& split, int64_t height,
                                                         int64_t width) {
  fs::path img_root = fs::path(dir) / "leftImg8bit" / split;
  fs::path lab_root = fs::path(dir) / "gtFine" / split;
  SR_CHECK_IO(fs::is_directory(dir), "{}: data directory not found (dataset cityscapes)", dir);
  SR_CHECK_IO(fs::is_directory(img_root), "{}: directory not found", img_root.string());
  SR_CHECK_IO(fs::is_directory(lab_root), "{}: directory not found", lab_root.string());
  std::vector<fs::path> cities;
  for (const auto& e : fs::directory_iterator(img_root))
    if (e.is_directory()) cities.push_back(e.path());
  std::sort(cities.begin(), cities.end());
  std::vector<std::string> images, labels;
  const size_t suffix = sizeof(kImageSuffix) - 1;
  for (const fs::path& city : cities) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(city)) {
      std::string n = e.path().filename().string();
      if (n.size() <= suffix || !n.ends_with(kImageSuffix)) continue;
      std::error_code ec;
      SR_CHECK_IO(e.is_regular_file(ec),
                  "{}: named like an image but not a regular file (a directory, FIFO, device or "
                  "dangling link); remove or rename it",
                  e.path().string());
      names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      std::string stem = n.substr(0, n.size() - suffix);
      fs::path label = lab_root / city.filename() / (stem + kLabelSuffix);
      SR_CHECK_IO(fs::is_regular_file(label), "{}: file not found (the label map of {})",
                  label.string(), (city / n).string());
      images.push_back((city / n).string());
      labels.push_back(label.string());
    }
  }
  SR_CHECK_IO(!images.empty(), "{}: split would be empty: no <city>/*{} images", img_root.string(),
              kImageSuffix);
  return std::make_shared<CityscapesDataset>(std::move(images), std::move(labels), height, width);
}

DatasetSplits load_cityscapes(const std::string& dir, int64_t height, int64_t width) {
  DatasetSplits s{load_cityscapes_split(dir, "train", height, width),
                  load_cityscapes_split(dir, "val", height, width),
                  {}};
  s.notes.push_back("test split: val (the official test labels are not public)");
  s.notes.push_back(fmt::format(
      "labelIds mapped to the 19 trainIds, other ids to 255 (ignored); resized to {}x{} (H x W): "
      "images bilinearly, label maps by nearest neighbour",
      height, width));
  s.notes.push_back(
      fmt::format("decoded on the fly; mean/std from at most {} evenly spaced "
                  "items per split",
                  CityscapesDataset::kStatsSample));
  return s;
}

}  // namespace sr
