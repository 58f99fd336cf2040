// The check behind the selection-transfer tests (test_baselines.cpp, test_seg_strategies.cpp):
// a method selecting 5 items from a pool of `small` and then `large` unlabeled items (dataset
// indices first_unlabeled...) takes the same bytes out of tensors to the host
// (host_read_bytes, engine/tensor.h) both times, and under 4 KiB: the budget's indices and
// scores and a few losses per adversarial iteration, nothing of the pool's size.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "sraal/strategy.h"

namespace sr::test {

inline void expect_budget_sized_transfers(Strategy& s, const Dataset& ds,
                                          const std::vector<int64_t>& labeled, Module& target,
                                          int64_t first_unlabeled, int64_t small, int64_t large) {
  uint64_t moved[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    std::vector<int64_t> unlabeled;
    for (int64_t i = first_unlabeled; i < first_unlabeled + (k == 0 ? small : large); ++i)
      unlabeled.push_back(i);
    std::vector<double> scores;
    SelectionInput in{ds, labeled, unlabeled, target, 5, 21, Device::cpu, {}, {}, {}, &scores};
    const uint64_t before = host_read_bytes();
    ASSERT_EQ(s.select(in).size(), 5u);
    moved[k] = host_read_bytes() - before;
  }
  EXPECT_EQ(moved[0], moved[1]) << "bytes moved to the host grow with the pool";
  EXPECT_LT(moved[1], 4096u);
}

}  // namespace sr::test
