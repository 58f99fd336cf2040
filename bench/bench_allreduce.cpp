// Communication of data-parallel training, measured (run it as an MPI job):
//   tests/mpi/run_mpi.sh 2 build/bench/bench_allreduce [--max-mb 256] [--width 1] [--batch 64]
//
// 1. All-reduce of f32 sums from 1 KiB to --max-mb, osu_allreduce's method: warm-up, then
//    iterations between barriers, the slowest rank's mean time. Reported as latency, algorithm
//    bandwidth (bytes / time) and bus bandwidth (x 2(K-1)/K, nccl-tests' convention: what each
//    rank's link carries in a ring), beside memcpy's rate for the same bytes on one core (what
//    a loopback shared-memory transport copies through).
// 2. The ResNet-18 (CIFAR form) training step at --width on --batch items per rank, three ways:
//    compute alone (no reduction), the data-parallel step (bucketed all-reduce from the gradient
//    hooks during backward, engine/reducer.h), and the all-reduce of all its gradients alone.
//    hidden = 1 - (data-parallel - compute) / all-reduce: the fraction of communication that
//    backward covered.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/distributed.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/reducer.h"
#include "layers/model_zoo.h"

namespace sr {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Mean seconds of f over `iters` runs after `warmup`, the slowest rank's.
template <class F>
double timed(const ProcessGroup& g, int warmup, int iters, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  g.barrier();
  double t0 = now();
  for (int i = 0; i < iters; ++i) f();
  double mine = (now() - t0) / iters;
  return g.all_reduce_max_loc(mine, g.rank()).first;
}

void allreduce_table(const ProcessGroup& g, int64_t max_bytes) {
  const int k = g.size();
  if (g.is_root())
    std::printf("all-reduce (f32 sum), %d processes\n%10s %12s %12s %12s %14s\n", k, "bytes",
                "latency us", "algbw GB/s", "busbw GB/s", "memcpy GB/s");
  for (int64_t bytes = 1024; bytes <= max_bytes; bytes *= 4) {
    Tensor t = Tensor::ones({bytes / 4});
    // About 0.2 s a size: many iterations of small messages, a few of large ones.
    int iters = int(std::clamp<int64_t>((int64_t(1) << 28) / bytes, 5, 2000));
    double s = timed(g, std::max(2, iters / 10), iters, [&] { g.all_reduce_sum(t); });
    std::vector<char> a(static_cast<size_t>(bytes), 1), b(static_cast<size_t>(bytes));
    double c = timed(g, 2, iters, [&] {
      std::memcpy(b.data(), a.data(), size_t(bytes));
      a[0] = b[size_t(bytes) - 1];  // keeps the copy
    });
    double algbw = double(bytes) / s / 1e9;
    if (g.is_root())
      std::printf("%10lld %12.1f %12.2f %12.2f %14.2f\n", (long long)bytes, s * 1e6, algbw,
                  algbw * 2.0 * (k - 1) / k, double(bytes) / c / 1e9);
  }
}

void step_overlap(const ProcessGroup& g, float width, int64_t batch) {
  ModelSpec spec;
  spec.arch = "resnet18", spec.width_mult = width;
  Generator init(1);
  auto model = build_model(spec, init, std::make_shared<Generator>(2));
  std::vector<Tensor> params = model->parameters();
  SGD opt(params, {0.01f, 0.9f, 0.f, 5e-4f, false});
  Generator data(3 + uint64_t(g.rank()));
  Tensor x = randn({batch, 3, 32, 32}, data);
  std::vector<int64_t> labels(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) labels[size_t(i)] = i % 10;
  Tensor y = Tensor::from_vector(labels, {batch});
  int64_t grad_bytes = 0;
  for (const Tensor& p : params) grad_bytes += p.numel() * 4;

  auto compute = [&] {
    opt.zero_grad();
    cross_entropy((*model)(x), y).backward();
    opt.step();
  };
  double t_compute = timed(g, 2, 20, compute);
  double t_dp = 0;
  int64_t overlapped = 0, buckets = 0;
  {
    GradientReducer reducer(params, g);
    t_dp = timed(g, 2, 20, [&] {
      opt.zero_grad();
      cross_entropy((*model)(x), y).backward();
      reducer.synchronize();
      opt.step();
    });
    overlapped = reducer.buckets_started_in_backward();
    buckets = int64_t(reducer.buckets().size());
  }
  Tensor flat = Tensor::zeros({grad_bytes / 4});
  double t_comm = timed(g, 2, 20, [&] { g.all_reduce_sum(flat); });
  // The same bytes as the reducer sends them: non-blocking, one request per bucket-sized part.
  std::vector<Tensor> parts;
  for (int64_t off = 0, n = flat.numel(); off < n; off += int64_t(25) << 18)
    parts.push_back(flat.narrow(0, off, std::min(int64_t(25) << 18, n - off)));
  double t_async = timed(g, 2, 20, [&] {
    std::vector<ProcessGroup::Work> w;
    for (const Tensor& part : parts) w.push_back(g.all_reduce_sum_async(part));
    for (auto& x : w) x.wait();
  });
  double hidden = std::clamp(1.0 - (t_dp - t_compute) / t_comm, 0.0, 1.0);
  if (g.is_root()) {
    std::printf(
        "\nResNet-18 step, width %g, batch %lld per process (%lld global), %d threads each, "
        "%.1f MB of gradients in %lld buckets (%lld started during backward)\n",
        double(width), (long long)batch, (long long)(batch * g.size()), get_num_threads(),
        double(grad_bytes) / 1e6, (long long)buckets, (long long)overlapped);
    std::printf("  compute alone      %8.1f ms\n", t_compute * 1e3);
    std::printf("  data-parallel      %8.1f ms\n", t_dp * 1e3);
    std::printf("  all-reduce alone   %8.1f ms (blocking, one message)\n", t_comm * 1e3);
    std::printf("  all-reduce alone   %8.1f ms (non-blocking, %zu bucket-sized parts)\n",
                t_async * 1e3, parts.size());
    std::printf("  hidden behind backward: %.0f%%\n", 100.0 * hidden);
  }
}

}  // namespace
}  // namespace sr

int main(int argc, char** argv) {
  double max_mb = 256, width = 1;
  long long batch = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--max-mb")
      max_mb = std::atof(argv[i + 1]);
    else if (a == "--width")
      width = std::atof(argv[i + 1]);
    else if (a == "--batch")
      batch = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "bench_allreduce: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  try {
    const sr::ProcessGroup& g = sr::ProcessGroup::world();
    sr::set_num_threads(std::max(1, sr::get_num_cpus() / g.local_size()));
    sr::allreduce_table(g, int64_t(max_mb * 1048576));
    sr::step_overlap(g, float(width), batch);
    sr::finalize_distributed();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce: %s\n", e.what());
    sr::abort_job(1);
    return 1;
  }
  return 0;
}
