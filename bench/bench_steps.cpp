// Google Benchmark over the training steps of bench/steps.h (forward, loss, backward, optimiser
// step); items per second are images per second. Run: build/bench/bench_steps
// (--benchmark_repetitions=5 --benchmark_report_aggregates_only=true for medians).
#include <benchmark/benchmark.h>

#include "bench/steps.h"

namespace {

void BM_TrainStep(benchmark::State& state, const std::string& name) {
  sr::TrainStep step = sr::make_train_step(name, sr::Device::cpu);
  step.run();  // warm-up: primitive creation, allocator cache
  for (auto _ : state) step.run();
  state.SetItemsProcessed(state.iterations() * step.batch);
  state.counters["GFLOP/s"] = benchmark::Counter(step.flops / 1e9 * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_TrainStep, resnet18, std::string("resnet18"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, resnet18_w4, std::string("resnet18-w4"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, vae, std::string("vae"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_CAPTURE(BM_TrainStep, drn_d22, std::string("drn-d22"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
