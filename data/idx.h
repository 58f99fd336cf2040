// IDX files (the MNIST family's format), plain or gzip-compressed.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "data/dataset.h"

namespace sr {

// Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] of MNIST or Fashion-MNIST.
DatasetSplits load_mnist_dir(const std::string& name, const std::string& dir);

// One images/labels pair; every fault is an IOError naming the file.
std::shared_ptr<InMemoryDataset> load_idx_pair(const std::string& name,
                                               const std::string& images_path,
                                               const std::string& labels_path, int64_t num_classes);

// The same for the two files' bytes held in memory (plain or gzip, exactly as on disk); the
// names stand for the paths in messages. For fuzzing and tests.
std::shared_ptr<InMemoryDataset> parse_idx_pair(
    const std::string& name, const std::string& images_name, std::span<const uint8_t> images,
    const std::string& labels_name, std::span<const uint8_t> labels, int64_t num_classes);

}  // namespace sr
