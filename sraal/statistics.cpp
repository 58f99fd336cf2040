// Paired t-test, Student's t tail and the area under the budget curve (see statistics.h).
#include "sraal/statistics.h"

#include <cmath>
#include <limits>

#include "engine/error.h"

namespace sr {

namespace {

// The continued fraction of I_x(a, b) (modified Lentz), for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double x, double a, double b) {
  const double tiny = 1e-300, eps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return h;
}

}  // namespace

double regularized_incomplete_beta(double x, double a, double b) {
  SR_CHECK_VALUE(a > 0 && b > 0 && x >= 0 && x <= 1,
                 "incomplete beta: needs a, b > 0 and x in [0, 1], got x {} a {} b {}", x, a, b);
  if (x == 0 || x == 1) return x;
  double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                          b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(x, a, b) / a;
  return 1 - front * beta_continued_fraction(1 - x, b, a) / b;
}

double student_t_two_sided_p(double t, double df) {
  SR_CHECK_VALUE(df > 0, "t distribution: degrees of freedom {} must be positive", df);
  if (std::isnan(t)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return 0;
  return regularized_incomplete_beta(df / (df + t * t), df / 2, 0.5);
}

PairedTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  SR_CHECK_VALUE(a.size() == b.size(), "paired t-test: {} and {} values", a.size(), b.size());
  PairedTest r;
  r.n = int64_t(a.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (r.n == 0) return {0, nan, nan, nan, nan};
  for (size_t i = 0; i < a.size(); ++i) r.mean += a[i] - b[i];
  r.mean /= double(r.n);
  if (r.n < 2) {
    r.se = r.t = r.p = nan;
    return r;
  }
  double ss = 0;
  for (size_t i = 0; i < a.size(); ++i) ss += (a[i] - b[i] - r.mean) * (a[i] - b[i] - r.mean);
  r.se = std::sqrt(ss / double(r.n - 1) / double(r.n));
  if (r.se == 0) {
    r.t = r.mean == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), r.mean);
    r.p = r.mean == 0 ? 1 : 0;
    return r;
  }
  r.t = r.mean / r.se;
  r.p = student_t_two_sided_p(r.t, double(r.n - 1));
  return r;
}

double aubc(const std::vector<double>& values) {
  SR_CHECK_VALUE(!values.empty(), "area under the budget curve: no values");
  double s = 0;
  for (double v : values) s += v;
  return s / double(values.size());
}

}  // namespace sr
