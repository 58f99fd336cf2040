// stb_image header reads and decoding, of files or of bytes in memory, with file-naming errors
// (the implementation itself is compiled in data/stb_impl.cpp). A file is decoded from its bytes
// read whole, the same path that the fuzz target of images exercises.
#include "data/image_decode.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace sr {

namespace {
const char* channel_words(int n) {
  switch (n) {
    case 1:
      return "gray";
    case 2:
      return "gray+alpha";
    case 3:
      return "RGB";
    case 4:
      return "RGBA";
    default:
      return "unknown";
  }
}

// The header fields stbi_info reported (`ok`), checked; shared by the file and memory versions.
ImageHeader checked_header(const std::string& path, bool ok, ImageHeader h) {
  if (!ok) {
    const char* why = stbi_failure_reason();
    throw IOError(fmt::format("{}: undecodable image ({})", path, why ? why : "unknown format"));
  }
  SR_CHECK_IO(h.width > 0 && h.height > 0, "{}: undecodable image (size {}x{})", path, h.width,
              h.height);
  SR_CHECK_IO(int64_t(h.width) * h.height <= kMaxImagePixels,
              "{}: image of {}x{} pixels is larger than the {} megapixels accepted", path, h.width,
              h.height, kMaxImagePixels >> 20);
  return h;
}

// Copies stb_image's pixels (null after a failure) into a DecodedImage and frees them.
DecodedImage take_pixels(const std::string& path, stbi_uc* p, int width, int height, int channels) {
  if (!p) {
    const char* why = stbi_failure_reason();
    throw IOError(fmt::format("{}: undecodable image ({})", path, why ? why : "unknown format"));
  }
  DecodedImage img;
  img.width = width, img.height = height, img.channels = channels;
  size_t n = size_t(img.width) * size_t(img.height) * size_t(channels);
  img.hwc.assign(p, p + n);
  stbi_image_free(p);
  return img;
}

std::vector<uint8_t> read_file(const std::string& path) {
  SR_CHECK_IO(std::filesystem::is_regular_file(path), "{}: file not found", path);
  std::ifstream f(path, std::ios::binary);
  SR_CHECK_IO(f.good(), "{}: cannot open", path);
  std::vector<uint8_t> bytes(size_t(std::filesystem::file_size(path)));
  f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
  SR_CHECK_IO(f.gcount() == std::streamsize(bytes.size()), "{}: read error", path);
  return bytes;
}

}  // namespace

ImageHeader read_image_header(const std::string& path) {
  SR_CHECK_IO(std::filesystem::is_regular_file(path), "{}: file not found", path);
  ImageHeader h;
  bool ok = stbi_info(path.c_str(), &h.width, &h.height, &h.channels) != 0;
  h = checked_header(path, ok, h);
  h.sixteen_bit = stbi_is_16_bit(path.c_str()) != 0;
  return h;
}

ImageHeader read_image_header(const std::string& name, std::span<const uint8_t> bytes) {
  bytes = bytes.first(std::min<size_t>(bytes.size(), INT_MAX));
  ImageHeader h;
  int len = int(bytes.size());
  bool ok = stbi_info_from_memory(bytes.data(), len, &h.width, &h.height, &h.channels) != 0;
  h = checked_header(name, ok, h);
  h.sixteen_bit = stbi_is_16_bit_from_memory(bytes.data(), len) != 0;
  return h;
}

void check_image_channels(const std::string& path, int file_channels, int want) {
  bool ok = want == 3 ? (file_channels == 1 || file_channels == 3) : file_channels == 1;
  SR_CHECK_IO(ok,
              "{}: wrong channel count: the image has {} channel(s) ({}), this data set needs {}",
              path, file_channels, channel_words(file_channels),
              want == 3 ? "RGB or gray images" : "gray images");
}

DecodedImage decode_image(const std::string& path, int channels) {
  return decode_image(path, read_file(path), channels);
}

DecodedImage decode_image(const std::string& name, std::span<const uint8_t> bytes, int channels) {
  bytes = bytes.first(std::min<size_t>(bytes.size(), INT_MAX));
  read_image_header(name, bytes);  // refuses what stb_image cannot read, and oversized images
  int width = 0, height = 0, file_channels = 0;
  stbi_uc* p = stbi_load_from_memory(bytes.data(), int(bytes.size()), &width, &height,
                                     &file_channels, channels);
  return take_pixels(name, p, width, height, channels);
}

}  // namespace sr
