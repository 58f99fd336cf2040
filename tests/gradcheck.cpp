// Central-difference gradient checker (see gradcheck.h).
#include "tests/gradcheck.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace sr::test {

Tensor random_input(const Shape& shape, uint64_t seed, float lo, float hi, bool requires_grad) {
  Generator g(seed);
  Tensor t = Tensor::empty(shape);
  uniform_(t, lo, hi, g);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<float> va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::fabs(double(va[i]) - double(vb[i])));
  return m;
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol,
                                     double rtol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " != expected "
                                         << shape_str(expected.shape());
  std::vector<float> va = actual.to_vector(), vb = expected.to_vector();
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    double d = std::fabs(double(va[i]) - double(vb[i]));
    bool nan = std::isnan(va[i]) != std::isnan(vb[i]);
    if (nan || d > atol + rtol * std::fabs(double(vb[i]))) {
      if (!bad) first = i;
      ++bad;
    }
    worst = std::max(worst, d);
  }
  if (!bad) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << va.size() << " elements differ (atol " << atol << ", rtol " << rtol
         << "); first at " << first << ": " << va[first] << " vs expected " << vb[first]
         << "; max |diff| " << worst;
}

::testing::AssertionResult close_in_norm(const Tensor& actual, const Tensor& expected, double rel) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " != expected "
                                         << shape_str(expected.shape());
  std::vector<float> va = actual.to_vector(), vb = expected.to_vector();
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    double d = double(va[i]) - double(vb[i]);
    num += d * d;
    den += double(vb[i]) * double(vb[i]);
  }
  double r = std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
  if (r <= rel) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative L2 error " << r << " > " << rel;
}

namespace {

double probe(const Fn& f, const std::vector<Tensor>& inputs, const std::vector<float>& r) {
  NoGradGuard ng;
  std::vector<float> out = f(inputs).to_vector();
  double l = 0;
  for (size_t i = 0; i < out.size(); ++i) l += double(out[i]) * double(r[i]);
  return l;
}

}  // namespace

::testing::AssertionResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs,
                                     const GradcheckOptions& opt) {
  // Analytic gradients of L = sum(f * R).
  Tensor out = f(inputs);
  Tensor R = random_input(out.shape(), opt.seed, -1.f, 1.f, false);
  std::vector<float> r = R.to_vector();
  for (const Tensor& x : inputs)
    if (x.requires_grad()) const_cast<Tensor&>(x).set_grad(Tensor());
  sum(mul(out, R)).backward();

  Generator pick(opt.seed + 1);
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor g = x.grad();
    if (!g.defined()) return ::testing::AssertionFailure() << "input " << k << " got no gradient";
    std::vector<float> gv = g.to_vector();
    Tensor xc = x.detach();  // shares storage: perturb in place
    SR_CHECK(xc.is_contiguous(), "gradcheck: inputs must be contiguous");
    float* xp = xc.data<float>();
    int64_t n = x.numel();
    int points = int(std::min<int64_t>(n, opt.max_points));
    int checked = 0, skipped = 0;
    for (int p = 0; p < points; ++p) {
      int64_t i = n <= opt.max_points ? p : pick.randint(n);
      float orig = xp[i];
      xp[i] = orig + opt.eps;
      xc.bump_version();
      double lp = probe(f, inputs, r);
      xp[i] = orig - opt.eps;
      xc.bump_version();
      double lm = probe(f, inputs, r);
      xp[i] = orig;
      xc.bump_version();
      double l0 = probe(f, inputs, r);
      double numeric = (lp - lm) / (2 * opt.eps);
      double analytic = gv[size_t(i)];
      double tol = opt.atol + opt.rtol * std::max(std::fabs(analytic), std::fabs(numeric));
      if (std::fabs(analytic - numeric) <= tol) {
        ++checked;
        continue;
      }
      // A mismatch counts only away from kinks: one-sided slopes that disagree mean kinks lie
      // between x - eps and x + eps (in a deep ReLU net, many small ones), where the central
      // difference is not the derivative. Where the function is smooth they agree to about
      // eps * f'', far inside a quarter of the tolerance; a wrong gradient keeps them agreeing.
      double fwd = (lp - l0) / opt.eps, bwd = (l0 - lm) / opt.eps;
      double kink_tol = 0.25 * (opt.atol + opt.rtol * std::max(std::fabs(fwd), std::fabs(bwd)));
      if (std::fabs(fwd - bwd) > kink_tol) {
        ++skipped;
        continue;
      }
      return ::testing::AssertionFailure()
             << "input " << k << " " << shape_str(x.shape()) << " element " << i << ": analytic "
             << analytic << " vs numeric " << numeric << " (tolerance " << tol << ")";
    }
    if (checked < opt.min_checked * points)
      return ::testing::AssertionFailure()
             << "input " << k << ": only " << checked << " of " << points << " points matched ("
             << skipped << " skipped as kinks)";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace sr::test
