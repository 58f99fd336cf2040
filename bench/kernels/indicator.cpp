// Kernel study: the uncertainty indicator (SPEC section 2) over N rows of C classes, from
// probabilities and from logits, versions from the double reference to the fused kernels.
//
//   v1 reference      sr::ref::uncertainty_scores: double, one thread
//   v2 unfused        as a tensor library computes it: softmax materialised (logits), then
//                     max, sum and spread as separate passes over the (N, C) matrix, then the
//                     score (float, SIMD, all threads)
//   v3 fused rows     one pass, one row at a time, SIMD across the C classes
//   v4 fused tiles    one pass, 16 rows transposed per tile, SIMD across rows
// Bytes (model): the kernel reads N C floats and writes N; v2 also writes and re-reads the
// softmax (logits) and re-reads x per pass. Check: max |score - reference|.
//
//   bench_kernel_indicator [N C]...   default: 1000000 10 and 1000000 100
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "bench/kernels/study.h"
#include "engine/cpu/selection_cpu.h"
#include "engine/cpu/selection_reference.h"
#include "engine/ops.h"
#include "engine/parallel.h"

namespace sr::study {
namespace {

// v2: one pass per statistic over the whole matrix.
void scores_unfused(const float* x, int64_t n, int64_t c, bool logits, float* out,
                    std::vector<float>& probs, std::vector<float>& stats) {
  const float inf = std::numeric_limits<float>::infinity();
  const float* v = x;
  float* M = stats.data();
  float* T = M + n;
  float* dev = T + n;
  parallel_for(n, c, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float m = -inf;
      for (int64_t i = 0; i < c; ++i) m = std::max(m, x[r * c + i]);
      M[r] = m;
    }
  });
  if (logits) {  // softmax written out, as torch.softmax does
    parallel_for(n, c * 8, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        float t = 0;
        for (int64_t i = 0; i < c; ++i)
          t += probs[size_t(r * c + i)] = std::exp(x[r * c + i] - M[r]);
        for (int64_t i = 0; i < c; ++i) probs[size_t(r * c + i)] /= t;
      }
    });
    v = probs.data();
    parallel_for(n, c, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        float m = -inf;
        for (int64_t i = 0; i < c; ++i) m = std::max(m, v[r * c + i]);
        M[r] = m;
      }
    });
  }
  parallel_for(n, c, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float t = 0;
      for (int64_t i = 0; i < c; ++i) t += v[r * c + i];
      T[r] = t;
    }
  });
  parallel_for(n, c, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float mean = T[r] / float(c), s = 0;
      for (int64_t i = 0; i < c; ++i) s += (v[r * c + i] - mean) * (v[r * c + i] - mean);
      dev[r] = s / float(c);
    }
  });
  parallel_for(n, 16, [&](int64_t b, int64_t e) {
    const float cf = float(c);
    for (int64_t r = b; r < e; ++r) {
      float m = M[r], a = 1 / cf - m, bb = 1 / cf - (1 - m) / (cf - 1);
      float minvar = (a * a + (cf - 1) * bb * bb) / cf;
      out[r] = dev[r] > 0 ? std::clamp(1 - minvar / dev[r] * m, 0.f, 1.f) : 1 - 1 / cf;
    }
  });
}

void study(int64_t n, int64_t c, bool logits, const Ceilings& ceil) {
  Generator g(21);
  Tensor x = randn({n, c}, g) * 3.f;
  if (!logits) x = softmax(x, 1);
  const float* xp = x.data<float>();
  ScoreOptions opt{ScoreKind::indicator, logits};
  print_header(fmt::format("indicator: {} x {} {} ({:.0f} MB)", n, c,
                           logits ? "logits" : "probabilities", double(n * c * 4) / 1e6));
  std::vector<float> ref(static_cast<size_t>(n)), out(static_cast<size_t>(n));
  const double bytes = double(n) * double(c + 1) * 4;
  Result r1("v1 reference (double, 1 thread)");
  r1.t = time_runs([&] { ref::uncertainty_scores(xp, n, c, opt, ref.data()); }, 0, 1);
  r1.bytes = bytes;
  r1.check = "oracle";
  print_result(r1, ceil);
  auto max_err = [&] {
    double e = 0;
    for (int64_t i = 0; i < n; ++i)
      e = std::max(e, double(std::fabs(out[size_t(i)] - ref[size_t(i)])));
    return fmt::format("max err {:.1e}", e);
  };
  std::vector<float> probs(logits ? size_t(n * c) : 0), stats(static_cast<size_t>(3 * n));
  Result r2("v2 unfused (a pass per statistic)");
  r2.t = time_runs([&] { scores_unfused(xp, n, c, logits, out.data(), probs, stats); }, 1, 5);
  r2.bytes = double(n) * 4 * (logits ? double(6 * c + 7) : double(3 * c + 7));
  r2.check = max_err();
  print_result(r2, ceil);
  Result r3("v3 fused rows (SIMD across C)");
  r3.t = time_runs(
      [&] { cpu::uncertainty_scores(xp, n, c, opt, out.data(), cpu::ScoreLayout::rows); }, 1, 5);
  r3.bytes = bytes;
  r3.check = max_err();
  print_result(r3, ceil);
  Result r4("v4 fused tiles (SIMD across rows)");
  r4.t = time_runs(
      [&] { cpu::uncertainty_scores(xp, n, c, opt, out.data(), cpu::ScoreLayout::tiles); }, 1, 5);
  r4.bytes = bytes;
  r4.check = max_err();
  print_result(r4, ceil);
  std::printf("engine default for C = %lld: %s\n", (long long)c,
              c <= cpu::kRowBlockMaxC ? "v4 tiles" : "v3 rows");
}

}  // namespace
}  // namespace sr::study

int main(int argc, char** argv) {
  using namespace sr;
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int i = 1; i + 1 < argc; i += 2)
    shapes.push_back({std::atoll(argv[i]), std::atoll(argv[i + 1])});
  if (shapes.empty()) shapes = {{1000000, 10}, {1000000, 100}};
  study::Ceilings c = study::measure_ceilings();
  study::print_ceilings(c);
  for (auto [n, k] : shapes)
    for (bool logits : {false, true}) study::study(n, k, logits, c);
  return 0;
}
