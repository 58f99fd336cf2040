// Bucketed gradient all-reduce driven by post-accumulate hooks (see reducer.h).
#include "engine/reducer.h"

#include "engine/autograd.h"
#include "engine/error.h"

namespace sr {

void broadcast_coalesced(const std::vector<Tensor>& tensors, const ProcessGroup& group, int root) {
  if (group.size() == 1) return;
  for (DType dt : {DType::f32, DType::i32, DType::i64}) {
    int64_t n = 0;
    for (const Tensor& t : tensors)
      if (t.dtype() == dt) n += t.numel();
    if (n == 0) continue;
    Tensor flat = Tensor::empty({n}, dt);
    auto each = [&](auto&& f) {
      int64_t off = 0;
      for (const Tensor& t : tensors) {
        if (t.dtype() != dt) continue;
        f(t, flat.narrow(0, off, t.numel()).reshape(t.shape()));
        off += t.numel();
      }
    };
    each([](const Tensor& t, Tensor v) { v.copy_(t); });
    group.broadcast(flat, root);
    each([](const Tensor& t, const Tensor& v) {
      Tensor dst = t;
      dst.copy_(v);
    });
  }
}

GradientReducer::GradientReducer(std::vector<Tensor> params, const ProcessGroup& group,
                                 ReducerOptions o)
    : params_(std::move(params)), group_(group.duplicate()) {
  SR_CHECK_VALUE(o.bucket_bytes > 0 && o.first_bucket_bytes > 0,
                 "GradientReducer: bucket sizes {} and {} must be positive", o.bucket_bytes,
                 o.first_bucket_bytes);
  slots_.resize(params_.size());
  // Reverse registration order; a bucket closes once it holds at least its cap.
  std::vector<size_t> cur;
  int64_t bytes = 0;
  auto close = [&] {
    if (cur.empty()) return;
    bucket_params_.push_back(std::move(cur));
    cur.clear();
    bytes = 0;
  };
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    check_defined(p, "GradientReducer", "parameter");
    SR_CHECK_T(p.device() == Device::cpu, DeviceError,
               "GradientReducer: parameter {} is {} on {}; data-parallel training runs on the CPU "
               "(NCCL for CUDA is not built yet)",
               k, p.str(), device_name(p.device()));
    SR_CHECK_DTYPE(p.dtype() == DType::f32, "GradientReducer: parameter {} is {}, not f32", k,
                   p.str());
    cur.push_back(k);
    bytes += p.numel() * 4;
    if (bytes >= (bucket_params_.empty() ? o.first_bucket_bytes : o.bucket_bytes)) close();
  }
  close();
  for (size_t b = 0; b < bucket_params_.size(); ++b) {
    int64_t n = 0;
    for (size_t k : bucket_params_[b])
      slots_[k].bucket = b, slots_[k].offset = n, n += params_[k].numel();
    for (size_t k : bucket_params_[b]) slots_[k].count_at = n++;
    buffers_.push_back(Tensor::zeros({n}));
    pending_.push_back(int64_t(bucket_params_[b].size()));
  }
  work_.resize(bucket_params_.size());
  for (size_t k = 0; k < params_.size(); ++k)
    hook_ids_.push_back(
        add_post_accumulate_grad_hook(params_[k], [this, k](const Tensor&) { on_gradient(k); }));
}

GradientReducer::~GradientReducer() {
  for (size_t k = 0; k < params_.size(); ++k)
    remove_post_accumulate_grad_hook(params_[k], hook_ids_[k]);
}

// The parameter's gradient (or zeros with a count of 0) into its place in the bucket.
void GradientReducer::fill(size_t k) {
  Slot& s = slots_[k];
  Tensor& buf = buffers_[s.bucket];
  const Tensor& p = params_[k];
  Tensor g = p.grad();
  Tensor view = buf.narrow(0, s.offset, p.numel()).reshape(p.shape());
  float* counts = buf.data<float>();
  if (g.defined()) {
    // A gradient accumulated into the view the last synchronize() left is in place already.
    if (g.impl()->storage != buf.impl()->storage || g.offset() != s.offset) view.copy_(g);
    counts[s.count_at] = 1.f;
  } else {
    view.zero_();
    counts[s.count_at] = 0.f;
  }
  s.ready = true;
  --pending_[s.bucket];
}

void GradientReducer::on_gradient(size_t k) {
  if (slots_[k].ready) {  // accumulated again before synchronize(): a second backward pass
    SR_CHECK_T(slots_[k].bucket >= next_launch_, AutogradError,
               "GradientReducer: parameter {} got a second gradient after its bucket was sent; "
               "call synchronize() after each backward pass",
               k);
    slots_[k].ready = false;
    ++pending_[slots_[k].bucket];
  }
  fill(k);
  launch_ready();
}

// The last bucket fills at the end of backward, with nothing left to overlap: synchronize()
// sends it.
void GradientReducer::launch_ready() {
  while (next_launch_ + 1 < bucket_params_.size() && pending_[next_launch_] == 0) {
    work_[next_launch_] = group_->all_reduce_sum_async(buffers_[next_launch_]);
    ++next_launch_;
  }
  // Open MPI's non-blocking collectives progress inside MPI calls: give the running ones a turn.
  for (size_t b = 0; b < next_launch_; ++b) work_[b].test();
}

void GradientReducer::synchronize() {
  started_in_backward_ = int64_t(next_launch_);
  for (size_t k = 0; k < params_.size(); ++k)
    if (!slots_[k].ready) fill(k);
  // Backward is over: nothing is left to overlap, and a blocking all-reduce is faster than a
  // non-blocking one (Open MPI's tuned algorithms against libnbc's schedules; measured in
  // bench/bench_allreduce.cpp), so the buckets not yet started go blocking, in the same index
  // order on every rank.
  for (; next_launch_ < bucket_params_.size(); ++next_launch_)
    group_->all_reduce_sum(buffers_[next_launch_]);
  for (auto& w : work_) w.wait();
  for (size_t k = 0; k < params_.size(); ++k) {
    Slot& s = slots_[k];
    const Tensor& buf = buffers_[s.bucket];
    Tensor p = params_[k];
    if (buf.data<float>()[s.count_at] == 0.f) {
      p.set_grad(Tensor());  // no rank produced one
    } else {
      p.set_grad(buf.narrow(0, s.offset, p.numel()).reshape(p.shape()));
    }
    s.ready = false;
  }
  for (size_t b = 0; b < bucket_params_.size(); ++b)
    pending_[b] = int64_t(bucket_params_[b].size());
  next_launch_ = 0;
}

}  // namespace sr
