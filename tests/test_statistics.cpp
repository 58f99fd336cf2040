// The comparison statistics (sraal/statistics.h) against closed forms and tabulated values of
// Student's t, a paired test worked by hand, and the summary.md sections built from them.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include <fmt/format.h>

#include "engine/error.h"
#include "sraal/report.h"
#include "sraal/statistics.h"

namespace sr {
namespace {

TEST(Statistics, StudentTTailMatchesClosedFormsAndTables) {
  const double pi = std::acos(-1.0);
  for (double t : {0.0, 0.3, 1.0, 2.5, 7.0, 40.0}) {
    // df = 1 (Cauchy): p = 1 - (2 / pi) atan|t|; df = 2: p = 1 - |t| / sqrt(t^2 + 2).
    EXPECT_NEAR(student_t_two_sided_p(t, 1), 1 - 2 / pi * std::atan(t), 1e-12) << t;
    EXPECT_NEAR(student_t_two_sided_p(-t, 2), 1 - t / std::sqrt(t * t + 2), 1e-12) << t;
  }
  // The 97.5% quantiles of the t tables: two-sided p = 0.05.
  EXPECT_NEAR(student_t_two_sided_p(2.776445105, 4), 0.05, 1e-8);
  EXPECT_NEAR(student_t_two_sided_p(2.228138852, 10), 0.05, 1e-8);
  EXPECT_NEAR(student_t_two_sided_p(1.959963985, 1e7), 0.05, 1e-6);  // the normal limit
  EXPECT_EQ(student_t_two_sided_p(INFINITY, 3), 0);
  EXPECT_THROW(student_t_two_sided_p(1, 0), ValueError);
}

TEST(Statistics, PairedTestWorkedByHand) {
  // d = (0.01, 0.02, 0.06): mean 0.03, sd sqrt(7e-4), se sqrt(7e-4 / 3), t = 0.03 / se, df 2.
  PairedTest r = paired_t_test({0.81, 0.82, 0.86}, {0.80, 0.80, 0.80});
  double se = std::sqrt(7e-4 / 3), t = 0.03 / se;
  EXPECT_EQ(r.n, 3);
  EXPECT_NEAR(r.mean, 0.03, 1e-12);
  EXPECT_NEAR(r.se, se, 1e-12);
  EXPECT_NEAR(r.t, t, 1e-9);
  EXPECT_NEAR(r.p, 1 - t / std::sqrt(t * t + 2), 1e-9);
  EXPECT_TRUE(std::isnan(paired_t_test({0.5}, {0.4}).p));  // one pair: undefined
  EXPECT_EQ(paired_t_test({0.5, 0.6}, {0.4, 0.5}).p, 0);   // identical differences
  EXPECT_EQ(paired_t_test({0.5, 0.6}, {0.5, 0.6}).p, 1);
  EXPECT_THROW(paired_t_test({0.5, 0.6}, {0.5}), ValueError);
  EXPECT_NEAR(aubc({0.5, 0.6, 0.7}), 0.6, 1e-12);
}

TEST(Statistics, SummaryReportsAubcPairedDifferencesAndWinTieLoss) {
  // Three trials, two fractions: A beats random by (1, 2, 6) points at 10% and ties it
  // (+1, -1, 0) at 30% (written 0.1 * 3 = 0.30000000000000004, as a run accumulates it).
  std::vector<ResultRow> rows;
  auto add = [&](const char* m, int64_t trial, double f, double v) {
    ResultRow r;
    r.method = m, r.trial = trial, r.labeled_fraction = f, r.value = v;
    rows.push_back(r);
  };
  double a10[] = {0.81, 0.82, 0.86}, a20[] = {0.91, 0.89, 0.90};
  for (int64_t t = 1; t <= 3; ++t) {
    add("a", t, 0.1, a10[t - 1]);
    add("random", t, 0.1, 0.80);
    add("a", t, 0.1 * 3, a20[t - 1]);
    add("random", t, 0.3, 0.90);
  }
  std::string s = summary_markdown(rows, {"a", "random"}, "t", {});
  // AUBC of a per trial: 86.0, 85.5, 88.0 -> mean 86.50, sd 1.32; random 85.00 ± 0.00.
  EXPECT_NE(s.find("| a | 86.50 ± 1.32 | 3 |"), std::string::npos) << s;
  EXPECT_NE(s.find("| random | 85.00 ± 0.00 | 3 |"), std::string::npos) << s;
  // 10%: +3.00 ± 1.53, p = 0.188 (df 2 closed form above): not significant.
  EXPECT_NE(s.find("| 10% | +3.00 ± 1.53 (p 0.188) |"), std::string::npos) << s;
  EXPECT_NE(s.find("| 30% | +0.00 ± 0.58 (p 1.000) |"), std::string::npos) << s;
  EXPECT_NE(s.find("| a | – | 0/2/0 |"), std::string::npos) << s;
  // Make 10% significant: equal differences of 2 points give se 0 and p 0.
  for (ResultRow& r : rows)
    if (r.method == "a" && r.labeled_fraction == 0.1) r.value = 0.82;
  s = summary_markdown(rows, {"a", "random"}, "t", {});
  EXPECT_NE(s.find("| 10% | +2.00 ± 0.00 (p 0.000 *) |"), std::string::npos) << s;
  EXPECT_NE(s.find("| a | – | 1/1/0 |"), std::string::npos) << s;
  EXPECT_NE(s.find("| random | 0/1/1 | – |"), std::string::npos) << s;
}

// One trial has no standard deviation: the tables say "—", not "± 0.00".
TEST(Statistics, OneTrialShowsNoSd) {
  std::vector<ResultRow> rows;
  for (const char* m : {"a", "random"}) {
    ResultRow r;
    r.method = m, r.trial = 1, r.labeled_fraction = 0.1, r.value = 0.7515;
    rows.push_back(r);
  }
  std::string s = summary_markdown(rows, {"a", "random"}, "t", {});
  EXPECT_NE(s.find("| 10% | 75.15 — (n=1) | 75.15 — (n=1) |"), std::string::npos) << s;
  EXPECT_NE(s.find("| a | 75.15 — | 1 |"), std::string::npos) << s;
  EXPECT_EQ(s.find("± 0.00"), std::string::npos) << s;
}

// A fraction with more decimals than the table shows still pairs its rows with the table's
// fraction (one rounding of fractions for the table, AUBC and tests).
TEST(Statistics, FractionsWithManyDecimalsStayOneFraction) {
  std::vector<ResultRow> rows;
  for (int64_t t = 1; t <= 2; ++t)
    for (const char* m : {"a", "random"}) {
      ResultRow r;
      r.method = m, r.trial = t, r.labeled_fraction = 0.123456, r.value = 0.5 + 0.1 * double(t);
      rows.push_back(r);
    }
  std::string s = summary_markdown(rows, {"a", "random"}, "t", {});
  EXPECT_NE(s.find("| a | 65.00 ± 7.07 | 2 |"), std::string::npos) << s;
  EXPECT_NE(s.find("| 12% | +0.00 ± 0.00 (p 1.000) |"), std::string::npos) << s;
}

// Nine methods (the baselines preset) get nine colours, fainter bands and a legend entry each;
// an eleventh reuses the first colour dashed.
TEST(Statistics, PlotStaysDistinctForManyMethods) {
  std::vector<std::string> methods;
  std::vector<ResultRow> rows;
  for (int k = 0; k < 11; ++k) {
    methods.push_back(fmt::format("m{}", k));
    for (double f : {0.1, 0.2}) {
      ResultRow r;
      r.method = methods.back(), r.trial = 1, r.labeled_fraction = f, r.value = 0.5 + 0.01 * k;
      rows.push_back(r);
    }
  }
  auto lines = [](const std::string& svg) {
    std::vector<std::string> out;
    for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1))
      out.push_back(svg.substr(p, svg.find("/>", p) - p));
    return out;
  };
  std::vector<std::string> nine =
      lines(plot_svg(rows, std::vector<std::string>(methods.begin(), methods.begin() + 9), "t"));
  ASSERT_EQ(nine.size(), 9u);
  std::set<std::string> colours;
  for (const std::string& l : nine) colours.insert(l.substr(l.find("stroke=\""), 17));
  EXPECT_EQ(colours.size(), 9u);
  std::string svg = plot_svg(rows, methods, "t");
  EXPECT_NE(svg.find("fill-opacity=\"0.07\""), std::string::npos);
  std::vector<std::string> all = lines(svg);
  ASSERT_EQ(all.size(), 11u);
  EXPECT_NE(all[10].find("stroke-dasharray"), std::string::npos);
  EXPECT_EQ(all[0].find("stroke-dasharray"), std::string::npos);
  for (const std::string& m : methods)
    EXPECT_NE(svg.find(">" + m + "</text>"), std::string::npos) << m;
}

}  // namespace
}  // namespace sr

namespace sr {
namespace {

// The metric axis steps by 1, 2, 2.5 or 5 times a power of ten, its labels with the decimals the
// step needs; the legend says what the bands are.
TEST(Statistics, PlotTicksAreNiceAndBandsLabelled) {
  EXPECT_DOUBLE_EQ(nice_tick_step(0.9), 1.0);
  EXPECT_DOUBLE_EQ(nice_tick_step(1.3), 2.0);
  EXPECT_DOUBLE_EQ(nice_tick_step(2.1), 2.5);
  EXPECT_DOUBLE_EQ(nice_tick_step(3.7), 5.0);
  EXPECT_DOUBLE_EQ(nice_tick_step(6.0), 10.0);
  EXPECT_DOUBLE_EQ(nice_tick_step(0.021), 0.025);
  EXPECT_EQ(tick_decimals(5), 0);
  EXPECT_EQ(tick_decimals(2.5), 1);
  EXPECT_EQ(tick_decimals(0.25), 2);
  std::vector<ResultRow> rows;
  for (int t = 1; t <= 3; ++t)
    for (double f : {0.1, 0.2, 0.3}) {
      ResultRow r;
      r.method = "sraal", r.trial = t, r.labeled_fraction = f;
      r.value = 0.70 + 0.3 * f + 0.004 * t;
      rows.push_back(r);
    }
  std::string svg = plot_svg(rows, {"sraal"}, "t");
  EXPECT_NE(svg.find("±1 sd (n = 3)"), std::string::npos);
  // Every tick label is a multiple of the step, and the steps are equal.
  std::vector<double> ticks;
  for (size_t p = svg.find("text-anchor=\"end\">"); p != std::string::npos;
       p = svg.find("text-anchor=\"end\">", p + 1))
    ticks.push_back(std::stod(svg.substr(p + 18)));
  ASSERT_GE(ticks.size(), 3u);
  const double step = ticks[1] - ticks[0];
  EXPECT_DOUBLE_EQ(step, nice_tick_step(step));
  for (size_t i = 1; i < ticks.size(); ++i) EXPECT_NEAR(ticks[i] - ticks[i - 1], step, 1e-9);
  rows.resize(3);  // one trial
  EXPECT_NE(plot_svg(rows, {"sraal"}, "t").find("one trial: no sd band"), std::string::npos);
}

}  // namespace
}  // namespace sr
