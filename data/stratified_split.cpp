// Seeded per-class shuffles deciding which items of each class are test items.
#include "data/stratified_split.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/random.h"

namespace sr {

SplitIndices stratified_split(const std::vector<int64_t>& labels, int64_t num_classes,
                              double test_fraction, uint64_t seed) {
  SR_CHECK_VALUE(test_fraction > 0 && test_fraction < 1,
                 "stratified split: test fraction must be in (0, 1), got {}", test_fraction);
  std::vector<std::vector<int64_t>> members(size_t(std::max<int64_t>(num_classes, 0)));
  for (size_t i = 0; i < labels.size(); ++i) {
    SR_CHECK_VALUE(labels[i] >= 0 && labels[i] < num_classes,
                   "stratified split: label {} out of range [0, {})", labels[i], num_classes);
    members[size_t(labels[i])].push_back(int64_t(i));
  }
  std::vector<bool> is_test(labels.size(), false);
  for (int64_t c = 0; c < num_classes; ++c) {
    const auto& m = members[size_t(c)];
    int64_t n = int64_t(m.size());
    SR_CHECK_VALUE(n >= 2, "stratified split: class {} has {} item(s), needs at least 2", c, n);
    int64_t k = std::clamp<int64_t>(std::llround(test_fraction * double(n)), 1, n - 1);
    Generator g(derive_seed(seed, uint64_t(c)));
    std::vector<int64_t> perm = g.permutation(n);
    for (int64_t j = 0; j < k; ++j) is_test[size_t(m[size_t(perm[size_t(j)])])] = true;
  }
  SplitIndices s;
  for (size_t i = 0; i < labels.size(); ++i) (is_test[i] ? s.test : s.train).push_back(int64_t(i));
  return s;
}

}  // namespace sr
