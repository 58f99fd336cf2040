// Background batch assembly (see loader.h).
#include "data/loader.h"

#include <omp.h>

namespace sr {

BatchLoader::BatchLoader(const Dataset& ds, std::vector<std::vector<int64_t>> plan, Augment aug,
                         uint64_t seed, int64_t epoch, int workers, int depth)
    : ds_(ds),
      plan_(std::move(plan)),
      aug_(aug),
      seed_(seed),
      epoch_(epoch),
      depth_(size_t(std::max(depth, 1))),
      done_(plan_.size()),
      finished_(plan_.size(), false) {
  int n = std::max(1, std::min<int>(workers, int(plan_.size())));
  for (int i = 0; i < n && !plan_.empty(); ++i) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  space_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchLoader::work() {
  omp_set_num_threads(1);  // one batch per worker thread; the trainer keeps the cores
  for (;;) {
    size_t k;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Claim the next batch once it fits in the window of `depth` batches ahead.
      space_.wait(lock, [&] {
        return stop_ || error_ || next_to_build_ >= plan_.size() ||
               next_to_build_ < next_to_take_ + depth_;
      });
      if (stop_ || error_ || next_to_build_ >= plan_.size()) return;
      k = next_to_build_++;
    }
    try {
      Batch b = make_batch(ds_, plan_[k], aug_, seed_, epoch_);
      std::lock_guard<std::mutex> lock(mu_);
      done_[k] = std::move(b);
      finished_[k] = true;
    } catch (...) {
      // The earliest failing batch's error is the one the consumer meets, when it reaches that
      // batch: the batches before it (claimed earlier, so already being built) still arrive.
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_ || k < error_batch_) error_ = std::current_exception(), error_batch_ = k;
    }
    ready_.notify_all();
  }
}

bool BatchLoader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_take_ >= plan_.size()) return false;
  size_t k = next_to_take_;
  ready_.wait(lock, [&] { return finished_[k] || (error_ && error_batch_ <= k); });
  if (!finished_[k]) std::rethrow_exception(error_);
  out = std::move(done_[k]);
  done_[k] = Batch{};
  ++next_to_take_;
  lock.unlock();
  space_.notify_all();
  return true;
}

}  // namespace sr
