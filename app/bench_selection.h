// `sraal bench --selection`: each baseline's selection step on a pool of N items (default
// 50,000 CIFAR-shaped 3 x 32 x 32 synthetic images, 10% of them labeled, budget 5% of the pool)
// with an untrained ResNet-18 target of the given width. One row for the target's forward pass
// over the pool (features and logits, shared by every method), then per method the time of its
// rule on those outputs (median of the timed runs): entropy, MC-dropout/BALD (T passes), core-set
// (k-center from the labeled centers), BADGE (k-means++ on the gradient embeddings), random;
// LL4AL's row is its whole step (its own forward pass over a 10,000-item subset of D_U).
// A method's whole selection step is the forward row plus its own (core-set's forward covers
// the labeled items too: the forward row scales with N).
#pragma once

#include <cstdint>

namespace sr::app {

struct SelectionBenchOptions {
  int64_t pool = 50000;
  float width = 0.25f;  // the target ResNet-18's width (the CPU presets')
  int64_t passes = 20;  // MC-dropout / BALD
  int warmup = 1, repeats = 3;
  bool json = false;
};

int run_selection_bench(const SelectionBenchOptions& opt);

}  // namespace sr::app
