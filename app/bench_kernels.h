// `sraal bench --kernels`: the scale rows of the selection kernels (issue 4) on the CPU, with
// the fast CPU kernels, against this machine's measured ceilings (bench/kernels/ceilings.h):
//   indicator   1,000,000 x 10 and x 100, from probabilities and from logits
//   pairwise    10,000 x 10,000 x 512 squared distances
//   kcenter     1,000 of 50,000 x 512 and 1,000 of 1,000,000 x 64, from one random start
//   topk        1,000 of 1,000,000 scores
// Memory columns: peak_mib = peak of the engine's CPU allocator above what was live before the
// row's runs (outputs and workspaces; inputs not included); rss_extra_mib = growth of the
// process's peak resident set (VmHWM, reset through /proc/self/clear_refs after the inputs are
// built, allocator cache emptied) over the row's runs: all memory, tensors or not; input_mib =
// the row's inputs.
#pragma once

#include <string>
#include <vector>

namespace sr::app {

struct KernelBenchOptions {
  std::vector<std::string> rows;  // row ids to run (empty: all), e.g. "kcenter/50000x512/k1000"
  int warmup = 1, repeats = 5;
  bool json = false;
};

// Ids of every row, in table order.
std::vector<std::string> kernel_row_ids();
int run_kernel_bench(const KernelBenchOptions& opt);

}  // namespace sr::app
