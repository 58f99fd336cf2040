// The training steps `sraal bench` and the Google Benchmark binary time, defined once:
//   resnet18        CIFAR-form ResNet-18, width 1, batch 128 of 3x32x32: forward,
//                   cross-entropy, backward, SGD (momentum 0.9, weight decay 5e-4)
//   resnet18-w4     the same at width 1/4 on 1x28x28 (the Fashion-MNIST configuration)
//   vae             VAAL's VAE, batch 64 of 3x32x32: MSE + KL, backward, Adam
//   drn-d22         DRN-D-22 (fyu/drn DRNSeg, 19 classes), batch 8 of 3x256x256: per-pixel
//                   cross-entropy ignoring 255, backward, SGD (momentum 0.9, weight decay 1e-4)
// Inputs are fixed random tensors, so the steps measure the engine and not a data loader.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/types.h"

namespace sr {

struct TrainStep {
  std::string name;
  std::string description;
  int64_t batch = 0;
  double flops = 0;           // multiply-add FLOPs of one step (3x the forward's)
  std::function<void()> run;  // one step
};

std::vector<std::string> train_step_names();
// Builds the named step on `device` (weights, optimiser and inputs allocated once).
TrainStep make_train_step(const std::string& name, Device device);

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int repeats = 0;
};
// Runs f `warmup` times untimed, then `repeats` times timed (each synchronised).
Timing time_runs(const std::function<void()>& f, int warmup, int repeats);

// Measured single-precision GEMM rate of this machine (n x n x n, best of a few), GFLOP/s.
double measure_sgemm_gflops(int64_t n = 2048);

}  // namespace sr
