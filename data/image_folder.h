// Class-folder image sets: `<root>/<class>/<image>` trees, split here into train and test
// (stratified, data/stratified_split.h) and read on the fly (data/image_file_dataset.h). The
// generic `image-folder` dataset for a user's own data, and the scanning that Caltech-101
// (data/caltech101.h) shares.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"

namespace sr {

// True for names ending in .png, .jpg or .jpeg (in any case).
bool is_image_name(const std::string& path);
// The images directly inside `dir` (as is_image_name; hidden entries skipped), sorted by path.
// IOError naming the path: `dir` not found, or an image name on something that is not a
// regular file.
std::vector<std::string> list_images(const std::string& dir);

struct ClassFolders {
  std::string root;
  std::vector<std::string> class_names;  // sorted subdirectory names
  std::vector<std::string> paths;        // the images, by class, sorted by file name
  std::vector<int64_t> labels;           // class index of each path
};

// Scans `root`: every subdirectory is a class (sorted by name), and the .png, .jpg and .jpeg
// files directly inside it (extensions in any case) are its images. Other files, nested
// directories and hidden entries (names starting with '.') are ignored; subdirectories named in
// `exclude` are skipped. IOError naming the path: `root` not found, fewer than 2 class folders,
// a class folder with no images ("empty class folder") or with fewer than `min_per_class` (the
// stratified split needs two per class).
ClassFolders scan_class_folders(const std::string& root, const std::vector<std::string>& exclude,
                                int64_t min_per_class = 2);

// The images in `dir` and in its subdirectories at any depth (as list_images), sorted by path.
std::vector<std::string> list_images_recursive(const std::string& dir);

// The size every one of `paths` has, (height, width); an IOError names the first image of
// another size and suggests --image-size.
std::pair<int64_t, int64_t> common_image_size(const std::vector<std::string>& paths);

// Splits scanned folders per class (round(test_fraction * n) of each class to test, at least 1,
// at most n - 1; seeded) and builds the two on-the-fly datasets of images resized to
// height x width with `channels` channels.
DatasetSplits split_class_folders(const std::string& name, const ClassFolders& folders,
                                  int64_t channels, int64_t height, int64_t width,
                                  double test_fraction, uint64_t seed);

// The image-folder dataset. image_size > 0 resizes every image to image_size x image_size;
// 0 keeps the size the images have, which all of them must share (an IOError names the first
// image of another size and suggests --image-size). channels: 3 (gray images replicated) or 1.
DatasetSplits load_image_folder(const std::string& root, int64_t image_size, int64_t channels,
                                double test_fraction, uint64_t seed);

}  // namespace sr

namespace sr {

class ImageFileDataset;

// The data of `sraal query`: the class folders of `labeled_root` (at least 2 classes, at least
// 1 image each) and the images anywhere under `unlabeled_root`, in one dataset named "query"
// whose first items are the labeled ones (by class, then file name) and whose labels are
// Dataset::kNoLabel for the rest (sorted by path). Mean/std come from both. image_size and
// channels as load_image_folder. IOError naming the path: a folder not found, no unlabeled
// image, or an image in both (the unlabeled folder inside the labeled one, or the reverse).
struct QueryFolders {
  std::shared_ptr<ImageFileDataset> data;
  std::vector<int64_t> labeled, unlabeled;  // dataset indices
};
QueryFolders load_query_folders(const std::string& labeled_root, const std::string& unlabeled_root,
                                int64_t image_size, int64_t channels);

}  // namespace sr
