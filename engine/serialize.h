// Weight and array files: safetensors (named tensors plus string metadata) and NumPy .npy.
//
// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {"name": {"dtype": "F32"|"I32"|"I64", "shape": [...],
// "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}, then the raw
// little-endian data; offsets are relative to the data section. This writer packs the tensors
// in the order given, without gaps, and pads the header with spaces to a multiple of 8 bytes.
// The reader also takes F16, BF16 and F64 tensors (PyTorch's half, bfloat16 and double
// weights) and converts them to float32. A PyTorch pickle (.pt/.pth: a zip archive or a bare
// pickle) is recognised and rejected with the one-line conversion to safetensors.
//
// .npy: versions 1.0 and 2.0 are read ('<f4', '<i4', '<i8', and '<f8' read as float32, '|u1'
// read as int32; C order only); version 1.0 is written (2.0 when the header needs it).
//
// Files are written atomically (to `path + ".tmp"`, fsync, rename), from a contiguous CPU copy
// of each tensor. Any fault in a file being read, or a path that cannot be written, throws
// IOError naming the path and the fault; a corrupt header never makes the reader allocate
// more than the file holds.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace sr {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafetensorsFile {
  NamedTensors tensors;  // on the CPU, contiguous, in the order of their data in the file
  std::map<std::string, std::string> metadata;
};

// Throws ValueError for an undefined tensor or a duplicate or reserved ("__metadata__") name.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
SafetensorsFile load_safetensors(const std::string& path);

// Writes the logical (C-order) values of `t`, whatever its layout and device.
void save_npy(const std::string& path, const Tensor& t);
// On the CPU, contiguous; `descr` (when given) receives the file's dtype ('<f4', '|u1', ...).
Tensor load_npy(const std::string& path, std::string* descr = nullptr);

}  // namespace sr
