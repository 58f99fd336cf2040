// Datasets: what a data set is to the rest of the system, and the in-memory image set that the
// small data sets (MNIST, Fashion-MNIST, CIFAR, synthetic) decode into once.
//
// A dataset has a size, a number of classes, image geometry, per-channel mean/std, and items:
// an 8-bit image (C, H, W) and a label. Labeled and unlabeled pools are index sets over one
// dataset (never copies). Batches (data/batch.h) turn items into normalised float tensors.
#pragma once

#include <cstdint>
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
  // Class of item i (classification datasets).
  virtual int64_t label(int64_t i) const = 0;
  // Writes item i's label map, H*W class ids (segmentation datasets; others throw).
  virtual void read_label_map(int64_t i, uint8_t* dst) const;
  // Per-channel mean and standard deviation of the pixels scaled to [0, 1].
  virtual const std::vector<float>& mean() const = 0;
  virtual const std::vector<float>& std() const = 0;
  int64_t item_bytes() const { return info().channels * info().height * info().width; }
  // 64-bit FNV-1a over every item's pixels and label, in order, as 16 hex digits.
  std::string fingerprint() const;
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

struct DatasetSplits {
  std::shared_ptr<Dataset> train, test;
};

// The directory a dataset is read from when --data-dir is not given ("" when it has none).
std::string default_data_dir(const std::string& name);
// Loads `name` (fashion-mnist, mnist, synthetic) from `dir`; throws IOError naming the file and
// the fault for anything missing or malformed, ValueError for an unknown name.
DatasetSplits load_dataset(const std::string& name, const std::string& dir);

// A deterministic synthetic task (class-dependent blobs over noise) for tests and smoke runs.
DatasetSplits make_synthetic(int64_t train_size, int64_t test_size, int64_t channels,
                             int64_t height, int64_t width, int64_t num_classes, uint64_t seed);

}  // namespace sr
