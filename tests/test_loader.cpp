// BatchLoader: background batches equal the directly assembled ones, in order, for any number
// of workers; errors reach the consumer; stopping early does not hang.
#include <gtest/gtest.h>

#include "data/loader.h"

namespace sr {
namespace {

// A dataset whose item `bad` cannot be read.
class FailingDataset : public InMemoryDataset {
 public:
  FailingDataset(const InMemoryDataset& base, int64_t bad)
      : InMemoryDataset(base.info(), pixels_of(base), labels_of(base)), bad_(bad) {}
  void read_pixels(int64_t i, uint8_t* dst) const override {
    if (i == bad_) throw IOError("item " + std::to_string(i) + ": undecodable");
    InMemoryDataset::read_pixels(i, dst);
  }

 private:
  static std::vector<uint8_t> pixels_of(const InMemoryDataset& d) {
    return std::vector<uint8_t>(d.pixels(0), d.pixels(0) + d.size() * d.item_bytes());
  }
  static std::vector<int64_t> labels_of(const InMemoryDataset& d) {
    std::vector<int64_t> l;
    for (int64_t i = 0; i < d.size(); ++i) l.push_back(d.label(i));
    return l;
  }
  int64_t bad_;
};

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  return v;
}

TEST(BatchLoader, MatchesDirectAssemblyForAnyWorkerCount) {
  DatasetSplits d = make_synthetic(300, 10, 1, 12, 12, 4, 3);
  Augment aug{2, true};
  auto plan = epoch_batches(range(300), 32, true, false, 9, 4);
  for (int workers : {1, 2, 4}) {
    BatchLoader loader(*d.train, plan, aug, 9, 4, workers, 2);
    Batch b;
    size_t k = 0;
    while (loader.next(b)) {
      Batch ref = make_batch(*d.train, plan[k], aug, 9, 4);
      EXPECT_EQ(b.images.to_vector(), ref.images.to_vector()) << "batch " << k;
      EXPECT_EQ(b.labels.to_vector_as<int64_t>(), ref.labels.to_vector_as<int64_t>());
      ++k;
    }
    EXPECT_EQ(k, plan.size());
  }
}

TEST(BatchLoader, WorkerErrorsReachTheConsumer) {
  DatasetSplits d = make_synthetic(64, 10, 1, 8, 8, 2, 3);
  FailingDataset bad(static_cast<const InMemoryDataset&>(*d.train), 40);
  BatchLoader loader(bad, epoch_batches(range(64), 16, false, false, 0, 0), Augment{}, 0, 0, 2);
  Batch b;
  EXPECT_TRUE(loader.next(b));
  EXPECT_TRUE(loader.next(b));
  try {
    while (loader.next(b)) {
    }
    FAIL() << "expected the worker's IOError";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("item 40"), std::string::npos);
  }
}

TEST(BatchLoader, StoppingEarlyJoinsTheWorkers) {
  DatasetSplits d = make_synthetic(512, 10, 1, 8, 8, 2, 3);
  BatchLoader loader(*d.train, epoch_batches(range(512), 8, true, false, 1, 0), Augment{}, 1, 0, 3);
  Batch b;
  EXPECT_TRUE(loader.next(b));
  // The destructor runs with most batches unclaimed.
}

}  // namespace
}  // namespace sr
