// Kernel slots of the selection ops (engine/selection.h), one per op per device, in the pattern
// of engine/kernels.h. Defined in selection_kernels.cpp; filled by engine/cpu/*_cpu.cpp and
// cuda/*.cu. Inputs arrive checked, contiguous float32 on one device; outputs are allocated.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/dispatch.h"
#include "engine/math/selection_math.h"
#include "engine/tensor.h"

namespace sr::kernels {

// scores (N) = uncertainty of each row of x (N, C), C >= 2 (selection_math.h).
extern KernelSlot<void(const Tensor& x, const ScoreOptions& opt, Tensor& scores)>
    uncertainty_scores;
// out (N, C) = mean over H, W of the per-pixel softmax over C of x (N, C, H, W) (logits), or of
// x itself (probabilities).
extern KernelSlot<void(const Tensor& x, bool logits, Tensor& out)> spatial_mean_probs;
// out (M, N) = squared Euclidean distances between the rows of a (M, d) and b (N, d), >= 0.
extern KernelSlot<void(const Tensor& a, const Tensor& b, Tensor& out)> pairwise_sq_dists;
// picks = k greedy farthest points after `centers` (distinct, in range, k <= N - |centers|;
// no centers: the first pick is point 0). points (N, d). `compact`: the kernel may keep a
// compact copy of the points (more memory, fewer bytes per pick); false: O(N) extra memory.
extern KernelSlot<void(const Tensor& points, const std::vector<int64_t>& centers, int64_t k,
                       bool compact, std::vector<int64_t>& picks)>
    kcenter_greedy;
// picks = indices of the k largest scores (N), score descending, ties by index; NaN throws.
extern KernelSlot<void(const Tensor& scores, int64_t k, std::vector<int64_t>& picks)> top_k;

}  // namespace sr::kernels
