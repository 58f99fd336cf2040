// Selection over a pool sharded across the ranks of a job: every rank holds the rows of its own
// part of the pool, and all get the single-process answer.
//
// kcenter_greedy_sharded(shard, offset, n, initial, k, seed, random_starts, group): `shard` is
// rows [offset, offset + shard.size(0)) of the (n, d) points, the shards of the ranks tiling
// [0, n) in rank order. Returns on every rank exactly the picks of kcenter_greedy(points,
// initial, k, seed, random_starts) on the whole pool (engine/selection.h): the same random
// starts, the same canonical fp32 distances (sq_dist_canonical), the same ties (the smaller
// index). Per pick: each rank updates the distances of its points to the newest center and offers
// its farthest point; a global arg-max (MPI_MAXLOC, then the smallest index among equals) picks
// the center, and its owner broadcasts its d coordinates. O(n/K) work and memory per rank and
// pick, 2 all-reduces and one broadcast of d floats per pick. CPU tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/distributed.h"
#include "engine/tensor.h"

namespace sr {

std::vector<int64_t> kcenter_greedy_sharded(const Tensor& shard, int64_t offset, int64_t n,
                                            const std::vector<int64_t>& initial, int64_t k,
                                            uint64_t seed, int64_t random_starts,
                                            const ProcessGroup& group);

}  // namespace sr
