// Raw images normalised as in training (see raw_input.h).
#include "app/raw_input.h"

#include <filesystem>

#include "data/image_decode.h"
#include "data/image_folder.h"
#include "data/resize.h"
#include "engine/error.h"
#include "engine/serialize.h"

namespace sr::app {

namespace {

// (N, C, H, W) bytes -> (pixel / 255 - mean[c]) / std[c].
Tensor normalise(const std::vector<uint8_t>& bytes, int64_t n, const Preprocess& pre, int64_t h,
                 int64_t w) {
  Tensor out = Tensor::empty({n, pre.channels, h, w});
  float* dst = out.data<float>();
  const int64_t plane = h * w;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < pre.channels; ++c) {
      const size_t base = size_t((i * pre.channels + c) * plane);
      const float mean = pre.mean[size_t(c)], inv_std = 1.f / pre.std[size_t(c)];
      for (int64_t p = 0; p < plane; ++p)
        dst[base + size_t(p)] = (float(bytes[base + size_t(p)]) / 255.f - mean) * inv_std;
    }
  return out;
}

RawInput from_images(const std::vector<std::string>& files, const Preprocess& pre) {
  const int64_t item = pre.channels * pre.height * pre.width;
  std::vector<uint8_t> bytes(size_t(item) * files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    DecodedImage img = decode_image(files[i], int(pre.channels));
    resize_to_chw(img.hwc.data(), img.width, img.height, int(pre.channels),
                  bytes.data() + i * size_t(item), int(pre.width), int(pre.height));
  }
  return {normalise(bytes, int64_t(files.size()), pre, pre.height, pre.width), files};
}

RawInput from_npy(const std::string& path, const Preprocess& pre, bool any_size) {
  // load_npy reads |u1 as int32; any other integer or float array is not raw pixels.
  std::string descr;
  Tensor t = load_npy(path, &descr);
  SR_CHECK_IO(descr == "|u1", "{}: --raw takes uint8 pixels (|u1), got {}", path, descr);
  SR_CHECK_IO(t.dim() == 4 && t.size(1) == pre.channels &&
                  (any_size || (t.size(2) == pre.height && t.size(3) == pre.width)),
              "{}: --raw takes (N, {}, {}, {}) uint8 pixels{}, got {}", path, pre.channels,
              pre.height, pre.width, any_size ? " (any H and W)" : "", shape_str(t.shape()));
  std::vector<int32_t> v = t.to_vector_as<int32_t>();
  std::vector<uint8_t> bytes(v.begin(), v.end());
  return {normalise(bytes, t.size(0), pre, t.size(2), t.size(3)), {}};
}

}  // namespace

RawInput load_raw_input(const std::string& path, const Preprocess& pre, bool any_size) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) {
    std::vector<std::string> files = list_images(path);
    SR_CHECK_IO(!files.empty(), "{}: no .png, .jpg or .jpeg images in the folder", path);
    return from_images(files, pre);
  }
  SR_CHECK_IO(fs::exists(path), "{}: input not found", path);
  if (is_image_name(path)) return from_images({path}, pre);
  return from_npy(path, pre, any_size);
}

}  // namespace sr::app
