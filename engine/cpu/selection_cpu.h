// Fast CPU selection kernels (SIMD, OpenMP), with the knobs the kernel studies and the tests
// turn. The dispatch slots (engine/kernels.h) call them with the defaults.
//
//   uncertainty_scores  one pass over x (n, c): rows of up to kRowBlockMaxC classes are
//                       transposed 16 at a time so SIMD lanes run across rows; wider rows run
//                       SIMD across classes. Statistics in float, scores per selection_math.h.
//   spatial_mean_probs  x (n, c, hw) -> (n, c), pixel tiles, SIMD across pixels.
//   pairwise_sq_dists   out (m, n) = |a_i|^2 + |b_k|^2 - 2 a_i.b_k, clamped at 0: one oneDNN
//                       matmul whose post-ops add the norms and clamp in registers (default),
//                       or OpenBLAS sgemm per tile with the epilogue while the tile is cached.
//   kcenter_greedy      fused pass per pick (distance to the new center, running minimum,
//                       farthest point); with `compact` a lower bound from 8-bit codes skips
//                       the fp32 distance of points it proves unaffected (exact: same picks as
//                       sr::ref::kcenter_greedy; see kcenter_cpu.cpp).
//   top_k               radix select on order-preserving keys, then a sort of the candidates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/math/selection_math.h"

namespace sr::cpu {

constexpr int64_t kRowBlockMaxC = 256;

// automatic: tiles up to kRowBlockMaxC classes, rows above (the studies force either).
enum class ScoreLayout : uint8_t { automatic, rows, tiles };
void uncertainty_scores(const float* x, int64_t n, int64_t c, const ScoreOptions& opt,
                        float* scores, ScoreLayout layout = ScoreLayout::automatic);
void spatial_mean_probs(const float* x, int64_t n, int64_t c, int64_t hw, bool logits, float* out);

struct PairwiseOptions {
  enum class Method : uint8_t { fused_matmul, blas_tiles } method = Method::fused_matmul;
  int64_t rows = 1024;  // blas_tiles: rows of a per sgemm call
  int64_t cols = 2048;  // blas_tiles: rows of b per call (the rows x cols tile stays in cache)
};
void pairwise_sq_dists(const float* a, int64_t m, const float* b, int64_t n, int64_t d, float* out,
                       const PairwiseOptions& opt = {});

struct KCenterOptions {
  bool compact = true;  // 8-bit codes and exact lower bounds (fewer bytes per pick)
  bool simd = true;     // AVX-512 paths where compiled in; false: portable loops (same picks)
};
struct KCenterStats {
  int64_t passes = 0;           // passes over the points (one per center added)
  int64_t exact_distances = 0;  // fp32 distances computed (the rest were skipped by bounds)
  size_t workspace_bytes = 0;   // extra memory: running distances, codes and bounds
  double setup_ms = 0;          // finiteness check and codes, before the first pass
};
// `centers`: distinct indices in [0, n). Workspace comes from the engine's CPU allocator.
std::vector<int64_t> kcenter_greedy(const float* x, int64_t n, int64_t d,
                                    const std::vector<int64_t>& centers, int64_t k,
                                    const KCenterOptions& opt = {}, KCenterStats* stats = nullptr);

std::vector<int64_t> top_k(const float* s, int64_t n, int64_t k);

}  // namespace sr::cpu
