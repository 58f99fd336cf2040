// Datasets: what a data set is to the rest of the system, the in-memory image set that the
// small data sets (MNIST, Fashion-MNIST, CIFAR, synthetic) decode into once, and the registry
// that loads any of them by name (load_dataset).
//
// A dataset has a size, a number of classes, image geometry, per-channel mean/std, and items:
// an 8-bit image (C, H, W) and a label (classification) or an (H, W) label map (segmentation).
// Labeled and unlabeled pools are index sets over one dataset (never copies). Batches
// (data/batch.h) turn items into normalised float tensors. Large image sets (Caltech-101,
// Cityscapes, image folders) decode their files on the fly (data/image_file_dataset.h,
// data/cityscapes.h), so memory stays bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sr {

struct DatasetInfo {
  std::string name;
  int64_t channels = 1, height = 0, width = 0;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  // Segmentation: items carry an (H, W) map of class ids, `ignore_index` where unlabeled.
  bool segmentation = false;
  int64_t ignore_index = 255;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual const DatasetInfo& info() const = 0;
  virtual int64_t size() const = 0;
  // Writes item i's pixels, C*H*W bytes in CHW order, into dst.
  virtual void read_pixels(int64_t i, uint8_t* dst) const = 0;
  // Class of item i (classification datasets); kNoLabel for segmentation datasets and for the
  // unlabeled items of a query (data/image_folder.h).
  static constexpr int64_t kNoLabel = -1;
  virtual int64_t label(int64_t i) const = 0;
  // Writes item i's label map, H*W class ids (segmentation datasets; others throw).
  virtual void read_label_map(int64_t i, uint8_t* dst) const;
  // The file item i is read from (its image), or "" for datasets held in memory.
  virtual std::string source(int64_t /*i*/) const { return ""; }
  // Per-channel mean and standard deviation of the pixels scaled to [0, 1].
  virtual const std::vector<float>& mean() const = 0;
  virtual const std::vector<float>& std() const = 0;
  // The statistics batches are normalised with (data/batch.h): the dataset's own unless set by
  // normalize_with; load_dataset and make_synthetic give the test split the training split's,
  // as every reference pipeline does. ValueError unless both have one value per channel.
  const std::vector<float>& norm_mean() const { return norm_mean_.empty() ? mean() : norm_mean_; }
  const std::vector<float>& norm_std() const { return norm_std_.empty() ? std() : norm_std_; }
  void normalize_with(std::vector<float> mean, std::vector<float> std);
  int64_t item_bytes() const { return info().channels * info().height * info().width; }
  // 64-bit FNV-1a over every item in order, as 16 hex digits: its pixels, then its label as 8
  // little-endian bytes (classification) or its H*W label map (segmentation).
  std::string fingerprint() const;

 private:
  std::vector<float> norm_mean_, norm_std_;
};

// All pixels and labels held in memory, decoded once.
class InMemoryDataset : public Dataset {
 public:
  InMemoryDataset(DatasetInfo info, std::vector<uint8_t> pixels, std::vector<int64_t> labels);
  const DatasetInfo& info() const override { return info_; }
  int64_t size() const override { return int64_t(labels_.size()); }
  void read_pixels(int64_t i, uint8_t* dst) const override;
  int64_t label(int64_t i) const override { return labels_[size_t(i)]; }
  const std::vector<float>& mean() const override { return mean_; }
  const std::vector<float>& std() const override { return std_; }
  const uint8_t* pixels(int64_t i) const { return pixels_.data() + size_t(i * item_bytes()); }

 private:
  DatasetInfo info_;
  std::vector<uint8_t> pixels_;
  std::vector<int64_t> labels_;
  std::vector<float> mean_, std_;
};

// Visits every item of `ds` in index order: visit(i, pixels (C*H*W bytes), label map (H*W
// bytes; nullptr unless segmentation), label). Items are decoded in blocks on all cores;
// `visit` runs on the calling thread. Errors of read_pixels/read_label_map propagate.
using ItemVisitor =
    std::function<void(int64_t i, const uint8_t* pixels, const uint8_t* label_map, int64_t label)>;
void for_each_item(const Dataset& ds, const ItemVisitor& visit);

// The running hash behind Dataset::fingerprint(), for scans that compute more in the same pass.
class FingerprintHasher {
 public:
  // One item: its pixels, then its label map (when not null) or its label.
  void add(const uint8_t* pixels, size_t pixel_bytes, const uint8_t* label_map, size_t map_bytes,
           int64_t label);
  std::string hex() const;  // 16 hex digits

 private:
  uint64_t h_ = 1469598103934665603ull;  // FNV-1a 64 offset basis
};

struct DatasetSplits {
  std::shared_ptr<Dataset> train, test;
  // What a user should know about how the splits were made (exclusions, split rule, resizing);
  // `sraal data` prints them.
  std::vector<std::string> notes;
};

// How to load a dataset. Options that do not apply to the named dataset must keep their
// defaults (load_dataset throws ValueError otherwise, rather than silently ignoring them).
struct DatasetOptions {
  // fashion-mnist | mnist | cifar10 | cifar100 | caltech101 | cityscapes | image-folder |
  // synthetic | fashion-seg (segmentation canvases composed from Fashion-MNIST,
  // data/fashion_seg.h).
  std::string name = "fashion-mnist";
  // Where the files are; "" = default_data_dir(name) (fashion-mnist and fashion-seg have one). For
  // cifar10 / cifar100 either the extracted cifar-10-batches-bin / cifar-100-binary directory or
  // its parent.
  std::string dir;
  // caltech101 and image-folder: images are resized to image_size x image_size. 0 = the
  // dataset's default: 220 for caltech101; for image-folder the size every image already has
  // (all must share one size, else an IOError names the first that differs).
  int64_t image_size = 0;
  // cityscapes: images and label maps are resized to seg_height x seg_width. 0 = 256 x 512.
  int64_t seg_height = 0, seg_width = 0;
  // caltech101 and image-folder: the fraction of each class that goes to the test split
  // (stratified, deterministic given split_seed); in (0, 1).
  double test_fraction = 0.2;
  uint64_t split_seed = 0;
  // cifar100: the 20 coarse (superclass) labels instead of the 100 fine ones.
  bool coarse_labels = false;
  // image-folder: 3 (RGB; gray images are replicated) or 1 (gray images only). 0 = 3.
  int64_t channels = 0;
};

// The names load_dataset accepts, for help texts.
const std::vector<std::string>& dataset_names();
// The directory a dataset is read from when --data-dir is not given ("" when it has none).
std::string default_data_dir(const std::string& name);
// Loads a dataset's train and test splits. Throws IOError naming the file (or directory) and
// the fault for anything missing or malformed, ValueError for an unknown name or a bad option.
DatasetSplits load_dataset(const DatasetOptions& options);

// A deterministic synthetic task (class-dependent blobs over noise) for tests and smoke runs.
DatasetSplits make_synthetic(int64_t train_size, int64_t test_size, int64_t channels,
                             int64_t height, int64_t width, int64_t num_classes, uint64_t seed);

// A small deterministic segmentation task for tests and smoke runs ("synthetic-seg"): fashion-seg's
// recipe (data/fashion_seg.h) on 32 x 32 canvases of 1-3 discs whose gray level gives the class
// (10 classes + background); 512 train and 128 test canvases.
DatasetSplits make_synthetic_seg(uint64_t seed);

}  // namespace sr
