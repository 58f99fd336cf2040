// Selection kernels: the references against hand-computed cases and the literal SPEC formulas,
// the fast CPU kernels against the references (stated tolerances; identical k-center picks),
// argument errors, and CUDA against the CPU where a GPU exists.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "engine/backend.h"
#include "engine/cpu/selection_cpu.h"
#include "engine/cpu/selection_reference.h"
#include "engine/selection.h"
#include "tests/run_sraal.h"

namespace sr {
namespace {

// ---------------------------------------------------------------- helpers

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

std::vector<float> gaussian_vec(size_t n, uint32_t seed, float sd = 1.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> u(0.f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

// Softmax of each row in double, rounded to float.
std::vector<float> softmax_rows(const std::vector<float>& x, int64_t c) {
  std::vector<float> p(x.size());
  for (size_t r = 0; r < x.size() / size_t(c); ++r) {
    const float* xr = x.data() + r * size_t(c);
    double m = *std::max_element(xr, xr + c), t = 0;
    for (int64_t i = 0; i < c; ++i) t += std::exp(double(xr[i]) - m);
    for (int64_t i = 0; i < c; ++i) p[r * size_t(c) + size_t(i)] = float(std::exp(xr[i] - m) / t);
  }
  return p;
}

// SPEC section 2 taken literally, in long double.
double spec_indicator(const std::vector<double>& v, bool official) {
  long double C = v.size(), m = *std::max_element(v.begin(), v.end()), var = 0;
  for (double x : v) var += (x - 1 / C) * (x - 1 / C);
  var /= official ? C - 1 : C;
  long double a = 1 / C - m, b = 1 / C - (1 - m) / (C - 1);
  long double minvar = (a * a + (C - 1) * b * b) / C;
  return double(1 - minvar / var * m);
}
double spec_entropy(const std::vector<double>& v) {
  double h = 0;
  for (double x : v)
    if (x > 0) h -= x * std::log(x);
  return h / std::log(double(v.size()));
}
double spec_sd(const std::vector<double>& v) {
  double C = double(v.size()), var = 0;
  for (double x : v) var += (x - 1 / C) * (x - 1 / C);
  double sd = std::sqrt(var / C),
         sd1 = std::sqrt(((1 - 1 / C) * (1 - 1 / C) + (C - 1) / (C * C)) / C);
  return 1 - sd / sd1;
}

std::vector<float> ref_scores(const std::vector<float>& x, int64_t c, ScoreOptions o) {
  std::vector<float> s(x.size() / size_t(c));
  ref::uncertainty_scores(x.data(), int64_t(s.size()), c, o, s.data());
  return s;
}
std::vector<float> fast_scores(const std::vector<float>& x, int64_t c, ScoreOptions o) {
  std::vector<float> s(x.size() / size_t(c));
  cpu::uncertainty_scores(x.data(), int64_t(s.size()), c, o, s.data());
  return s;
}

const ScoreKind kKinds[] = {ScoreKind::indicator, ScoreKind::entropy, ScoreKind::sd};

// ---------------------------------------------------------------- indicator: hand cases

TEST(Indicator, UniformRowsScoreExactly) {
  for (int64_t c : {2, 3, 10, 33, 1000}) {
    std::vector<float> probs(static_cast<size_t>(c), 1.f / float(c)),
        logits(static_cast<size_t>(c), 0.37f);
    for (bool official : {false, true}) {
      double factor = official ? double(c - 1) / double(c) : 1.0;
      float want = float(1.0 - factor / double(c));
      ScoreOptions o{ScoreKind::indicator, false,
                     official ? IndicatorScaling::official : IndicatorScaling::population};
      for (bool lg : {false, true}) {
        o.logits = lg;
        const auto& x = lg ? logits : probs;
        EXPECT_EQ(ref_scores(x, c, o)[0], want) << "C=" << c;
        EXPECT_EQ(fast_scores(x, c, o)[0], want) << "C=" << c;
      }
    }
    for (ScoreKind k : {ScoreKind::entropy, ScoreKind::sd})
      for (bool lg : {false, true}) {
        ScoreOptions o{k, lg};
        EXPECT_EQ(ref_scores(lg ? logits : probs, c, o)[0], 1.f) << "C=" << c;
        EXPECT_EQ(fast_scores(lg ? logits : probs, c, o)[0], 1.f) << "C=" << c;
      }
  }
}

TEST(Indicator, OneHotRowsScoreZero) {
  for (int64_t c : {2, 3, 10, 32, 33, 1000}) {
    std::vector<float> x(static_cast<size_t>(c), 0.f);
    x[size_t(c / 2)] = 1.f;
    for (ScoreKind k : kKinds) {
      ScoreOptions o{k};
      EXPECT_EQ(ref_scores(x, c, o)[0], 0.f) << "C=" << c;
      EXPECT_EQ(fast_scores(x, c, o)[0], 0.f) << "C=" << c;
    }
  }
}

TEST(Indicator, TwoClassesUseTheRowItself) {
  std::vector<float> x = {0.7f, 0.3f, 0.3f, 0.7f};
  for (auto f : {ref_scores, fast_scores}) {
    auto ind = f(x, 2, {ScoreKind::indicator});
    EXPECT_EQ(ind[0], 1.f - 0.7f);  // MINVar = Var: score = 1 - m exactly
    EXPECT_EQ(ind[1], 1.f - 0.7f);
    EXPECT_NEAR(f(x, 2, {ScoreKind::indicator, false, IndicatorScaling::official})[0], 0.65, 1e-7);
    EXPECT_NEAR(f(x, 2, {ScoreKind::entropy})[0], 0.8812908992306927, 1e-6);
    EXPECT_NEAR(f(x, 2, {ScoreKind::sd})[0], 0.6, 1e-6);
  }
}

TEST(Indicator, HandComputedFourClasses) {
  // V = (0.5, 0.3, 0.1, 0.1): Var = 0.0275, MINVar = 1/48, ratio = 25/33, score = 1 - 25/66.
  std::vector<float> x = {0.3f, 0.1f, 0.5f, 0.1f};
  for (auto f : {ref_scores, fast_scores}) {
    EXPECT_NEAR(f(x, 4, {ScoreKind::indicator})[0], 1.0 - 25.0 / 66.0, 1e-6);
    // Official: Var = 0.11 / 3, ratio = 25/44, score = 1 - 25/88.
    EXPECT_NEAR(f(x, 4, {ScoreKind::indicator, false, IndicatorScaling::official})[0],
                1.0 - 25.0 / 88.0, 1e-6);
  }
}

TEST(Indicator, ReferenceMatchesTheLiteralSpecFormulas) {
  for (int64_t c : {3, 10, 100, 1000}) {
    auto x = softmax_rows(random_vec(size_t(c * 50), uint32_t(c), -4.f, 4.f), c);
    for (bool official : {false, true}) {
      ScoreOptions o{ScoreKind::indicator, false,
                     official ? IndicatorScaling::official : IndicatorScaling::population};
      auto s = ref_scores(x, c, o), e = ref_scores(x, c, {ScoreKind::entropy});
      auto sd = ref_scores(x, c, {ScoreKind::sd});
      for (size_t r = 0; r < s.size(); ++r) {
        std::vector<double> v(x.begin() + long(r) * c, x.begin() + long(r + 1) * c);
        double sum = std::accumulate(v.begin(), v.end(), 0.0);
        for (double& t : v) t /= sum;  // the literal formulas assume sum V = 1
        EXPECT_NEAR(s[r], spec_indicator(v, official), 2e-6) << "C=" << c << " row " << r;
        EXPECT_NEAR(e[r], spec_entropy(v), 2e-6);
        EXPECT_NEAR(sd[r], spec_sd(v), 2e-6);
      }
    }
  }
}

TEST(Indicator, ScoresStayInUnitIntervalAndHigherMeansFlatter) {
  std::vector<float> sharp = {0.97f, 0.01f, 0.01f, 0.01f}, flat = {0.4f, 0.2f, 0.2f, 0.2f};
  for (ScoreKind k : kKinds) {
    float a = fast_scores(sharp, 4, {k})[0], b = fast_scores(flat, 4, {k})[0];
    EXPECT_LT(a, b) << score_kind_name(k);
    EXPECT_GE(a, 0.f);
    EXPECT_LE(b, 1.f);
  }
}

// ---------------------------------------------------------------- indicator: fast vs reference

TEST(Indicator, FastMatchesReferenceOnRandomRows) {
  // Tolerance: float statistics against the double reference, 2e-5 absolute (scores in [0,1]).
  for (int64_t c : {2, 3, 7, 10, 16, 31, 32, 33, 100, 1000}) {
    for (float spread : {0.5f, 4.f, 20.f}) {
      auto logits = random_vec(size_t(c * 97), uint32_t(c * 7 + int(spread)), -spread, spread);
      auto probs = softmax_rows(logits, c);
      for (ScoreKind k : kKinds)
        for (bool official : {false, true})
          for (bool lg : {false, true}) {
            ScoreOptions o{k, lg,
                           official ? IndicatorScaling::official : IndicatorScaling::population};
            const auto& x = lg ? logits : probs;
            auto r = ref_scores(x, c, o), f = fast_scores(x, c, o);
            for (size_t i = 0; i < r.size(); ++i)
              ASSERT_NEAR(f[i], r[i], 2e-5) << "C=" << c << " kind " << score_kind_name(k)
                                            << " logits " << lg << " row " << i;
          }
    }
  }
}

TEST(Indicator, LogitsAndProbabilitiesAgree) {
  const int64_t c = 10;
  auto logits = random_vec(size_t(c * 300), 5, -6.f, 6.f);
  auto probs = softmax_rows(logits, c);
  for (ScoreKind k : kKinds) {
    auto a = fast_scores(logits, c, {k, true}), b = fast_scores(probs, c, {k, false});
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 2e-5);
  }
}

TEST(Indicator, ApiTakesRowsAndSegmentationMaps) {
  // Two pixels, one-hot on different classes: mean (0.5, 0.5, 0), score 1 - 0.25 * 0.5.
  Tensor seg = Tensor::from_vector(std::vector<float>{1, 0, 0, 1, 0, 0}, {1, 3, 1, 2});
  EXPECT_NEAR(uncertainty_scores(seg).item<float>(), 0.875f, 1e-6);
  // Logits (N, C, H, W): per-pixel softmax, then the mean, then the score.
  const int64_t n = 3, c = 5, hw = 37;
  auto lg = random_vec(size_t(n * c * hw), 9, -3.f, 3.f);
  Tensor x = Tensor::from_vector(lg, {n, c, 1, hw});
  Tensor mean = spatial_mean_probs(x, true);
  std::vector<float> want(static_cast<size_t>(n * c));
  ref::spatial_mean_probs(lg.data(), n, c, hw, true, want.data());
  auto got = mean.to_vector();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-6);
  Tensor s = uncertainty_scores(x, ScoreKind::indicator, true);
  auto direct = uncertainty_scores(mean, ScoreKind::indicator, false).to_vector();
  EXPECT_EQ(s.to_vector(), direct);
}

TEST(Indicator, SpatialMeanFastMatchesReference) {
  for (int64_t c : {2, 19, 300})
    for (int64_t hw : {1, 100, 5000}) {
      const int64_t n = 2;
      auto x = random_vec(size_t(n * c * hw), uint32_t(c + hw), -5.f, 5.f);
      for (bool lg : {false, true}) {
        std::vector<float> r(static_cast<size_t>(n * c)), f(static_cast<size_t>(n * c));
        ref::spatial_mean_probs(x.data(), n, c, hw, lg, r.data());
        cpu::spatial_mean_probs(x.data(), n, c, hw, lg, f.data());
        for (size_t i = 0; i < r.size(); ++i)
          ASSERT_NEAR(f[i], r[i], 1e-6 + 1e-5 * std::fabs(r[i])) << c << " " << hw;
      }
    }
}

TEST(Indicator, BadInputsThrow) {
  EXPECT_THROW(uncertainty_scores(Tensor::ones({4, 1})), ShapeError);
  EXPECT_THROW(uncertainty_scores(Tensor::ones({4, 3, 2})), ShapeError);
  EXPECT_THROW(uncertainty_scores(Tensor::ones({4, 3}, DType::i64)), DTypeError);
  EXPECT_THROW(parse_score_kind("variance"), ValueError);
  EXPECT_EQ(uncertainty_scores(Tensor::ones({0, 3})).numel(), 0);
}

// ---------------------------------------------------------------- pairwise distances

std::vector<float> ref_dists(const std::vector<float>& a, const std::vector<float>& b, int64_t d) {
  int64_t m = int64_t(a.size()) / d, n = int64_t(b.size()) / d;
  std::vector<float> out(static_cast<size_t>(m * n));
  ref::pairwise_sq_dists(a.data(), m, b.data(), n, d, out.data());
  return out;
}

// |identity - exact| <= 4 d 2^-24 (|a|^2 + |b|^2) + tiny.
void expect_dists_close(const std::vector<float>& got, const std::vector<float>& want,
                        const std::vector<float>& a, const std::vector<float>& b, int64_t d) {
  int64_t m = int64_t(a.size()) / d, n = int64_t(b.size()) / d;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < n; ++k) {
      double na = 0, nb = 0;
      for (int64_t j = 0; j < d; ++j) na += a[size_t(i * d + j)] * a[size_t(i * d + j)];
      for (int64_t j = 0; j < d; ++j) nb += b[size_t(k * d + j)] * b[size_t(k * d + j)];
      double tol = 4.0 * double(d + 2) * 0x1p-24 * (na + nb) + 1e-30;
      ASSERT_NEAR(got[size_t(i * n + k)], want[size_t(i * n + k)], tol) << i << "," << k;
      ASSERT_GE(got[size_t(i * n + k)], 0.f);
    }
}

TEST(Pairwise, HandComputed) {
  Tensor a = Tensor::from_vector(std::vector<float>{0, 0, 1, 1}, {2, 2});
  Tensor b = Tensor::from_vector(std::vector<float>{1, 0, 0, 0, 3, 4}, {3, 2});
  EXPECT_EQ(pairwise_sq_dists(a, b).to_vector(), (std::vector<float>{1, 0, 25, 1, 2, 13}));
}

TEST(Pairwise, FastMatchesReference) {
  for (int64_t d : {1, 7, 33, 512})
    for (auto [m, n] : {std::pair<int64_t, int64_t>{1, 1}, {17, 5}, {130, 70}}) {
      auto a = random_vec(size_t(m * d), uint32_t(d + m), -2.f, 2.f);
      auto b = random_vec(size_t(n * d), uint32_t(d + n + 1), -2.f, 2.f);
      Tensor out =
          pairwise_sq_dists(Tensor::from_vector(a, {m, d}), Tensor::from_vector(b, {n, d}));
      expect_dists_close(out.to_vector(), ref_dists(a, b, d), a, b, d);
    }
}

TEST(Pairwise, NeverNegativeForNearDuplicates) {
  // Far from the origin, |a|^2 + |b|^2 - 2 a.b cancels catastrophically.
  const int64_t m = 40, d = 64;
  auto a = random_vec(size_t(m * d), 3, 999.f, 1001.f);
  std::vector<float> b = a;
  for (size_t i = 0; i < b.size(); i += 7) b[i] = std::nextafter(b[i], 2000.f);
  for (auto method :
       {cpu::PairwiseOptions::Method::fused_matmul, cpu::PairwiseOptions::Method::blas_tiles}) {
    std::vector<float> out(static_cast<size_t>(m * m));
    cpu::pairwise_sq_dists(a.data(), m, b.data(), m, d, out.data(), {method});
    for (float v : out) ASSERT_GE(v, 0.f);
    expect_dists_close(out, ref_dists(a, b, d), a, b, d);
  }
}

TEST(Pairwise, TiledEqualsUntiled) {
  const int64_t m = 300, n = 260, d = 48;
  auto a = random_vec(size_t(m * d), 11), b = random_vec(size_t(n * d), 12);
  std::vector<float> whole(static_cast<size_t>(m * n)), tiled(static_cast<size_t>(m * n));
  std::vector<float> fused(static_cast<size_t>(m * n));
  auto tiles = [](int64_t rows, int64_t cols) {
    cpu::PairwiseOptions o;
    o.method = cpu::PairwiseOptions::Method::blas_tiles;
    o.rows = rows, o.cols = cols;
    return o;
  };
  cpu::pairwise_sq_dists(a.data(), m, b.data(), n, d, whole.data(), tiles(m, n));
  cpu::pairwise_sq_dists(a.data(), m, b.data(), n, d, tiled.data(), tiles(7, 13));
  cpu::pairwise_sq_dists(a.data(), m, b.data(), n, d, fused.data());
  // The BLAS may block the calls differently; all are within the identity's error bound of the
  // exact values and of each other.
  expect_dists_close(tiled, whole, a, b, d);
  expect_dists_close(fused, whole, a, b, d);
  expect_dists_close(tiled, ref_dists(a, b, d), a, b, d);
  expect_dists_close(fused, ref_dists(a, b, d), a, b, d);
}

TEST(Pairwise, BadShapesThrow) {
  EXPECT_THROW(pairwise_sq_dists(Tensor::ones({3, 4}), Tensor::ones({3, 5})), ShapeError);
  EXPECT_THROW(pairwise_sq_dists(Tensor::ones({3}), Tensor::ones({3, 5})), ShapeError);
  EXPECT_THROW(pairwise_sq_dists(Tensor::ones({3, 4}, DType::i32), Tensor::ones({3, 4})),
               DTypeError);
  EXPECT_EQ(pairwise_sq_dists(Tensor::ones({0, 4}), Tensor::ones({3, 4})).shape(), (Shape{0, 3}));
}

// ---------------------------------------------------------------- k-center

std::vector<int64_t> fast_kcenter(const std::vector<float>& x, int64_t d,
                                  const std::vector<int64_t>& centers, int64_t k,
                                  cpu::KCenterOptions o = {}, cpu::KCenterStats* st = nullptr) {
  return cpu::kcenter_greedy(x.data(), int64_t(x.size()) / d, d, centers, k, o, st);
}

TEST(KCenter, HandComputedLine) {
  Tensor p = Tensor::from_vector(std::vector<float>{0, 1, 2, 10, 11}, {5, 1});
  EXPECT_EQ(kcenter_greedy(p, {0}, 2), (std::vector<int64_t>{4, 2}));
}

TEST(KCenter, TiesGoToTheSmallerIndex) {
  // Unit square from corner 0: (1,1) is farthest; then (1,0) and (0,1) tie at 1.
  Tensor sq = Tensor::from_vector(std::vector<float>{0, 0, 1, 0, 0, 1, 1, 1}, {4, 2});
  EXPECT_EQ(kcenter_greedy(sq, {0}, 3), (std::vector<int64_t>{3, 1, 2}));
  std::vector<float> v = sq.to_vector();
  EXPECT_EQ(ref::kcenter_greedy(v.data(), 4, 2, {0}, 3), (std::vector<int64_t>{3, 1, 2}));
}

TEST(KCenter, DuplicatesAndKEqualsN) {
  // Points 0 and 1 coincide: after 0 and 2, point 1 (distance 0) is the only one left.
  Tensor p = Tensor::from_vector(std::vector<float>{1, 1, 1, 1, 5, 5}, {3, 2});
  EXPECT_EQ(kcenter_greedy(p, {0}, 2), (std::vector<int64_t>{2, 1}));
  // k = N from no centers: a permutation of all points, starting with the random start.
  auto x = random_vec(60 * 3, 21);
  Tensor q = Tensor::from_vector(x, {60, 3});
  auto all = kcenter_greedy(q, {}, 60, /*seed=*/5);
  std::vector<int64_t> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(60);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  std::vector<int64_t> rest = ref::kcenter_greedy(x.data(), 60, 3, {all[0]}, 59);
  EXPECT_EQ(std::vector<int64_t>(all.begin() + 1, all.end()), rest);
}

TEST(KCenter, RandomStartsAreSeededAndCounted) {
  auto x = random_vec(500 * 4, 22);
  Tensor p = Tensor::from_vector(x, {500, 4});
  auto a = kcenter_greedy(p, {}, 20, 7, 3), b = kcenter_greedy(p, {}, 20, 7, 3);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 20u);
  // Picks after the 3 random starts are the greedy ones from those starts.
  auto greedy = ref::kcenter_greedy(x.data(), 500, 4, {a[0], a[1], a[2]}, 17);
  EXPECT_EQ(std::vector<int64_t>(a.begin() + 3, a.end()), greedy);
  EXPECT_EQ(kcenter_greedy(p, {}, 2, 7, 5).size(), 2u);  // fewer picks than random starts
  EXPECT_EQ(kcenter_greedy(p, {}, 20, 7, 3, /*compact=*/false), a);
}

TEST(KCenter, EveryPickIsTheFarthestPoint) {
  const int64_t n = 700, d = 9;
  auto x = gaussian_vec(size_t(n * d), 23);
  std::vector<int64_t> centers = {3, 50};
  auto picks = fast_kcenter(x, d, centers, 40);
  std::vector<int64_t> chosen = centers;
  for (int64_t p : picks) {
    // The canonical distance of every point to its nearest chosen center.
    float best = -1.f;
    int64_t arg = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (std::find(chosen.begin(), chosen.end(), i) != chosen.end()) continue;
      float m = std::numeric_limits<float>::infinity();
      for (int64_t c : chosen)
        m = std::min(m, sq_dist_canonical(x.data() + i * d, x.data() + c * d, d));
      if (m > best) best = m, arg = i;
    }
    ASSERT_EQ(p, arg);
    chosen.push_back(p);
  }
}

struct KCenterCase {
  const char* name;
  int64_t n, d;
  std::vector<float> x;
};

std::vector<KCenterCase> kcenter_cases() {
  std::vector<KCenterCase> cs;
  for (int64_t d : {1, 3, 16, 17, 64, 100})
    cs.push_back({"gaussian", 1500, d, gaussian_vec(static_cast<size_t>(1500 * d), uint32_t(d))});
  {  // clusters far from the origin (the codes are centered on the mean point)
    const int64_t n = 2000, d = 32;
    auto x = gaussian_vec(size_t(n * d), 31, 0.05f);
    auto centers = random_vec(size_t(20 * d), 32, 90.f, 110.f);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) x[size_t(i * d + j)] += centers[size_t((i % 20) * d + j)];
    cs.push_back({"clusters", n, d, x});
  }
  {  // large enough for the multi-threaded passes
    const int64_t n = 20000, d = 32;
    cs.push_back({"threaded", n, d, gaussian_vec(static_cast<size_t>(n * d), 35)});
  }
  {  // an integer grid: many exact ties and duplicates
    const int64_t n = 1200, d = 5;
    std::vector<float> x(static_cast<size_t>(n * d));
    std::mt19937 g(33);
    for (float& v : x) v = float(int(g() % 4));
    cs.push_back({"grid", n, d, x});
  }
  {  // wildly different scales per point
    const int64_t n = 900, d = 24;
    auto x = gaussian_vec(size_t(n * d), 34);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) x[size_t(i * d + j)] *= std::ldexp(1.f, int(i % 40) - 20);
    cs.push_back({"scales", n, d, x});
  }
  {  // coordinates whose squares overflow float: bounds must not skip (NaN-safe), inf ties
    const int64_t n = 300, d = 8;
    auto x = gaussian_vec(size_t(n * d), 36, 3e19f);
    cs.push_back({"huge", n, d, x});
  }
  return cs;
}

TEST(KCenter, FastPicksEqualReferencePicks) {
  for (const auto& c : kcenter_cases()) {
    for (const std::vector<int64_t>& centers :
         {std::vector<int64_t>{0}, std::vector<int64_t>{5, 9, 100, 250}, std::vector<int64_t>{}}) {
      int64_t k = std::min<int64_t>(c.n > 10000 ? 40 : 120, c.n - int64_t(centers.size()));
      auto want = ref::kcenter_greedy(c.x.data(), c.n, c.d, centers, k);
      for (bool compact : {true, false})
        for (bool simd : {true, false}) {
          auto got = fast_kcenter(c.x, c.d, centers, k, {compact, simd});
          ASSERT_EQ(got, want) << c.name << " d=" << c.d << " compact=" << compact
                               << " simd=" << simd << " centers=" << centers.size();
        }
    }
  }
}

TEST(KCenter, BoundsSkipMostDistances) {
  // Clustered data: after a few picks most points are provably unaffected by a new center.
  const auto cs = kcenter_cases();
  const auto& c = *std::find_if(cs.begin(), cs.end(),
                                [](const auto& k) { return std::string(k.name) == "clusters"; });
  cpu::KCenterStats st;
  fast_kcenter(c.x, c.d, {0}, 60, {true, true}, &st);
  EXPECT_EQ(st.passes, 60);
  EXPECT_LT(st.exact_distances, st.passes * c.n / 4);
  cpu::KCenterStats plain;
  fast_kcenter(c.x, c.d, {0}, 60, {false, true}, &plain);
  EXPECT_GT(plain.exact_distances, st.exact_distances);
}

TEST(KCenter, BadArgumentsThrow) {
  Tensor p = Tensor::ones({5, 2});
  EXPECT_THROW(kcenter_greedy(p, {0}, 5), ValueError);  // only 4 points are not centers
  EXPECT_THROW(kcenter_greedy(p, {}, -1), ValueError);
  EXPECT_THROW(kcenter_greedy(p, {1, 1}, 1), ValueError);
  EXPECT_THROW(kcenter_greedy(p, {7}, 1), ValueError);
  EXPECT_THROW(kcenter_greedy(p, {}, 1, 0, 0), ValueError);
  EXPECT_THROW(kcenter_greedy(Tensor::ones({5}), {}, 1), ShapeError);
  EXPECT_THROW(kcenter_greedy(Tensor::ones({5, 0}), {}, 1), ShapeError);
  Tensor bad = Tensor::from_vector(std::vector<float>{0, 0, NAN, 1}, {2, 2});
  EXPECT_THROW(kcenter_greedy(bad, {0}, 1), ValueError);
  EXPECT_TRUE(kcenter_greedy(p, {0}, 0).empty());
}

// ---------------------------------------------------------------- top-k

TEST(TopK, HandComputedWithTies) {
  Tensor s = Tensor::from_vector(std::vector<float>{0.5f, 0.9f, 0.5f, 0.1f, 0.9f}, {5});
  EXPECT_EQ(top_k(s, 3), (std::vector<int64_t>{1, 4, 0}));
  EXPECT_EQ(top_k(s, 5), (std::vector<int64_t>{1, 4, 0, 2, 3}));
  Tensor z = Tensor::from_vector(std::vector<float>{-0.f, 0.f, -1.f}, {3});
  EXPECT_EQ(top_k(z, 2), (std::vector<int64_t>{0, 1}));  // -0 == +0: index order
}

TEST(TopK, FastMatchesReference) {
  for (int64_t n : {int64_t(1), int64_t(100), int64_t(300000), (int64_t(1) << 22) + 17}) {
    auto s = random_vec(size_t(n), uint32_t(n), -1.f, 1.f);
    for (size_t i = 0; i < s.size(); ++i) s[i] = std::round(s[i] * 50.f) / 50.f;  // many ties
    for (int64_t k : {int64_t(1), int64_t(10), int64_t(1000), n}) {
      if (k > n || (k == n && n > 1000000)) continue;  // (threaded path: k <= 1000)
      ASSERT_EQ(cpu::top_k(s.data(), n, k), ref::top_k(s.data(), n, k)) << n << " " << k;
    }
  }
}

TEST(TopK, BadArgumentsThrow) {
  EXPECT_THROW(top_k(Tensor::ones({3}), 4), ValueError);
  EXPECT_THROW(top_k(Tensor::ones({3}), -1), ValueError);
  EXPECT_THROW(top_k(Tensor::ones({3, 1}), 1), ShapeError);
  EXPECT_THROW(top_k(Tensor::from_vector(std::vector<float>{1, NAN}, {2}), 1), ValueError);
}

// ---------------------------------------------------------------- sraal bench --kernels

TEST(BenchKernels, JsonRowsCarryTimesRatesAndMemory) {
  auto [code, out] = test::run_sraal(
      "bench --kernels --json --kernel-rows topk/1000000/k1000 --warmup 0 --repeats 1");
  ASSERT_EQ(code, 0) << out;
  nlohmann::json row = nlohmann::json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(row["id"], "topk/1000000/k1000");
  EXPECT_EQ(row["n"], 1000000);
  EXPECT_EQ(row["k"], 1000);
  EXPECT_GT(row["median_ms"].get<double>(), 0.0);
  EXPECT_LE(row["min_ms"].get<double>(), row["max_ms"].get<double>());
  EXPECT_GT(row["gb_per_s"].get<double>(), 0.0);
  EXPECT_TRUE(row.contains("peak_mib") && row.contains("rss_extra_mib"));
  auto [bad, msg] = test::run_sraal("bench --kernels --kernel-rows nonsense");
  EXPECT_NE(bad, 0);
  EXPECT_NE(msg.find("unknown row 'nonsense'"), std::string::npos) << msg;
}

// ---------------------------------------------------------------- CUDA against the CPU

TEST(SelectionCuda, MatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device: " << cuda_info().reason;
  const int64_t n = 777, c = 10, d = 37;
  auto lg = random_vec(size_t(n * c), 41, -5.f, 5.f);
  Tensor x = Tensor::from_vector(lg, {n, c});
  for (ScoreKind k : kKinds)
    for (bool logits : {false, true}) {
      Tensor in = logits ? x : Tensor::from_vector(softmax_rows(lg, c), {n, c});
      auto cpu_s = uncertainty_scores(in, k, logits).to_vector();
      auto gpu_s = uncertainty_scores(in.to(Device::cuda), k, logits).to_vector();
      for (size_t i = 0; i < cpu_s.size(); ++i) ASSERT_NEAR(gpu_s[i], cpu_s[i], 2e-5);
    }
  Tensor seg =
      Tensor::from_vector(random_vec(size_t(2 * 19 * 300), 42, -3.f, 3.f), {2, 19, 15, 20});
  auto cs = spatial_mean_probs(seg, true).to_vector();
  auto gs = spatial_mean_probs(seg.to(Device::cuda), true).to_vector();
  for (size_t i = 0; i < cs.size(); ++i) ASSERT_NEAR(gs[i], cs[i], 1e-6);
  auto pts = gaussian_vec(size_t(2000 * d), 43);
  Tensor p = Tensor::from_vector(pts, {2000, d});
  auto cd = pairwise_sq_dists(p.narrow(0, 0, 300), p).to_vector();
  auto gd = pairwise_sq_dists(p.narrow(0, 0, 300).to(Device::cuda), p.to(Device::cuda)).to_vector();
  for (size_t i = 0; i < cd.size(); ++i) ASSERT_NEAR(gd[i], cd[i], 1e-3 + 1e-5 * cd[i]);
  EXPECT_EQ(kcenter_greedy(p.to(Device::cuda), {4, 8}, 100), kcenter_greedy(p, {4, 8}, 100));
  EXPECT_EQ(kcenter_greedy(p.to(Device::cuda), {}, 50, 3), kcenter_greedy(p, {}, 50, 3));
  Tensor s = Tensor::from_vector(random_vec(100000, 44), {100000});
  EXPECT_EQ(top_k(s.to(Device::cuda), 500), top_k(s, 500));
}

}  // namespace
}  // namespace sr
