// CIFAR-10 and CIFAR-100, the official binary versions, decoded once into memory.
//
//   cifar10:  cifar-10-batches-bin/data_batch_{1..5}.bin (train), test_batch.bin (test); each
//             record is 1 label byte + 3072 pixel bytes (1024 R, then G, then B, rows of 32).
//             Class names from batches.meta.txt when present, else the standard ten.
//   cifar100: cifar-100-binary/train.bin, test.bin; each record is a coarse label byte, a fine
//             label byte, then 3072 pixel bytes. Fine labels (100 classes) by default, coarse
//             (20 superclasses) on request; names from fine_label_names.txt /
//             coarse_label_names.txt when present, else the class numbers.
//
// `dir` is the extracted directory itself or its parent. Every fault (missing directory or file,
// empty file, a size that is not a whole number of records, a label out of range, a names file
// with the wrong number of names) is an IOError naming the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "data/dataset.h"

namespace sr {

DatasetSplits load_cifar10(const std::string& dir);
DatasetSplits load_cifar100(const std::string& dir, bool coarse_labels);

// The record layout of a file and the label kept.
enum class CifarFormat { cifar10, cifar100_fine, cifar100_coarse };
// One CIFAR binary file's bytes held in memory (`path` stands for the file in messages), checked
// and decoded as the loaders do each file; the standard class names. For fuzzing and tests.
std::shared_ptr<InMemoryDataset> parse_cifar_records(const std::string& path,
                                                     std::span<const uint8_t> bytes,
                                                     CifarFormat format);

}  // namespace sr
