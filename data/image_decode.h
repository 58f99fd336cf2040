// Image files through stb_image (PNG and JPEG; stb_image's other decoders are compiled out):
// header checks without decoding, and decoding to 8-bit pixels with a chosen channel count.
// Every fault is an IOError naming the file. Thread-safe (stb_image keeps its failure reason
// per thread).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sr {

struct ImageHeader {
  int width = 0, height = 0;
  int channels = 0;  // in the file: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  bool sixteen_bit = false;
};

// The largest image accepted, in pixels (32 Mi: 8192 x 4096, or a 33-megapixel photo). A corrupt
// header can claim any size, and stb_image then decodes that many pixels from a few bytes (a
// 780-byte JPEG claiming 2832 x 48129 took 81 s and 1.2 GB when fuzzed); the data sets' images
// are at most 2048 x 1024 (Cityscapes).
constexpr int64_t kMaxImagePixels = int64_t(1) << 25;

// Reads only the header of `path`. IOError "file not found", "undecodable image (reason)" or
// "larger than the ... megapixels accepted".
ImageHeader read_image_header(const std::string& path);
// The same for a file's bytes held in memory; `name` stands for the path in messages.
ImageHeader read_image_header(const std::string& name, std::span<const uint8_t> bytes);

// Throws IOError "wrong channel count" unless an image with `file_channels` channels can be
// read as `want` channels: a 3-channel data set takes RGB and gray (replicated) images, a
// 1-channel one gray images only. Images with alpha are refused rather than silently flattened.
void check_image_channels(const std::string& path, int file_channels, int want);

struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> hwc;  // interleaved rows
};

// Decodes `path` with `channels` channels (stb_image converts gray to RGB by replication and
// 16-bit samples to 8-bit). IOError naming the file when it cannot be read or decoded.
DecodedImage decode_image(const std::string& path, int channels);
// The same for a file's bytes held in memory (fuzzing, tests); `name` stands for the path.
DecodedImage decode_image(const std::string& name, std::span<const uint8_t> bytes, int channels);

}  // namespace sr
