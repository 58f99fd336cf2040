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

// Reads only the header of `path`. IOError "file not found" or "undecodable image (reason)".
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
