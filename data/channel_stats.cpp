// Per-channel mean/std accumulation and the sampled statistics of on-the-fly datasets.
#include "data/channel_stats.h"

#include <algorithm>
#include <cmath>

#include "data/parallel_items.h"

namespace sr {

ChannelStats::ChannelStats(int64_t channels)
    : channels_(channels), sum_(size_t(channels), 0.0), sum_sq_(size_t(channels), 0.0) {}

void ChannelStats::add(const uint8_t* chw, int64_t plane) {
  for (int64_t c = 0; c < channels_; ++c) {
    const uint8_t* p = chw + c * plane;
    uint64_t a = 0, a2 = 0;  // exact integer sums; doubles hold them exactly below 2^53
    for (int64_t k = 0; k < plane; ++k) a += p[k], a2 += uint64_t(p[k]) * p[k];
    sum_[size_t(c)] += double(a), sum_sq_[size_t(c)] += double(a2);
  }
  count_ += double(plane);
}

std::vector<float> ChannelStats::mean() const {
  std::vector<float> m;
  for (int64_t c = 0; c < channels_; ++c)
    m.push_back(count_ > 0 ? float(sum_[size_t(c)] / count_ / 255.0) : 0.f);
  return m;
}

std::vector<float> ChannelStats::std() const {
  std::vector<float> s;
  for (int64_t c = 0; c < channels_; ++c) {
    double m = count_ > 0 ? sum_[size_t(c)] / count_ / 255.0 : 0.0;
    double var = count_ > 0 ? sum_sq_[size_t(c)] / count_ / (255.0 * 255.0) - m * m : 0.0;
    s.push_back(float(std::sqrt(std::max(var, 1e-12))));
  }
  return s;
}

void sample_channel_stats(int64_t n, int64_t channels, int64_t plane, int64_t max_items,
                          const std::function<void(int64_t, uint8_t*)>& read,
                          std::vector<float>& mean_out, std::vector<float>& std_out) {
  int64_t m = std::min(n, max_items);
  int64_t bytes = channels * plane;
  // Decode in blocks on all cores, accumulate in index order on this thread.
  const int64_t block = 32;
  std::vector<uint8_t> buf(size_t(block * bytes));
  ChannelStats stats(channels);
  for (int64_t b0 = 0; b0 < m; b0 += block) {
    int64_t nb = std::min(block, m - b0);
    parallel_items(nb, bytes * 8, [&](int64_t j) {
      int64_t k = b0 + j;
      read(k * n / m, buf.data() + j * bytes);
    });
    for (int64_t j = 0; j < nb; ++j) stats.add(buf.data() + j * bytes, plane);
  }
  mean_out = stats.mean();
  std_out = stats.std();
}

}  // namespace sr
