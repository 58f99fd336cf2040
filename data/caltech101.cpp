// The Caltech-101 loader: class folders minus BACKGROUND_Google, stratified split, on the fly.
#include "data/caltech101.h"

#include <filesystem>

#include "data/image_folder.h"
#include "engine/error.h"

namespace sr {

DatasetSplits load_caltech101(const std::string& dir, int64_t image_size, double test_fraction,
                              uint64_t seed) {
  namespace fs = std::filesystem;
  fs::path d(dir);
  if (!d.has_filename()) d = d.parent_path();  // "dir/" names the same folder as "dir"
  fs::path root = d / "101_ObjectCategories";
  if (!fs::is_directory(root) && d.filename() == "101_ObjectCategories") root = d;
  SR_CHECK_IO(fs::is_directory(root), "{}: data directory not found (dataset caltech101)",
              root.string());
  ClassFolders folders = scan_class_folders(root.string(), {"BACKGROUND_Google"});
  DatasetSplits s =
      split_class_folders("caltech101", folders, 3, image_size, image_size, test_fraction, seed);
  s.notes.insert(s.notes.begin(), "BACKGROUND_Google excluded (clutter, not a category)");
  return s;
}

}  // namespace sr
