// stb_image header reads and decoding with file-naming errors (the implementation itself is
// compiled in data/stb_impl.cpp).
#include "data/image_decode.h"

#include <stb/stb_image.h>

#include <cstring>
#include <filesystem>

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
}  // namespace

ImageHeader read_image_header(const std::string& path) {
  SR_CHECK_IO(std::filesystem::is_regular_file(path), "{}: file not found", path);
  ImageHeader h;
  if (!stbi_info(path.c_str(), &h.width, &h.height, &h.channels)) {
    const char* why = stbi_failure_reason();
    throw IOError(fmt::format("{}: undecodable image ({})", path, why ? why : "unknown format"));
  }
  SR_CHECK_IO(h.width > 0 && h.height > 0, "{}: undecodable image (size {}x{})", path, h.width,
              h.height);
  h.sixteen_bit = stbi_is_16_bit(path.c_str()) != 0;
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
  DecodedImage img;
  int file_channels = 0;
  stbi_uc* p = stbi_load(path.c_str(), &img.width, &img.height, &file_channels, channels);
  if (!p) {
    SR_CHECK_IO(std::filesystem::is_regular_file(path), "{}: file not found", path);
    const char* why = stbi_failure_reason();
    throw IOError(fmt::format("{}: undecodable image ({})", path, why ? why : "unknown format"));
  }
  img.channels = channels;
  size_t n = size_t(img.width) * size_t(img.height) * size_t(channels);
  img.hwc.assign(p, p + n);
  stbi_image_free(p);
  return img;
}

}  // namespace sr
