// Batch assembly and epoch shuffling (see batch.h).
#include "data/batch.h"

#include <algorithm>
#include <cmath>

#include "data/parallel_items.h"
#include "engine/error.h"
#include "engine/math/philox.h"
#include "engine/random.h"

namespace sr {

namespace {

double unit(uint32_t v) {
  return double(v) / 4294967296.0;  // [0, 1)
}

// The random-scale path of make_batch (see Augment): f from r.v[3], the window's offsets from
// r.v[0] and r.v[1]. Output pixel (y, x) (x mirrored first when flipping) has its centre at
// (y + oy + 0.5, x + ox + 0.5) in the item resized by f; outside [0, H f) x [0, W f) it is
// padding. Inside, the image is sampled bilinearly at ((y + oy + 0.5) / f - 0.5, ...) with the
// neighbours clamped to the item (align_corners = false), the label map at the nearest source
// pixel floor((y + oy + 0.5) / f).
void scaled_window(const uint8_t* px, const uint8_t* map, int64_t C, int64_t H, int64_t W,
                   const Augment& aug, const Philox4& r, bool flip, const std::vector<float>& scale,
                   const std::vector<float>& shift, int64_t ignore, float* dst, int64_t* lab) {
  const double f = aug.scale_min + (aug.scale_max - aug.scale_min) * unit(r.v[3]);
  const double pad = double(aug.crop_padding);
  auto offset = [&](int64_t size, uint32_t v) {
    double slack = double(size) * f - double(size);  // negative when the item shrinks
    double lo = std::min(0.0, slack) - pad, hi = std::max(0.0, slack) + pad;
    return std::floor(lo + (hi - lo) * unit(v) + 0.5);
  };
  const double oy = offset(H, r.v[0]), ox = offset(W, r.v[1]);
  const int64_t plane = H * W;
  for (int64_t y = 0; y < H; ++y) {
    const double cy = double(y) + oy + 0.5;
    const bool row_in = cy >= 0 && cy < double(H) * f;
    const double sy = std::clamp(cy / f - 0.5, 0.0, double(H - 1));
    const auto y0 = int64_t(sy);
    const int64_t y1 = std::min(y0 + 1, H - 1);
    const auto wy = float(sy - double(y0));
    for (int64_t x = 0; x < W; ++x) {
      const double cx = double(flip ? W - 1 - x : x) + ox + 0.5;
      const bool in = row_in && cx >= 0 && cx < double(W) * f;
      const int64_t at = y * W + x;
      if (!in) {
        for (int64_t c = 0; c < C; ++c) dst[c * plane + at] = shift[size_t(c)];
        if (lab) lab[at] = ignore;
        continue;
      }
      const double sx = std::clamp(cx / f - 0.5, 0.0, double(W - 1));
      const auto x0 = int64_t(sx);
      const int64_t x1 = std::min(x0 + 1, W - 1);
      const auto wx = float(sx - double(x0));
      for (int64_t c = 0; c < C; ++c) {
        const uint8_t* s = px + c * plane;
        float top = float(s[y0 * W + x0]) * (1 - wx) + float(s[y0 * W + x1]) * wx;
        float bot = float(s[y1 * W + x0]) * (1 - wx) + float(s[y1 * W + x1]) * wx;
        dst[c * plane + at] = (top * (1 - wy) + bot * wy) * scale[size_t(c)] + shift[size_t(c)];
      }
      if (lab) {
        const auto ny = std::min(H - 1, int64_t(cy / f)), nx = std::min(W - 1, int64_t(cx / f));
        lab[at] = int64_t(map[size_t(ny * W + nx)]);
      }
    }
  }
}

}  // namespace

Batch make_batch(const Dataset& ds, const std::vector<int64_t>& indices, const Augment& aug,
                 uint64_t seed, int64_t epoch) {
  const DatasetInfo& info = ds.info();
  int64_t N = int64_t(indices.size()), C = info.channels, H = info.height, W = info.width;
  bool seg = info.segmentation;
  SR_CHECK_VALUE(aug.crop_padding >= 0, "batch: crop padding must be >= 0, got {}",
                 aug.crop_padding);
  const bool scaling = aug.scale_min != 1.f || aug.scale_max != 1.f;
  SR_CHECK_VALUE(aug.scale_min > 0.f && aug.scale_max >= aug.scale_min && aug.scale_max <= 8.f,
                 "batch: random scale range [{}, {}] must satisfy 0 < min <= max <= 8",
                 aug.scale_min, aug.scale_max);
  Batch b;
  b.images = Tensor::empty({N, C, H, W});
  b.labels = seg ? Tensor::empty({N, H, W}, DType::i64) : Tensor::empty({N}, DType::i64);
  float* out = b.images.data<float>();
  int64_t* lab = b.labels.data<int64_t>();
  std::vector<float> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    scale[size_t(c)] = 1.f / (255.f * ds.norm_std()[size_t(c)]);
    shift[size_t(c)] = -ds.norm_mean()[size_t(c)] / ds.norm_std()[size_t(c)];
  }
  uint64_t stream = derive_seed(seed, uint64_t(epoch));
  for (int64_t idx : indices)
    SR_CHECK_VALUE(idx >= 0 && idx < ds.size(), "batch: item {} out of range for {} ({} items)",
                   idx, info.name, ds.size());
  // Items are read on all cores; an error (an undecodable file) reaches the caller.
  parallel_items(N, C * H * W * 4, [&](int64_t n) {
    std::vector<uint8_t> px(static_cast<size_t>(C * H * W)), map;
    int64_t item = indices[size_t(n)];
    ds.read_pixels(item, px.data());
    if (seg) {
      map.resize(size_t(H * W));
      ds.read_label_map(item, map.data());
    } else {
      lab[n] = ds.label(item);
    }
    Philox4 r = philox4x32_10(uint64_t(item), stream, seed);
    bool flip = aug.hflip && (r.v[2] & 1u);
    float* dst = out + n * C * H * W;
    int64_t* l = seg ? lab + n * H * W : nullptr;
    if (scaling) {
      scaled_window(px.data(), seg ? map.data() : nullptr, C, H, W, aug, r, flip, scale, shift,
                    info.ignore_index, dst, l);
      return;
    }
    int64_t p = aug.crop_padding;
    int64_t dy = p ? int64_t(r.v[0] % uint32_t(2 * p + 1)) - p : 0;
    int64_t dx = p ? int64_t(r.v[1] % uint32_t(2 * p + 1)) - p : 0;
    // Output (y, x) shows source (y + dy, flip ? W - 1 - x + dx : x + dx), or padding.
    auto source = [&](int64_t y, int64_t x) -> int64_t {
      int64_t sy = y + dy, sx = (flip ? W - 1 - x : x) + dx;
      return (sy >= 0 && sy < H && sx >= 0 && sx < W) ? sy * W + sx : -1;
    };
    for (int64_t c = 0; c < C; ++c) {
      const uint8_t* src = px.data() + c * H * W;
      float* d = dst + c * H * W;
      float sc = scale[size_t(c)], sh = shift[size_t(c)];
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          int64_t s = source(y, x);
          d[y * W + x] = (s >= 0 ? float(src[s]) : 0.f) * sc + sh;
        }
    }
    if (seg) {
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          int64_t s = source(y, x);
          l[y * W + x] = s >= 0 ? int64_t(map[size_t(s)]) : info.ignore_index;
        }
    }
  });
  return b;
}

std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& pool,
                                                int64_t batch_size, bool shuffle, bool drop_last,
                                                uint64_t seed, int64_t epoch) {
  SR_CHECK_VALUE(batch_size > 0, "batch size must be positive, got {}", batch_size);
  std::vector<int64_t> order = pool;
  if (shuffle) {
    Generator g(derive_seed(seed, uint64_t(epoch) + 0x5eed));
    std::vector<int64_t> perm = g.permutation(int64_t(pool.size()));
    for (size_t i = 0; i < perm.size(); ++i) order[i] = pool[size_t(perm[i])];
  }
  std::vector<std::vector<int64_t>> out;
  for (size_t s = 0; s < order.size(); s += size_t(batch_size)) {
    size_t e = std::min(order.size(), s + size_t(batch_size));
    if (drop_last && e - s < size_t(batch_size)) break;
    out.emplace_back(order.begin() + long(s), order.begin() + long(e));
  }
  return out;
}

}  // namespace sr
