// Central-difference gradient checker for the engine's ops and modules (float32).
//
// The scalar probed is L = sum(f(inputs) * R) with a fixed random R, accumulated in double on
// the host. For up to `max_points` elements of each input that requires grad it compares the
// analytic dL/dx with (L(x + eps) - L(x - eps)) / (2 eps). A point passes when
// |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|). A point that misses is
// skipped when it lies near a kink (relu at 0, a max tie, a clamp bound), where the one-sided
// differences disagree; at least `min_checked` of the probed points must pass outright.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace sr::test {

struct GradcheckOptions {
  float eps = 1e-3f;
  float atol = 2e-3f;
  float rtol = 2e-2f;
  int max_points = 48;  // per input
  uint64_t seed = 1234;
  float min_checked = 0.5f;  // fraction of probed points that must not be skipped as kinks
};

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

::testing::AssertionResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs,
                                     const GradcheckOptions& opt = {});

// Random float tensor with values in [lo, hi) (deterministic per seed), requiring grad.
Tensor random_input(const Shape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f,
                    bool requires_grad = true);

// max |a - b| over elements (same shapes), and a check with a stated tolerance.
double max_abs_diff(const Tensor& a, const Tensor& b);
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol,
                                     double rtol);
// ||actual - expected||_2 <= rel * ||expected||_2 (same shapes): for results of deep networks,
// where single elements are remnants of cancellation and carry float32's error magnified.
::testing::AssertionResult close_in_norm(const Tensor& actual, const Tensor& expected, double rel);

}  // namespace sr::test
