// Batch assembly and epoch shuffling (see batch.h).
#include "data/batch.h"

#include "data/parallel_items.h"
#include "engine/error.h"
#include "engine/math/philox.h"
#include "engine/random.h"

namespace sr {

Batch make_batch(const Dataset& ds, const std::vector<int64_t>& indices, const Augment& aug,
                 uint64_t seed, int64_t epoch) {
  const DatasetInfo& info = ds.info();
  int64_t N = int64_t(indices.size()), C = info.channels, H = info.height, W = info.width;
  bool seg = info.segmentation;
  SR_CHECK_VALUE(aug.crop_padding >= 0, "batch: crop padding must be >= 0, got {}",
                 aug.crop_padding);
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
    int64_t p = aug.crop_padding;
    int64_t dy = p ? int64_t(r.v[0] % uint32_t(2 * p + 1)) - p : 0;
    int64_t dx = p ? int64_t(r.v[1] % uint32_t(2 * p + 1)) - p : 0;
    bool flip = aug.hflip && (r.v[2] & 1u);
    // Output (y, x) shows source (y + dy, flip ? W - 1 - x + dx : x + dx), or padding.
    auto source = [&](int64_t y, int64_t x) -> int64_t {
      int64_t sy = y + dy, sx = (flip ? W - 1 - x : x) + dx;
      return (sy >= 0 && sy < H && sx >= 0 && sx < W) ? sy * W + sx : -1;
    };
    float* dst = out + n * C * H * W;
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
      int64_t* l = lab + n * H * W;
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
