// Selection ops of active learning: uncertainty scores, pairwise distances, greedy k-center
// and top-k. Device-dispatched (the device of the input tensors), never recorded by autograd.
//
//   uncertainty_scores(x, opt)   x (N, C) probabilities or logits (opt.logits), or the
//                                segmentation form (N, C, H, W): the per-pixel softmax (logits)
//                                or probabilities averaged over H x W first. Returns float32
//                                (N) in [0, 1], higher = more uncertain (SPEC section 2;
//                                formulas and edge cases in engine/math/selection_math.h).
//                                C >= 2; rows of probabilities are used as given (not
//                                renormalised).
//   spatial_mean_probs(x, logits)  the (N, C, H, W) -> (N, C) averaging step on its own.
//   pairwise_sq_dists(a, b)      a (M, d), b (N, d) -> (M, N) squared Euclidean distances,
//                                never negative; memory beyond the output is O(M + N).
//   kcenter_greedy(points, initial, k, seed, random_starts)
//                                points (N, d): returns k indices in the order chosen, each
//                                the point farthest (Euclidean) from all centers so far: the
//                                `initial` centers (distinct indices, never returned) and the
//                                earlier picks. When `initial` is empty the first
//                                min(random_starts, k) picks are random: drawn in turn by
//                                Generator(seed).randint(N), a draw equal to an earlier one is
//                                drawn again; `seed` is used for nothing else. Ties go to the
//                                smaller index. O(N) running state, never an N x N matrix.
//                                `compact` (CPU): also keep 8-bit codes of the points (N (d + 16)
//                                bytes, about a quarter of the fp32 points) whose exact lower
//                                bounds skip most distance computations: the same picks, fewer
//                                bytes per pick. false: O(N) extra memory (SPEC section 4).
//   top_k(scores, k)             indices of the k largest of scores (N), score descending,
//                                ties by index ascending; NaN scores throw ValueError.
//
// Bad shapes, dtypes or arguments throw ShapeError / DTypeError / ValueError naming the op.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/math/selection_math.h"
#include "engine/tensor.h"

namespace sr {

Tensor uncertainty_scores(const Tensor& x, const ScoreOptions& opt = {});
Tensor uncertainty_scores(const Tensor& x, ScoreKind kind, bool logits,
                          IndicatorScaling scaling = IndicatorScaling::population);
Tensor spatial_mean_probs(const Tensor& x, bool logits);
Tensor pairwise_sq_dists(const Tensor& a, const Tensor& b);
std::vector<int64_t> kcenter_greedy(const Tensor& points, const std::vector<int64_t>& initial,
                                    int64_t k, uint64_t seed = 0, int64_t random_starts = 1,
                                    bool compact = true);
std::vector<int64_t> top_k(const Tensor& scores, int64_t k);
// kcenter_greedy's argument checks for n points (ValueError naming `op`) and its random starts:
// the first picks, drawn as described above when `initial` is empty, else none. Shared with the
// sharded k-center (engine/distributed_selection.h).
std::vector<int64_t> kcenter_starts(const char* op, int64_t n, const std::vector<int64_t>& initial,
                                    int64_t k, uint64_t seed, int64_t random_starts);

// "indicator" | "entropy" | "sd"; throws ValueError naming the text otherwise.
ScoreKind parse_score_kind(const std::string& s);
const char* score_kind_name(ScoreKind k);

}  // namespace sr
