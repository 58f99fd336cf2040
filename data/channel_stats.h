// Per-channel mean and standard deviation of 8-bit images, with pixels scaled to [0, 1]: the
// statistics a Dataset reports and batches normalise with.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace sr {

class ChannelStats {
 public:
  explicit ChannelStats(int64_t channels);
  // Adds one image of `channels` planes of `plane` pixels each (CHW order).
  void add(const uint8_t* chw, int64_t plane);
  // Mean and standard deviation per channel (std at least 1e-6, so normalising never divides by
  // zero; both 0 / 1e-6 when nothing was added).
  std::vector<float> mean() const;
  std::vector<float> std() const;

 private:
  int64_t channels_;
  std::vector<double> sum_, sum_sq_;
  double count_ = 0;  // pixels per channel
};

// The statistics of at most `max_items` of `n` items, evenly spaced (items floor(k * n / m) for
// k < m = min(n, max_items)), read with `read(i, dst)` (item_bytes bytes, CHW) on all cores.
// Deterministic: the result does not depend on the number of threads.
void sample_channel_stats(int64_t n, int64_t channels, int64_t plane, int64_t max_items,
                          const std::function<void(int64_t, uint8_t*)>& read,
                          std::vector<float>& mean_out, std::vector<float>& std_out);

}  // namespace sr
