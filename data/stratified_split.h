// The deterministic stratified train/test split of data sets that do not come split
// (Caltech-101, image folders).
#pragma once

#include <cstdint>
#include <vector>

namespace sr {

struct SplitIndices {
  std::vector<int64_t> train, test;  // item indices, ascending
};

// Per class, the items of that class are shuffled with a generator seeded from (seed, class)
// and the first round(test_fraction * n) go to the test split, at least 1 and at most n - 1,
// so both splits hold every class. Requires test_fraction in (0, 1) and at least 2 items in
// every class (ValueError otherwise; the loaders check first, naming the folder). The result
// depends only on (labels, test_fraction, seed).
SplitIndices stratified_split(const std::vector<int64_t>& labels, int64_t num_classes,
                              double test_fraction, uint64_t seed);

}  // namespace sr
