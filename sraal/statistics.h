// The statistics of a comparison of active-learning methods (SPEC section 6, after Lüth et al.,
// NeurIPS 2023): methods share the initial pool and the initial weights within a trial, so two
// methods are compared by the paired differences of their trials.
//
//   paired_t_test(a, b)   d_i = a_i - b_i over n pairs: mean d, its standard error s_d / sqrt(n)
//                         (s_d the sample sd), t = mean / se, df = n - 1, and the two-sided
//                         p = P(|T_df| >= |t|). n < 2: se, t and p are NaN. se = 0 (identical
//                         differences): t = +-inf and p = 0 unless the mean is 0 too (then p = 1).
//   student_t_two_sided_p(t, df)  = I_{df / (df + t^2)}(df / 2, 1 / 2), the regularised
//                         incomplete beta function (continued fraction, |error| < 1e-12).
//   aubc(values)          area under the budget curve: the mean metric over the fractions.
#pragma once

#include <cstdint>
#include <vector>

namespace sr {

struct PairedTest {
  int64_t n = 0;
  double mean = 0, se = 0, t = 0, p = 0;
};

PairedTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b);
double student_t_two_sided_p(double t, double df);
double regularized_incomplete_beta(double x, double a, double b);
double aubc(const std::vector<double>& values);

}  // namespace sr
