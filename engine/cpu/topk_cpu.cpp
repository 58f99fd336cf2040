// Fast CPU top-k: indices of the k largest scores, by score descending, ties by index
// ascending (the order of sr::ref::top_k, which stable-sorts everything).
//
// Each score becomes a 64-bit value (order key << 32 | ~index) (selection_math.h) whose order is
// exactly (score desc, index asc), with no ties. A thread keeps the k largest values of its
// contiguous range in a min-heap: one read of the scores, values built 1,024 at a time with
// SIMD, and an element enters the heap only when it beats its minimum (scores in random order:
// about k ln(n / k) replacements of O(log k) each; sorted ascending scores: n of them). The
// threads' heaps are merged and the k best sorted. Memory O(k) per thread; threads only from
// 4M scores.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "engine/cpu/selection_cpu.h"
#include "engine/error.h"
#include "engine/kernels.h"
#include "engine/parallel.h"

namespace sr::cpu {

std::vector<int64_t> top_k(const float* s, int64_t n, int64_t k) {
  SR_CHECK_VALUE(n < (int64_t(1) << 32), "top_k: {} scores exceed 2^32", n);
  std::vector<int64_t> out;
  if (k <= 0) return out;
  k = std::min(k, n);
  // Threads only for long inputs: one read of 4 MB takes under a millisecond on one core,
  // about what a fork/join costs when other work on the machine delays the second thread.
  constexpr int64_t kThreadedFrom = int64_t(1) << 22;
  int nt = (n >= kThreadedFrom && !omp_in_parallel()) ? num_threads() : 1;
  std::vector<std::vector<uint64_t>> heaps(static_cast<size_t>(nt));
  std::vector<int64_t> nan_at(static_cast<size_t>(nt), n);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int64_t b = n * t / nt, e = n * (t + 1) / nt;
    std::vector<uint64_t>& h = heaps[size_t(t)];
    auto value = [s](int64_t i) {
      return (uint64_t(float_order_key(s[i])) << 32) | uint64_t(0xffffffffu - uint32_t(i));
    };
    const int64_t fill = std::min(e, b + k);
    for (int64_t i = b; i < fill; ++i) h.push_back(value(i));
    std::make_heap(h.begin(), h.end(), std::greater<uint64_t>());
    bool nan = false;
    for (int64_t i = b; i < fill; ++i) nan |= std::isnan(s[i]);
    uint64_t low = h.empty() ? 0 : h.front();
    constexpr int64_t kChunk = 1024;  // values computed a chunk at a time (vectorised)
    uint64_t vals[kChunk];
    for (int64_t c0 = fill; c0 < e; c0 += kChunk) {
      const int64_t len = std::min(kChunk, e - c0);
      int nans = 0;
#pragma omp simd reduction(+ : nans)
      for (int64_t j = 0; j < len; ++j) {
        vals[j] = value(c0 + j);
        nans += s[c0 + j] != s[c0 + j];
      }
      nan |= nans > 0;
      for (int64_t j = 0; j < len; ++j) {
        if (vals[j] > low) {  // rare for long ranges: replace the heap's minimum
          std::pop_heap(h.begin(), h.end(), std::greater<uint64_t>());
          h.back() = vals[j];
          std::push_heap(h.begin(), h.end(), std::greater<uint64_t>());
          low = h.front();
        }
      }
    }
    if (nan)
      for (int64_t i = b; i < e; ++i)
        if (std::isnan(s[i])) {
          nan_at[size_t(t)] = i;
          break;
        }
  }
  int64_t bad = *std::min_element(nan_at.begin(), nan_at.end());
  SR_CHECK_VALUE(bad == n, "top_k: score {} is NaN", bad);
  std::vector<uint64_t> all;
  for (auto& h : heaps) all.insert(all.end(), h.begin(), h.end());
  std::nth_element(all.begin(), all.begin() + (k - 1), all.end(), std::greater<uint64_t>());
  std::sort(all.begin(), all.begin() + k, std::greater<uint64_t>());
  out.reserve(size_t(k));
  for (int64_t i = 0; i < k; ++i) out.push_back(int64_t(0xffffffffu - uint32_t(all[size_t(i)])));
  return out;
}

namespace {

void top_k_kernel(const Tensor& scores, int64_t k, std::vector<int64_t>& picks) {
  picks = top_k(scores.data<float>(), scores.size(0), k);
}

}  // namespace

SR_REGISTER_KERNEL(top_k, cpu, top_k_kernel);

}  // namespace sr::cpu
