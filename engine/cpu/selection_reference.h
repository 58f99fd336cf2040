// Plain CPU references of the selection kernels: single-threaded loops written for clarity,
// kept as the oracles the fast CPU and CUDA kernels are tested and benchmarked against.
//
//   uncertainty_scores  x (n, c) row-major probabilities or logits -> scores (n); double math,
//                       Var through the exact split Var = MINVar + E/C (selection_math.h)
//   spatial_mean_probs  x (n, c, hw) -> (n, c): mean over hw of the per-pixel softmax over c
//                       (logits) or of x itself (probabilities); double accumulation
//   pairwise_sq_dists   a (m, d), b (n, d) -> out (m, n): sum_j (a_ij - b_kj)^2 in double
//   kcenter_greedy      x (n, d): k picks after the given centers, canonical fp32 distances
//   top_k               indices of the k largest of s (n), by value descending, ties by index
//
// Inputs are trusted to be valid (the op layer checks shapes); non-finite points (k-center) and
// NaN scores (top-k) throw ValueError.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/math/selection_math.h"

namespace sr::ref {

void uncertainty_scores(const float* x, int64_t n, int64_t c, const ScoreOptions& opt,
                        float* scores);
void spatial_mean_probs(const float* x, int64_t n, int64_t c, int64_t hw, bool logits, float* out);
void pairwise_sq_dists(const float* a, int64_t m, const float* b, int64_t n, int64_t d, float* out);
// `centers` are distinct indices in [0, n); returns k indices (none of them a center), each the
// point farthest from all centers chosen so far (ties: smaller index).
std::vector<int64_t> kcenter_greedy(const float* x, int64_t n, int64_t d,
                                    const std::vector<int64_t>& centers, int64_t k);
std::vector<int64_t> top_k(const float* s, int64_t n, int64_t k);

}  // namespace sr::ref
