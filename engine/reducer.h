// Data-parallel gradient reduction: after each backward pass every rank holds the sum over
// ranks of every parameter's gradient (PyTorch DDP's Reducer, flashlight's coalescing reducer).
//
// The parameters are split into buckets in reverse registration order (backward produces the
// last layers' gradients first), each about `bucket_bytes`, the first one smaller so that
// communication starts early. A post-accumulate hook on every parameter copies its gradient into
// its bucket's flat buffer as backward produces it; a full bucket is all-reduced asynchronously
// at once (buckets start in index order on every rank, as MPI requires), so the sums travel
// while backward computes the earlier layers. synchronize() then sends the rest (the last bucket
// always: it fills as backward ends) with a blocking all-reduce, waits, and writes the
// sums into the gradients: each parameter's gradient is then a view of its bucket (PyTorch's
// gradient_as_bucket_view), which saves a copy of every gradient a step and stays valid until
// the next backward pass writes the bucket again (zero_grad() first, as every training loop does;
// a gradient accumulated without it adds into the view in place).
//
// A parameter that gets no gradient on some rank adds zeros there; one that gets none on any
// rank keeps none (a per-parameter count travels in the bucket), so optimisers skip it exactly as
// they would in one process. The reducer sums: callers scale each rank's loss by its share of
// the global batch (n_local / n_global) so that the sum is the global mean's gradient.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/distributed.h"
#include "engine/tensor.h"

namespace sr {

struct ReducerOptions {
  int64_t bucket_bytes = int64_t(25) << 20;
  int64_t first_bucket_bytes = int64_t(1) << 20;
};

// Rank `root`'s values into `tensors` on every rank, coalesced into one message per dtype (the
// parameters at the start of training, batch-norm buffers each step: PyTorch DDP's
// broadcast_buffers). Any layouts; CPU tensors.
void broadcast_coalesced(const std::vector<Tensor>& tensors, const ProcessGroup& group,
                         int root = 0);

class GradientReducer {
 public:
  // `params` f32 leaves on the CPU, in registration order; the group is duplicated, so the
  // reducer's collectives never pair with other collectives of the same ranks.
  GradientReducer(std::vector<Tensor> params, const ProcessGroup& group, ReducerOptions o = {});
  ~GradientReducer();  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Call after backward, before the optimiser step.
  void synchronize();

  // The parameter indices of each bucket, in launch order.
  const std::vector<std::vector<size_t>>& buckets() const { return bucket_params_; }
  // How many buckets the last backward pass started before synchronize() (overlapped).
  int64_t buckets_started_in_backward() const { return started_in_backward_; }

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;    // in the bucket's buffer
    int64_t count_at = 0;  // index of the parameter's gradient count in the buffer
    bool ready = false;
  };
  void on_gradient(size_t param);
  void fill(size_t param);
  void launch_ready();

  std::vector<Tensor> params_;
  std::unique_ptr<ProcessGroup> group_;
  std::vector<uint64_t> hook_ids_;
  std::vector<Slot> slots_;
  std::vector<std::vector<size_t>> bucket_params_;
  std::vector<Tensor> buffers_;   // per bucket: the gradients, then one count per parameter
  std::vector<int64_t> pending_;  // per bucket: parameters still to arrive
  std::vector<ProcessGroup::Work> work_;
  size_t next_launch_ = 0;
  int64_t started_in_backward_ = 0;
};

}  // namespace sr
