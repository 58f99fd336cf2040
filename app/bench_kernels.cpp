// The scale rows of `sraal bench --kernels` (see bench_kernels.h): inputs built once per row,
// warm-up, timed runs (median, min, max), rates against the measured ceilings, memory.
#include "app/bench_kernels.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "bench/kernels/ceilings.h"
#include "bench/steps.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/selection_cpu.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/selection.h"
#include "engine/storage.h"

namespace sr::app {
namespace {

struct Row {
  std::string id, kernel, shape;  // "kcenter/50000x512/k1000", "kcenter", "50000 x 512, k 1000"
  nlohmann::json fields;          // shape fields for --json
  double bytes = 0, flops = 0;    // per run; flops > 0: compute-bound (rated against sgemm)
  std::shared_ptr<double> measured_bytes;  // set by setup when the bytes depend on the data
  double input_mib = 0;
  int max_repeats = 1 << 30;
  std::function<void()> setup, run, teardown;
};

double mib(double bytes) {
  return bytes / double(1 << 20);
}

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM"); -1 when unavailable.
double status_mib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  double v = -1;
  const size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, len) == 0 && line[len] == ':')
      v = std::atof(line + len + 1) / 1024;
  std::fclose(f);
  return v;
}

// Resets the peak resident set (VmHWM) to the current one (Linux >= 4.0); false if refused.
bool reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

// Inputs live in shared_ptrs so that a row's setup/run/teardown share them.
std::vector<Row> make_rows() {
  std::vector<Row> rows;
  for (int64_t c : {10, 100})
    for (bool logits : {false, true}) {
      const int64_t n = 1000000;
      Row r;
      r.kernel = "indicator";
      r.id = fmt::format("indicator/{}/{}x{}", logits ? "logits" : "probs", n, c);
      r.shape = fmt::format("{} x {} {}", n, c, logits ? "logits" : "probabilities");
      r.fields = {{"n", n}, {"c", c}, {"input", logits ? "logits" : "probs"}};
      r.bytes = double(n) * double(c + 1) * 4;
      r.input_mib = mib(double(n * c * 4));
      auto x = std::make_shared<Tensor>();
      r.setup = [x, n, c, logits] {
        Generator g(21);
        *x = randn({n, c}, g) * 3.f;
        if (!logits) *x = softmax(*x, 1);
      };
      r.run = [x, logits] { uncertainty_scores(*x, ScoreKind::indicator, logits); };
      r.teardown = [x] { *x = Tensor(); };
      rows.push_back(r);
    }
  {
    const int64_t m = 10000, n = 10000, d = 512;
    Row r;
    r.kernel = "pairwise";
    r.id = fmt::format("pairwise/{}x{}x{}", m, n, d);
    r.shape = fmt::format("{} x {} x {}", m, n, d);
    r.fields = {{"m", m}, {"n", n}, {"d", d}};
    r.flops = 2.0 * double(m) * double(n) * double(d);
    r.bytes = double(m + n) * double(d) * 4 + double(m) * double(n) * 4;
    r.input_mib = mib(double((m + n) * d * 4));
    auto ab = std::make_shared<std::pair<Tensor, Tensor>>();
    r.setup = [ab, m, n, d] {
      Generator g(31);
      ab->first = randn({m, d}, g);
      ab->second = randn({n, d}, g);
    };
    r.run = [ab] { pairwise_sq_dists(ab->first, ab->second); };
    r.teardown = [ab] { *ab = {}; };
    rows.push_back(r);
  }
  for (auto [n, d] : {std::pair<int64_t, int64_t>{50000, 512}, {1000000, 64}}) {
    const int64_t k = 1000;
    Row r;
    r.kernel = "kcenter";
    r.id = fmt::format("kcenter/{}x{}/k{}", n, d, k);
    r.shape = fmt::format("{} of {} x {}", k, n, d);
    r.fields = {{"n", n}, {"d", d}, {"k", k}};
    r.input_mib = mib(double(n * d * 4));
    r.max_repeats = 3;
    auto x = std::make_shared<Tensor>();
    auto bytes = std::make_shared<double>(0);
    r.measured_bytes = bytes;
    r.fields["bytes_model"] = "passes n (d4 + 16) + 4 d per exact distance";
    r.setup = [x, bytes, n, d, k] {
      Generator g(11);
      *x = randn({n, d}, g);
      // Bytes read per run, from the kernel's counters (one untimed run from the same start).
      cpu::KCenterStats st;
      const int64_t first = Generator(0).randint(n);  // the random start kcenter_greedy draws
      cpu::kcenter_greedy(x->data<float>(), n, d, {first}, k - 1, {}, &st);
      *bytes = double(st.passes) * double(n) * double(((d + 3) / 4) * 4 + 16) +
               double(st.exact_distances) * double(d) * 4;
    };
    r.run = [x, k] { kcenter_greedy(*x, {}, k, /*seed=*/0, /*random_starts=*/1); };
    r.teardown = [x] { *x = Tensor(); };
    rows.push_back(r);
  }
  {
    const int64_t n = 1000000, k = 1000;
    Row r;
    r.kernel = "topk";
    r.id = fmt::format("topk/{}/k{}", n, k);
    r.shape = fmt::format("{} of {}", k, n);
    r.fields = {{"n", n}, {"k", k}};
    r.bytes = double(n) * 4;
    r.input_mib = mib(double(n * 4));
    auto s = std::make_shared<Tensor>();
    r.setup = [s, n] {
      Generator g(41);
      *s = rand({n}, g);
    };
    r.run = [s, k] { top_k(*s, k); };
    r.teardown = [s] { *s = Tensor(); };
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

std::vector<std::string> kernel_row_ids() {
  std::vector<std::string> ids;
  for (const Row& r : make_rows()) ids.push_back(r.id);
  return ids;
}

int run_kernel_bench(const KernelBenchOptions& opt) {
  std::vector<Row> rows = make_rows();
  for (const std::string& want : opt.rows) {
    bool known = false;
    for (const Row& r : rows) known |= r.id == want;
    SR_CHECK_VALUE(known, "bench --kernels: unknown row '{}' (rows: {})", want,
                   fmt::join(kernel_row_ids(), ", "));
  }
  study::Ceilings c = study::measure_ceilings();
  if (!opt.json)
    std::printf(
        "cpu, %d threads; ceilings: copy %.1f GB/s (read + write), read-only %.1f GB/s, "
        "sgemm %.0f GFLOP/s\n%d warm-up + %d timed runs (k-center: at most 1 + 3)\n\n"
        "%-10s %-26s %10s %10s %10s %14s %8s %9s %9s %9s\n",
        get_num_threads(), c.copy_gbps, c.read_gbps, c.sgemm_gflops, opt.warmup, opt.repeats,
        "kernel", "shape", "median ms", "min ms", "max ms", "rate", "of ceil", "extra MiB",
        "RSS+ MiB", "input MiB");
  Allocator& alloc = allocator_for(Device::cpu);
  for (Row& r : rows) {
    if (!opt.rows.empty() && std::find(opt.rows.begin(), opt.rows.end(), r.id) == opt.rows.end())
      continue;
    r.setup();
    if (r.measured_bytes) r.bytes = *r.measured_bytes;
    alloc.empty_cache();  // so that the row's own allocations show in the resident set
    const bool rss_ok = reset_peak_rss();
    const double rss0 = status_mib("VmRSS");
    const size_t live = alloc.live_bytes();
    alloc.reset_peak();
    const bool long_row = r.max_repeats < opt.repeats;  // k-center: at most 1 + 3 runs
    Timing t = time_runs(r.run, long_row ? std::min(opt.warmup, 1) : opt.warmup,
                         std::min(opt.repeats, r.max_repeats));
    const double extra = mib(double(alloc.peak_bytes() - live));
    const double s = t.median_ms * 1e-3;
    const bool compute = r.flops > 0;
    const double rate = compute ? r.flops / s / 1e9 : r.bytes / s / 1e9;
    const double pct = 100.0 * rate / (compute ? c.sgemm_gflops : c.copy_gbps);
    const double rss = rss_ok && rss0 >= 0 ? status_mib("VmHWM") - rss0 : -1;
    nlohmann::json j = {{"id", r.id},
                        {"name", r.kernel},
                        {"device", "cpu"},
                        {"median_ms", t.median_ms},
                        {"min_ms", t.min_ms},
                        {"max_ms", t.max_ms},
                        {"repeats", t.repeats},
                        {compute ? "gflop_per_s" : "gb_per_s", rate},
                        {"pct_of_ceiling", pct},
                        {"ceiling", compute ? "sgemm" : "copy"},
                        {"peak_mib", extra},
                        {"input_mib", r.input_mib},
                        {"rss_extra_mib", rss},
                        {"threads", get_num_threads()}};
    for (auto& [key, value] : r.fields.items()) j[key] = value;
    if (opt.json) {
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::string rate_s = fmt::format("{:.1f} {}", rate, compute ? "GFLOP/s" : "GB/s");
      std::printf("%-10s %-26s %10.2f %10.2f %10.2f %14s %7.0f%% %9.1f %9.1f %9.1f\n",
                  r.kernel.c_str(), r.shape.c_str(), t.median_ms, t.min_ms, t.max_ms,
                  rate_s.c_str(), pct, extra, rss, r.input_mib);
    }
    std::fflush(stdout);
    r.teardown();
    alloc.empty_cache();
  }
  if (!opt.json)
    std::printf(
        "\nrate: GB/s for memory-bound rows (bytes the kernel reads and writes; k-center: "
        "8-bit codes and bounds per pass plus the fp32 rows of exact distances), of the "
        "copy ceiling; GFLOP/s (2 M N d) for pairwise, of sgemm.\nextra MiB: engine "
        "allocator peak above the inputs (outputs, workspaces); RSS+ MiB: growth of the "
        "peak resident set over the row's runs (all memory, inputs excluded).\n");
  return 0;
}

}  // namespace sr::app
