// The experiment's remaining-time model (sraal/progress.h) on synthetic schedules: training
// predicted by its work (epochs x items) at the measured rate, selections by each method's own
// measured time, finished cycles of an earlier process left out.
#include <gtest/gtest.h>

#include "sraal/progress.h"

namespace sr {
namespace {

// Two methods x three cycles of 100, 200, 300 item-epochs; training costs 0.01 s per
// item-epoch; "slow" selects in 5 s, "fast" in 1 s.
std::vector<EtaModel::Cycle> schedule() {
  std::vector<EtaModel::Cycle> s;
  for (const char* m : {"slow", "fast"})
    for (int c = 0; c < 3; ++c) s.push_back({m, 100.0 * (c + 1), c < 2});
  return s;
}

TEST(Progress, EtaFollowsTheWorkEachStepCosts) {
  EtaModel m(schedule());
  EXPECT_FALSE(m.remaining_seconds().has_value());
  EXPECT_EQ(format_eta(m.remaining_seconds()), "--");
  m.trained(0, 1.0);
  EXPECT_FALSE(m.remaining_seconds().has_value());  // no selection timed yet
  m.selected(0, 5.0);
  // Left: training 2 + 3 + 1 + 2 + 3 s; selections: slow's 5 once more, fast's twice (at the
  // only measured time, 5 s, before its own first).
  EXPECT_NEAR(*m.remaining_seconds(), 11.0 + 5.0 + 10.0, 1e-9);
  m.training_progress(1, 0.5);  // half of cycle 1's 2 s done
  EXPECT_NEAR(*m.remaining_seconds(), 25.0, 1e-9);
  m.trained(1, 2.0), m.selected(1, 5.0), m.trained(2, 3.0);
  m.trained(3, 1.0), m.selected(3, 1.0);
  // Now fast's selections are its own 1 s: left 2 + 1 + 3 s.
  EXPECT_NEAR(*m.remaining_seconds(), 6.0, 1e-9);
  EXPECT_EQ(format_eta(6.0), "0:00:06");
  // Done: 1+5 + 2+5 + 3 + 1+1 = 18 of 24 predicted seconds.
  EXPECT_NEAR(m.fraction_done(), 18.0 / 24.0, 1e-9);
  m.trained(4, 2.0), m.selected(4, 1.0), m.trained(5, 3.0);
  EXPECT_NEAR(*m.remaining_seconds(), 0.0, 1e-9);
  EXPECT_NEAR(m.fraction_done(), 1.0, 1e-9);
}

TEST(Progress, ResumedCyclesTakeNoPart) {
  EtaModel m(schedule());
  for (size_t i = 0; i < 4; ++i) m.skip(i);  // slow's track and fast's first cycle
  m.trained(4, 2.0), m.selected(4, 1.0);
  // Rate from cycle 4 alone: 0.01 s per item-epoch; left: cycle 5's 3 s.
  EXPECT_NEAR(*m.remaining_seconds(), 3.0, 1e-9);
  EXPECT_NEAR(m.fraction_done(), 3.0 / 6.0, 1e-9);
  EXPECT_EQ(format_eta(3725.0), "1:02:05");
}

}  // namespace
}  // namespace sr
