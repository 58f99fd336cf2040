// The fuzz targets' bodies, one per binary parser. Each runs one input through a parser the way
// the loaders use it and returns when the input is accepted or throws sr::Error when it is
// rejected; anything else (a crash, a sanitizer report, another exception) is a finding. The
// libFuzzer entry points (fuzz_<target>.cpp built with SR_LIBFUZZER), the corpus generator and
// the regression tests (tests/test_fuzz_regressions.cpp) share them, and the input layouts below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "engine/error.h"

namespace sr::fuzz {

// IDX: bytes 0-1 little-endian length L of the images file, then its L bytes (clamped to what
// is there), then the labels file; both plain or gzip. Read as an MNIST images/labels pair.
void idx_input(const uint8_t* data, size_t size);
// CIFAR: byte 0 % 3 picks cifar10, cifar100 fine or cifar100 coarse records; the rest is the
// file.
void cifar_input(const uint8_t* data, size_t size);
// Image: byte 0 bit 0 picks 1 or 3 channels; bytes 1 and 2 the output width and height
// (1 + byte % 64); the rest is the file. Header, channel rule, decode, resize, CHW.
void image_input(const uint8_t* data, size_t size);
// Cityscapes label map: bytes 0 and 1 the output width and height (1 + byte % 64); the rest is
// the labelIds file. Header checks, decode, labelId -> trainId, nearest resize.
void label_map_input(const uint8_t* data, size_t size);

constexpr size_t kImagePrefix = 3, kLabelMapPrefix = 2;

// A broken invariant of our code on an accepted input: not an sr::Error, so it is a finding.
struct InvariantViolation : std::logic_error {
  using std::logic_error::logic_error;
};

// Runs a target; a rejected input (sr::Error) is a normal outcome.
inline int run_guarded(void (*target)(const uint8_t*, size_t), const uint8_t* data, size_t size) {
  try {
    target(data, size);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace sr::fuzz
