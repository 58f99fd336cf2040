// Kernel study: top-k of N scores (the discriminator's state), score descending, ties by index.
//
//   v1 reference      sr::ref::top_k: stable sort of all N indices, one thread
//   v2 partial sort   std::partial_sort of all N 64-bit (key << 32 | ~index) values (one thread)
//   v3 radix select   histogram of the keys' top 16 bits (all threads), candidates at or
//                     above the k-th bin, nth_element + sort of those (two reads)
//   v4 heap select    a k-element min-heap per thread over its range, heaps merged (engine)
// Scores are rounded to 1/1000 so that ties are common. Bytes (model): N 4 per read of the
// scores (v3 reads them twice). Check: the k indices equal the reference's.
//
//   bench_kernel_topk [N k]...   default: 1000000 1000
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/cpu/selection_cpu.h"
#include "engine/cpu/selection_reference.h"
#include "engine/ops.h"

namespace sr::study {
namespace {

std::vector<uint64_t> composite(const float* s, int64_t n) {
  std::vector<uint64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[size_t(i)] = (uint64_t(float_order_key(s[i])) << 32) | uint64_t(0xffffffffu - uint32_t(i));
  return v;
}

std::vector<int64_t> indices(const std::vector<uint64_t>& v, int64_t k) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < k; ++i) out.push_back(int64_t(0xffffffffu - uint32_t(v[size_t(i)])));
  return out;
}

// v3: radix select on the keys' top 16 bits.
std::vector<int64_t> radix_select(const float* s, int64_t n, int64_t k) {
  constexpr int64_t kBins = 65536;
  const int nt = omp_get_max_threads();
  std::vector<uint32_t> hist(static_cast<size_t>(nt * kBins), 0);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    uint32_t* h = hist.data() + t * kBins;
    for (int64_t i = n * t / nt; i < n * (t + 1) / nt; ++i) ++h[float_order_key(s[i]) >> 16];
  }
  int64_t above = 0, bin = kBins - 1;
  for (; bin > 0; --bin) {
    int64_t count = 0;
    for (int t = 0; t < nt; ++t) count += hist[size_t(t * kBins + bin)];
    if (above + count >= k) break;
    above += count;
  }
  std::vector<std::vector<uint64_t>> parts(static_cast<size_t>(nt));
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    for (int64_t i = n * t / nt; i < n * (t + 1) / nt; ++i) {
      uint32_t key = float_order_key(s[i]);
      if (int64_t(key >> 16) >= bin)
        parts[size_t(t)].push_back((uint64_t(key) << 32) | uint64_t(0xffffffffu - uint32_t(i)));
    }
  }
  std::vector<uint64_t> cand;
  for (auto& p : parts) cand.insert(cand.end(), p.begin(), p.end());
  std::nth_element(cand.begin(), cand.begin() + (k - 1), cand.end(), std::greater<uint64_t>());
  std::sort(cand.begin(), cand.begin() + k, std::greater<uint64_t>());
  return indices(cand, k);
}

void study(int64_t n, int64_t k, const Ceilings& c) {
  Generator g(41);
  Tensor st = rand({n}, g);
  float* s = st.data<float>();
  for (int64_t i = 0; i < n; ++i) s[i] = std::round(s[i] * 1000.f) / 1000.f;
  print_header(fmt::format("top-k: {} of {} scores", k, n));
  std::vector<int64_t> ref, got;
  Result r1("v1 reference (stable sort)");
  r1.t = time_runs([&] { ref = ref::top_k(s, n, k); }, 0, 3);
  r1.bytes = double(n) * 4;
  r1.check = "oracle";
  print_result(r1, c);
  auto same = [&] { return std::string(got == ref ? "same indices" : "DIFFERENT INDICES"); };
  Result r2("v2 partial_sort");
  r2.t = time_runs(
      [&] {
        auto v = composite(s, n);
        std::partial_sort(v.begin(), v.begin() + k, v.end(), std::greater<uint64_t>());
        got = indices(v, k);
      },
      1, 3);
  r2.bytes = double(n) * 4;
  r2.check = same();
  print_result(r2, c);
  Result r3("v3 radix select");
  r3.t = time_runs([&] { got = radix_select(s, n, k); }, 1, 5);
  r3.bytes = 2.0 * double(n) * 4;
  r3.check = same();
  print_result(r3, c);
  Result r4("v4 heap select per thread (engine)");
  r4.t = time_runs([&] { got = cpu::top_k(s, n, k); }, 1, 5);
  r4.bytes = double(n) * 4;
  r4.check = same();
  print_result(r4, c);
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int i = 1; i + 1 < argc; i += 2)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1])});
  if (shapes.empty()) shapes = {{1000000, 1000}};
  study::Ceilings c = study::measure_ceilings();
  study::print_ceilings(c);
  for (auto [n, k] : shapes) study::study(n, k, c);
  return 0;
}
