// IDX files (the MNIST family's format), plain or gzip-compressed.
#pragma once

#include <string>

#include "data/dataset.h"

namespace sr {

// Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] of MNIST or Fashion-MNIST.
DatasetSplits load_mnist_dir(const std::string& name, const std::string& dir);

// One images/labels pair; every fault is an IOError naming the file.
std::shared_ptr<InMemoryDataset> load_idx_pair(const std::string& name,
                                               const std::string& images_path,
                                               const std::string& labels_path,
                                               int64_t num_classes);

}  // namespace sr
