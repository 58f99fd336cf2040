// `sraal bench --loader`: how fast the input pipeline (data/loader.h) delivers augmented
// training batches, against what the width-1/4 ResNet-18 training step consumes.
//   fashion-mnist   the real training split (Debian's package, or --data-dir), 1x28x28, random
//                   crop with padding 2 and horizontal flip (sraal train's augmentation)
//   cifar           CIFAR-10 binary records (3x32x32, padding 4 and flip): the real files when
//                   --cifar-dir is given, else 10,000 records of seeded random pixels parsed by
//                   the same CIFAR record parser in memory
// Each row times whole epochs of batch 128 (shuffled, as training draws them) with 1 and with 2
// worker threads; the consumer takes each batch and does nothing else. The reference is the
// resnet18-w4 training step timed in the same run (its images/s); the target is the loader at
// 5x that rate at least, so data never holds training back.
#pragma once

#include <string>

namespace sr::app {

struct LoaderBenchOptions {
  std::string fashion_dir;      // "" = the default Fashion-MNIST directory
  std::string cifar_dir;        // "" = synthetic CIFAR-format records
  int warmup = 2, repeats = 5;  // epochs per row
  bool json = false;
};

int run_loader_bench(const LoaderBenchOptions& opt);

}  // namespace sr::app
