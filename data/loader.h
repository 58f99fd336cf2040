// BatchLoader: assembles the batches of an epoch on background worker threads, in order, a few
// batches ahead of the consumer, so the next batch is ready when a training step ends.
//
// Memory stays bounded: at most `depth` finished batches wait in the queue. Each worker builds
// whole batches single-threaded (several workers decode images in parallel); batch k is the same
// whatever worker builds it, since every random choice depends only on (seed, epoch, item).
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/batch.h"

namespace sr {

class BatchLoader {
 public:
  BatchLoader(const Dataset& ds, std::vector<std::vector<int64_t>> plan, Augment aug, uint64_t seed,
              int64_t epoch, int workers = 1, int depth = 3);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch in plan order; false after the last. Rethrows a worker's error (e.g. an
  // undecodable image) in the caller's thread.
  bool next(Batch& out);
  size_t size() const { return plan_.size(); }

 private:
  void work();

  const Dataset& ds_;
  std::vector<std::vector<int64_t>> plan_;
  Augment aug_;
  uint64_t seed_;
  int64_t epoch_;
  size_t depth_;

  std::mutex mu_;
  std::condition_variable ready_, space_;
  size_t next_to_build_ = 0, next_to_take_ = 0;
  std::vector<Batch> done_;     // by batch index
  std::vector<bool> finished_;  // by batch index
  std::exception_ptr error_;
  size_t error_batch_ = 0;  // the batch whose building threw error_
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sr
