// Bilinear (stb_image_resize, tent filter), nearest-neighbour and layout conversion of 8-bit
// images.
#include "data/resize.h"

#include <stb/stb_image_resize.h>

#include <cstring>
#include <vector>

#include "engine/error.h"

namespace sr {

void resize_bilinear(const uint8_t* src, int w, int h, int c, uint8_t* dst, int ow, int oh) {
  SR_CHECK_VALUE(w > 0 && h > 0 && ow > 0 && oh > 0 && c > 0 && c <= 4,
                 "resize: bad sizes {}x{}x{} -> {}x{}", w, h, c, ow, oh);
  if (w == ow && h == oh) {
    std::memcpy(dst, src, size_t(w) * size_t(h) * size_t(c));
    return;
  }
  int ok = stbir_resize_uint8_generic(src, w, h, 0, dst, ow, oh, 0, c, STBIR_ALPHA_CHANNEL_NONE, 0,
                                      STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
                                      STBIR_COLORSPACE_LINEAR, nullptr);
  SR_CHECK(ok, "resize: out of memory resizing {}x{} to {}x{}", w, h, ow, oh);
}

void resize_nearest(const uint8_t* src, int w, int h, uint8_t* dst, int ow, int oh) {
  SR_CHECK_VALUE(w > 0 && h > 0 && ow > 0 && oh > 0, "resize: bad sizes {}x{} -> {}x{}", w, h, ow,
                 oh);
  for (int y = 0; y < oh; ++y) {
    int64_t sy = (int64_t(2 * y + 1) * h) / (2 * int64_t(oh));
    const uint8_t* row = src + sy * w;
    for (int x = 0; x < ow; ++x)
      dst[int64_t(y) * ow + x] = row[(int64_t(2 * x + 1) * w) / (2 * int64_t(ow))];
  }
}

void hwc_to_chw(const uint8_t* src, int w, int h, int c, uint8_t* dst) {
  int64_t plane = int64_t(w) * h;
  if (c == 1) {
    std::memcpy(dst, src, size_t(plane));
    return;
  }
  for (int64_t k = 0; k < plane; ++k)
    for (int ch = 0; ch < c; ++ch) dst[ch * plane + k] = src[k * c + ch];
}

void resize_to_chw(const uint8_t* src, int w, int h, int c, uint8_t* dst, int ow, int oh) {
  if (w == ow && h == oh) {
    hwc_to_chw(src, w, h, c, dst);
    return;
  }
  std::vector<uint8_t> resized(size_t(ow) * size_t(oh) * size_t(c));
  resize_bilinear(src, w, h, c, resized.data(), ow, oh);
  hwc_to_chw(resized.data(), ow, oh, c, dst);
}

}  // namespace sr
