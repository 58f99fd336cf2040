// Class-folder scanning, the stratified split into two ImageFileDatasets, and the image-folder
// loader.
#include "data/image_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>

#include "data/image_decode.h"
#include "data/image_file_dataset.h"
#include "data/stratified_split.h"
#include "engine/error.h"

namespace sr {

namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& p) {
  return p.filename().string().starts_with(".");
}

}  // namespace

bool is_image_name(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<std::string> list_images(const std::string& dir) {
  SR_CHECK_IO(fs::is_directory(dir), "{}: directory not found", dir);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (hidden(e.path()) || !is_image_name(e.path().string())) continue;
    // An image name on a directory, FIFO, device or dangling link: refuse rather than drop it
    // (a silently smaller class would change the split). Links to regular files are followed.
    std::error_code ec;
    SR_CHECK_IO(e.is_regular_file(ec),
                "{}: named like an image but not a regular file (a directory, FIFO, device or "
                "dangling link); remove or rename it",
                e.path().string());
    files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

ClassFolders scan_class_folders(const std::string& root, const std::vector<std::string>& exclude,
                                int64_t min_per_class) {
  SR_CHECK_IO(fs::is_directory(root), "{}: data directory not found", root);
  ClassFolders f;
  f.root = root;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    if (!e.is_directory() || hidden(e.path())) continue;
    std::string n = e.path().filename().string();
    if (std::find(exclude.begin(), exclude.end(), n) == exclude.end()) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  SR_CHECK_IO(dirs.size() >= 2,
              "{}: {} class folder(s) found; a classification data set needs at least 2 "
              "(<root>/<class>/*.png|jpg)",
              root, dirs.size());
  for (const fs::path& d : dirs) {
    std::vector<std::string> files = list_images(d.string());
    SR_CHECK_IO(!files.empty(), "{}: empty class folder (no .png, .jpg or .jpeg images)",
                d.string());
    SR_CHECK_IO(int64_t(files.size()) >= min_per_class,
                "{}: class has only 1 image; the stratified train/test split needs at least 2 "
                "per class",
                d.string());
    for (auto& p : files) {
      f.paths.push_back(std::move(p));
      f.labels.push_back(int64_t(f.class_names.size()));
    }
    f.class_names.push_back(d.filename().string());
  }
  return f;
}

DatasetSplits split_class_folders(const std::string& name, const ClassFolders& folders,
                                  int64_t channels, int64_t height, int64_t width,
                                  double test_fraction, uint64_t seed) {
  int64_t classes = int64_t(folders.class_names.size());
  SplitIndices split = stratified_split(folders.labels, classes, test_fraction, seed);
  auto make = [&](const std::vector<int64_t>& idx) {
    std::vector<std::string> paths;
    std::vector<int64_t> labels;
    for (int64_t i : idx) {
      paths.push_back(folders.paths[size_t(i)]);
      labels.push_back(folders.labels[size_t(i)]);
    }
    DatasetInfo info{name, channels, height, width, classes, folders.class_names};
    return std::make_shared<ImageFileDataset>(info, std::move(paths), std::move(labels));
  };
  DatasetSplits s{make(split.train), make(split.test), {}};
  s.notes.push_back(
      fmt::format("split: stratified, per class round({} x n) images (at least 1) to test, seed {}",
                  test_fraction, seed));
  s.notes.push_back(
      fmt::format("images decoded on the fly, resized to {}x{} (H x W); mean/std "
                  "from at most {} evenly spaced items per split",
                  height, width, ImageFileDataset::kStatsSample));
  return s;
}

std::vector<std::string> list_images_recursive(const std::string& dir) {
  std::vector<std::string> files = list_images(dir);
  std::vector<fs::path> subdirs;
  for (const auto& e : fs::directory_iterator(dir))
    if (!hidden(e.path()) && e.is_directory()) subdirs.push_back(e.path());
  for (const fs::path& d : subdirs) {
    std::vector<std::string> more = list_images_recursive(d.string());
    files.insert(files.end(), more.begin(), more.end());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::pair<int64_t, int64_t> common_image_size(const std::vector<std::string>& paths) {
  SR_CHECK_VALUE(!paths.empty(), "common_image_size: no images");
  ImageHeader first = read_image_header(paths.front());
  for (const std::string& p : paths) {
    ImageHeader hd = read_image_header(p);
    SR_CHECK_IO(hd.height == first.height && hd.width == first.width,
                "{}: image size {}x{} (W x H) differs from {}x{} of {}; all images must share "
                "one size unless --image-size is given",
                p, hd.width, hd.height, first.width, first.height, paths.front());
  }
  return {first.height, first.width};
}

DatasetSplits load_image_folder(const std::string& root, int64_t image_size, int64_t channels,
                                double test_fraction, uint64_t seed) {
  ClassFolders folders = scan_class_folders(root, {});
  int64_t h = image_size, w = image_size;
  if (image_size == 0) std::tie(h, w) = common_image_size(folders.paths);
  return split_class_folders("image-folder", folders, channels, h, w, test_fraction, seed);
}

}  // namespace sr

namespace sr {

QueryFolders load_query_folders(const std::string& labeled_root, const std::string& unlabeled_root,
                                int64_t image_size, int64_t channels) {
  ClassFolders labeled = scan_class_folders(labeled_root, {}, 1);
  std::vector<std::string> unlabeled = list_images_recursive(unlabeled_root);
  SR_CHECK_IO(!unlabeled.empty(), "{}: no .png, .jpg or .jpeg images (at any depth)",
              unlabeled_root);
  // One file in both pools would be labeled and chosen for labeling at once.
  std::set<fs::path> seen;
  for (const std::string& p : labeled.paths) seen.insert(fs::weakly_canonical(p));
  for (const std::string& p : unlabeled)
    SR_CHECK_IO(!seen.count(fs::weakly_canonical(p)),
                "{}: both in the labeled folder {} and the unlabeled folder {}; the two must not "
                "overlap",
                p, labeled_root, unlabeled_root);

  QueryFolders q;
  std::vector<std::string> paths = labeled.paths;
  std::vector<int64_t> labels = labeled.labels;
  for (size_t i = 0; i < paths.size(); ++i) q.labeled.push_back(int64_t(i));
  for (const std::string& p : unlabeled) {
    q.unlabeled.push_back(int64_t(paths.size()));
    paths.push_back(p);
    labels.push_back(Dataset::kNoLabel);
  }
  int64_t h = image_size, w = image_size;
  if (image_size == 0) std::tie(h, w) = common_image_size(paths);
  DatasetInfo info{
      "query", channels, h, w, int64_t(labeled.class_names.size()), labeled.class_names};
  q.data = std::make_shared<ImageFileDataset>(info, std::move(paths), std::move(labels));
  return q;
}

}  // namespace sr
