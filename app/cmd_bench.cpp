// `sraal bench`: times training steps (bench/steps.h) with warm-up and medians, reports
// achieved GFLOP/s against this machine's measured sgemm rate, as a table or JSON rows.
// `sraal bench --kernels` times the selection kernels' scale rows instead (bench_kernels.h),
// `sraal bench --loader` the input pipeline (bench_loader.h), `sraal bench --selection` the
// baselines' selection steps on a pool of 50,000 (bench_selection.h).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/bench_kernels.h"
#include "app/bench_loader.h"
#include "app/bench_selection.h"
#include "app/commands.h"
#include "bench/steps.h"
#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/storage.h"

namespace sr::app {

Runner add_bench(CLI::App& app) {
  struct Args {
    std::vector<std::string> steps;
    std::string device = "cpu";
    int warmup = 2, repeats = 5;
    bool json = false;
    bool kernels = false;
    std::vector<std::string> kernel_rows;
    bool loader = false;
    std::string data_dir, cifar_dir;
    bool selection = false;
    int64_t pool = 50000;
  };
  auto a = std::make_shared<Args>();
  a->steps = train_step_names();
  app.add_option("--steps", a->steps, "which steps: resnet18 resnet18-w4 vae drn-d22")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  app.add_option("--warmup", a->warmup, "untimed runs first")
      ->capture_default_str()
      ->check(integer_in(0, 100000));
  app.add_option("--repeats", a->repeats, "timed runs (median reported)")
      ->capture_default_str()
      ->check(integer_in(1, 100000));
  app.add_flag("--json", a->json, "print JSON rows instead of a table");
  app.add_flag("--kernels", a->kernels,
               "time the selection kernels (indicator, distances, k-center, top-k) on the CPU "
               "instead of training steps");
  app.add_option("--kernel-rows", a->kernel_rows,
                 "with --kernels, only these rows (ids as printed by --json)")
      ->delimiter(',');
  app.add_flag("--loader", a->loader,
               "time the input pipeline (augmented batches of 128 from Fashion-MNIST and "
               "CIFAR-format data) against the width-1/4 ResNet-18 training step");
  app.add_option("--data-dir", a->data_dir,
                 "with --loader, the Fashion-MNIST directory (default: Debian's package)");
  app.add_option("--cifar-dir", a->cifar_dir,
                 "with --loader, real CIFAR-10 binary files (default: synthetic records)");
  app.add_flag("--selection", a->selection,
               "time each baseline's selection step (entropy, MC-dropout, core-set, BADGE, "
               "random) on a pool of --pool items with a width-1/4 ResNet-18 target");
  app.add_option("--pool", a->pool, "with --selection, the pool size")
      ->capture_default_str()
      ->check(integer_in(100, 10000000));
  return [a] {
    SR_CHECK_VALUE(int(a->kernels) + int(a->loader) + int(a->selection) <= 1,
                   "bench: --kernels, --loader and --selection exclude each other");
    if (a->selection) {
      SR_CHECK_VALUE(a->device == "cpu", "bench --selection runs on the CPU (got --device {})",
                     a->device);
      return run_selection_bench({a->pool, 0.25f, 20, a->warmup, a->repeats, a->json});
    }
    SR_CHECK_VALUE(a->loader || (a->data_dir.empty() && a->cifar_dir.empty()),
                   "bench: --data-dir and --cifar-dir go with --loader");
    if (a->loader) {
      SR_CHECK_VALUE(a->device == "cpu", "bench --loader runs on the CPU (got --device {})",
                     a->device);
      return run_loader_bench({a->data_dir, a->cifar_dir, a->warmup, a->repeats, a->json});
    }
    if (a->kernels) {
      SR_CHECK_VALUE(a->device == "cpu", "bench --kernels runs on the CPU (got --device {})",
                     a->device);
      return run_kernel_bench({a->kernel_rows, a->warmup, a->repeats, a->json});
    }
    Device device = parse_device(a->device);
    require_device(device);
    std::vector<TrainStep> steps;
    for (const auto& n : a->steps) steps.push_back(make_train_step(n, device));  // validates names
    double sgemm = device == Device::cpu ? measure_sgemm_gflops() : 0.0;
    nlohmann::json rows = nlohmann::json::array();
    if (!a->json)
      std::printf(
          "device %s, %d threads, sgemm %.0f GFLOP/s; %d warm-up + %d timed runs\n\n"
          "%-12s %6s %10s %10s %10s %10s %9s %9s %8s %9s %9s\n",
          device_name(device), get_num_threads(), sgemm, a->warmup, a->repeats, "step", "batch",
          "median ms", "min ms", "max ms", "images/s", "GFLOP", "GFLOP/s", "of sgemm", "live MiB",
          "peak MiB");
    for (TrainStep& s : steps) {
      allocator_for(device).reset_peak();
      Timing t = time_runs(s.run, a->warmup, a->repeats);
      double gflops = s.flops / 1e9, rate = gflops / (t.median_ms * 1e-3);
      double ips = double(s.batch) / (t.median_ms * 1e-3);
      // The device allocator's bytes: live after the runs (weights, optimiser state, inputs)
      // and the peak during them (plus activations and workspaces).
      double live_mib = double(allocator_for(device).live_bytes()) / (1 << 20);
      double peak_mib = double(allocator_for(device).peak_bytes()) / (1 << 20);
      rows.push_back({{"name", s.name},
                      {"device", device_name(device)},
                      {"batch", s.batch},
                      {"median_ms", t.median_ms},
                      {"min_ms", t.min_ms},
                      {"max_ms", t.max_ms},
                      {"images_per_s", ips},
                      {"gflop_per_step", gflops},
                      {"gflop_per_s", rate},
                      {"sgemm_gflop_per_s", sgemm},
                      {"live_mib", live_mib},
                      {"peak_mib", peak_mib},
                      {"threads", get_num_threads()}});
      if (!a->json)
        std::printf("%-12s %6lld %10.1f %10.1f %10.1f %10.1f %9.1f %9.1f %7.0f%% %9.1f %9.1f\n",
                    s.name.c_str(), (long long)s.batch, t.median_ms, t.min_ms, t.max_ms, ips,
                    gflops, rate, sgemm > 0 ? 100.0 * rate / sgemm : 0.0, live_mib, peak_mib);
      std::fflush(stdout);
    }
    if (a->json)
      for (const auto& r : rows) std::printf("%s\n", r.dump().c_str());
    return 0;
  };
}

}  // namespace sr::app
