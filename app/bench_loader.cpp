// `sraal bench --loader`: epochs of augmented batches from the background loader, timed
// (see bench_loader.h).
#include "app/bench_loader.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "bench/steps.h"
#include "data/cifar.h"
#include "data/loader.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/error.h"
#include "engine/random.h"

namespace sr::app {
namespace {

constexpr int64_t kBatch = 128;
constexpr int64_t kSyntheticCifarRecords = 10000;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CIFAR-10 binary records (label byte + 3072 pixel bytes) of seeded random pixels and labels,
// parsed by the loaders' own record parser.
std::shared_ptr<const Dataset> synthetic_cifar() {
  constexpr size_t kRecord = 1 + 3 * 32 * 32;
  std::vector<uint8_t> bytes(size_t(kSyntheticCifarRecords) * kRecord);
  Generator gen(20261124);
  for (size_t r = 0; r < size_t(kSyntheticCifarRecords); ++r) {
    uint8_t* rec = bytes.data() + r * kRecord;
    rec[0] = uint8_t(gen.next_u64() % 10);
    for (size_t k = 1; k < kRecord; k += 8) {
      uint64_t v = gen.next_u64();
      for (size_t j = 0; j < 8 && k + j < kRecord; ++j) rec[k + j] = uint8_t(v >> (8 * j));
    }
  }
  return parse_cifar_records("<synthetic cifar10 records>", bytes, CifarFormat::cifar10);
}

struct Row {
  std::string name, source;
  int workers = 1;
  int64_t batches = 0, images = 0;
  double median_s = 0, min_s = 0, max_s = 0;  // per epoch
};

// Whole epochs over every item of `ds`, shuffled as training shuffles them; returns per-epoch
// seconds (warm-up epochs dropped).
Row time_epochs(const std::string& name, const std::string& source, const Dataset& ds,
                const Augment& aug, int workers, int warmup, int repeats) {
  std::vector<int64_t> pool(size_t(ds.size()));
  std::iota(pool.begin(), pool.end(), int64_t(0));
  std::vector<double> secs;
  Row row{name, source, workers};
  for (int r = 0; r < warmup + repeats; ++r) {
    auto plan = epoch_batches(pool, kBatch, true, true, 7, r);
    row.batches = int64_t(plan.size());
    row.images = row.batches * kBatch;
    auto t0 = std::chrono::steady_clock::now();
    BatchLoader loader(ds, std::move(plan), aug, 7, r, workers);
    Batch b;
    int64_t seen = 0;
    while (loader.next(b)) seen += b.labels.size(0);
    double s = seconds_since(t0);
    SR_CHECK_VALUE(seen == row.images, "bench --loader: {} delivered {} images, expected {}", name,
                   seen, row.images);
    if (r >= warmup) secs.push_back(s);
  }
  std::sort(secs.begin(), secs.end());
  row.median_s = secs[secs.size() / 2], row.min_s = secs.front(), row.max_s = secs.back();
  return row;
}

}  // namespace

int run_loader_bench(const LoaderBenchOptions& opt) {
  std::shared_ptr<const Dataset> cifar;
  std::string cifar_source;
  if (opt.cifar_dir.empty()) {
    cifar = synthetic_cifar();
    cifar_source = fmt::format("{} synthetic CIFAR-10 records", kSyntheticCifarRecords);
  } else {
    DatasetOptions co;
    co.name = "cifar10";
    co.dir = opt.cifar_dir;
    cifar = load_dataset(co).train;
    cifar_source = co.dir;
  }
  DatasetOptions fo;
  fo.name = "fashion-mnist";
  fo.dir = opt.fashion_dir;
  std::shared_ptr<const Dataset> fashion = load_dataset(fo).train;

  // The consumer this pipeline feeds: one width-1/4 ResNet-18 training step at batch 128.
  TrainStep step = make_train_step("resnet18-w4", Device::cpu);
  Timing st = time_runs(step.run, 2, 5);
  double step_ips = double(step.batch) / (st.median_ms * 1e-3);

  std::vector<Row> rows;
  for (int workers : {1, 2}) {
    rows.push_back(time_epochs("fashion-mnist", fashion->info().name + " train split", *fashion,
                               Augment{2, true}, workers, opt.warmup, opt.repeats));
    rows.push_back(time_epochs("cifar", cifar_source, *cifar, Augment{4, true}, workers, opt.warmup,
                               opt.repeats));
  }

  if (!opt.json)
    std::printf(
        "batch %lld, random crop + flip; reference: resnet18-w4 training step %.1f ms = "
        "%.0f images/s (%d threads)\n\n%-14s %7s %8s %10s %10s %10s %10s %9s\n",
        (long long)kBatch, st.median_ms, step_ips, get_num_threads(), "data", "workers", "batches",
        "epoch s", "batches/s", "images/s", "MB/s out", "x step");
  for (const Row& r : rows) {
    double bps = double(r.batches) / r.median_s, ips = double(r.images) / r.median_s;
    const DatasetInfo& info = (r.name == "cifar" ? cifar : fashion)->info();
    double mbps = ips * double(info.channels * info.height * info.width) * 4.0 / 1e6;
    if (opt.json) {
      nlohmann::json j = {{"name", "loader/" + r.name},    {"source", r.source},
                          {"workers", r.workers},          {"batch", kBatch},
                          {"batches", r.batches},          {"median_epoch_s", r.median_s},
                          {"min_epoch_s", r.min_s},        {"max_epoch_s", r.max_s},
                          {"batches_per_s", bps},          {"images_per_s", ips},
                          {"step_images_per_s", step_ips}, {"times_step", ips / step_ips}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%-14s %7d %8lld %10.3f %10.1f %10.0f %10.1f %8.1fx\n", r.name.c_str(), r.workers,
                  (long long)r.batches, r.median_s, bps, ips, mbps, ips / step_ips);
    }
    std::fflush(stdout);
  }
  if (!opt.json)
    std::printf("\n(%s; cifar: %s)\n", "x step = loader images/s over the step's",
                cifar_source.c_str());
  return 0;
}

}  // namespace sr::app
