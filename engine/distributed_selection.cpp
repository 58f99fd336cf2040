// Greedy k-center over a sharded pool (see distributed_selection.h).
#include "engine/distributed_selection.h"

#include <cmath>
#include <limits>

#include "engine/error.h"
#include "engine/math/selection_math.h"
#include "engine/parallel.h"
#include "engine/selection.h"

namespace sr {

std::vector<int64_t> kcenter_greedy_sharded(const Tensor& shard, int64_t offset, int64_t n,
                                            const std::vector<int64_t>& initial, int64_t k,
                                            uint64_t seed, int64_t random_starts,
                                            const ProcessGroup& group) {
  const char* op = "kcenter_greedy_sharded";
  // Every check is made on values gathered from all ranks, so that all ranks throw together
  // rather than one throwing while the others wait in a collective.
  const bool usable = shard.defined() && shard.dim() == 2 && shard.dtype() == DType::f32 &&
                      shard.device() == Device::cpu;
  const int64_t local = usable ? shard.size(0) : 0, d = usable ? shard.size(1) : -1;
  std::vector<int64_t> offsets = group.all_gather(offset), sizes = group.all_gather(local),
                       dims = group.all_gather(d);
  for (size_t r = 0; r < offsets.size(); ++r) {
    SR_CHECK_VALUE(dims[r] >= 1,
                   "{}: rank {}'s shard is not an (rows, d >= 1) f32 CPU tensor (this rank's: {})",
                   op, r, shard.defined() ? shard.str() : "undefined");
    int64_t expect = r == 0 ? 0 : offsets[r - 1] + sizes[r - 1];
    SR_CHECK_VALUE(offsets[r] == expect && dims[r] == dims[0],
                   "{}: rank {} holds rows [{}, {}) of {} dimensions; the shards must tile the "
                   "pool in rank order with one dimension (expected rows from {}, {} dims)",
                   op, r, offsets[r], offsets[r] + sizes[r], dims[r], expect, dims[0]);
  }
  SR_CHECK_VALUE(offsets.back() + sizes.back() == n, "{}: the shards hold {} rows, not n = {}", op,
                 offsets.back() + sizes.back(), n);
  std::vector<int64_t> picks = kcenter_starts(op, n, initial, k, seed, random_starts);
  Tensor x = shard.contiguous();
  const float* px = x.data<float>();
  int64_t bad = -1;
  for (int64_t i = 0; i < local * d && bad < 0; ++i)
    if (!std::isfinite(px[i])) bad = offset + i / d;
  for (int64_t b : group.all_gather(bad))
    SR_CHECK_VALUE(b < 0, "{}: point {} has a non-finite coordinate", op, b);

  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> dmin(static_cast<size_t>(local), inf);
  auto owner = [&](int64_t i) {
    int r = 0;
    while (r + 1 < int(offsets.size()) && i >= offsets[size_t(r + 1)]) ++r;
    return r;
  };
  Tensor center = Tensor::empty({d});
  // Makes global point c a center: its row from its owner, then every local distance.
  auto add_center = [&](int64_t c) {
    const int from = owner(c);
    if (from == group.rank()) center.copy_(x.select(c - offset));
    group.broadcast(center, from);
    if (c >= offset && c < offset + local) dmin[size_t(c - offset)] = -inf;
    const float* pc = center.data<float>();
    parallel_for(local, d, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        float dd = sq_dist_canonical(px + i * d, pc, d);
        if (dd < dmin[size_t(i)]) dmin[size_t(i)] = dd;
      }
    });
  };
  for (int64_t c : initial.empty() ? picks : initial) add_center(c);
  while (int64_t(picks.size()) < k) {
    float best = -inf;
    int64_t at = std::numeric_limits<int64_t>::max();
    for (int64_t i = 0; i < local; ++i)
      if (farther(dmin[size_t(i)], offset + i, best, at)) best = dmin[size_t(i)], at = offset + i;
    int64_t pick = group.all_reduce_max_loc(double(best), at).second;
    picks.push_back(pick);
    add_center(pick);
  }
  return picks;
}

}  // namespace sr
