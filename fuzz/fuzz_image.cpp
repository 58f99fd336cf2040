// Fuzz target: an image file (PNG, JPEG, or anything else stb_image recognises) through what
// ImageFileDataset does with it: header check, channel rule, decode, bilinear resize, CHW.
#include <span>
#include <vector>

#include "data/image_decode.h"
#include "data/resize.h"
#include "fuzz/fuzz_targets.h"

namespace sr::fuzz {

void image_input(const uint8_t* data, size_t size) {
  if (size < kImagePrefix) return;
  int channels = (data[0] & 1) ? 3 : 1;
  int ow = 1 + data[1] % 64, oh = 1 + data[2] % 64;
  std::span<const uint8_t> file(data + kImagePrefix, size - kImagePrefix);
  ImageHeader h = read_image_header("image.png", file);
  check_image_channels("image.png", h.channels, channels);
  DecodedImage img = decode_image("image.png", file, channels);
  if (img.width <= 0 || img.height <= 0 || img.channels != channels ||
      img.hwc.size() != size_t(img.width) * size_t(img.height) * size_t(channels))
    throw InvariantViolation("image: decoded pixels do not match the decoded size");
  std::vector<uint8_t> chw(size_t(ow) * size_t(oh) * size_t(channels));
  resize_to_chw(img.hwc.data(), img.width, img.height, channels, chw.data(), ow, oh);
}

}  // namespace sr::fuzz

#ifdef SR_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sr::fuzz::run_guarded(sr::fuzz::image_input, data, size);
}
#endif
