// The data-parallel pieces in a job of one process (the multi-process proofs are in
// tests/mpi/test_distributed.cpp, run under mpirun): the reducer leaves gradients as backward
// made them, the coalesced broadcast and synchronised batch norm change nothing, and the batch
// shares of the ranks cover a batch in order.
#include <gtest/gtest.h>

#include "engine/distributed.h"
#include "engine/ops.h"
#include "engine/reducer.h"
#include "engine/sync_batch_norm.h"
#include "sraal/train_classifier.h"

namespace sr {
namespace {

TEST(Reducer, OneProcessKeepsGradientsAndTheirAbsence) {
  Tensor a = Tensor::from_vector(std::vector<float>{1.f, 2.f, 3.f}, {3}).set_requires_grad(true);
  Tensor b = Tensor::zeros({2, 2}).set_requires_grad(true);
  Tensor unused = Tensor::zeros({4}).set_requires_grad(true);
  GradientReducer reducer({a, b, unused}, ProcessGroup::self(), {8, 4});
  EXPECT_EQ(reducer.buckets().size(), 3u);  // 12, 16 and 16 bytes against caps of 4 and 8
  sum(a * a).backward();
  sum(b + 1.f).backward();
  reducer.synchronize();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{2.f, 4.f, 6.f}));
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>(4, 1.f));
  EXPECT_FALSE(unused.grad().defined());
}

TEST(Reducer, RefusesWhatItCannotReduce) {
  Tensor f = Tensor::zeros({3}).set_requires_grad(true);
  EXPECT_THROW(GradientReducer({f}, ProcessGroup::self(), {0, 4}), ValueError);
  EXPECT_THROW(GradientReducer({Tensor()}, ProcessGroup::self()), ValueError);
}

TEST(Distributed, AJobOfOneProcess) {
  const ProcessGroup& w = ProcessGroup::world();  // ctest does not start this binary by mpirun
  EXPECT_EQ(w.size(), 1);
  EXPECT_EQ(w.rank(), 0);
  Tensor t = Tensor::from_vector(std::vector<float>{1.f, -2.f}, {2});
  w.all_reduce_sum(t);
  w.broadcast(t);
  broadcast_coalesced({t}, w);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1.f, -2.f}));
  EXPECT_EQ(w.all_reduce_max_loc(3.5, 7), (std::pair<double, int64_t>{3.5, 7}));
  EXPECT_NO_THROW(w.check_same(12, "anything"));
}

TEST(Distributed, RankSharesCoverTheBatchInOrder) {
  std::vector<int64_t> batch{5, 9, 2, 7, 1, 8, 4};
  std::vector<int64_t> joined;
  for (int r = 0; r < 3; ++r) {
    std::vector<int64_t> s = rank_share(batch, r, 3);
    EXPECT_GE(s.size(), 2u);
    EXPECT_LE(s.size(), 3u);
    joined.insert(joined.end(), s.begin(), s.end());
  }
  EXPECT_EQ(joined, batch);
}

TEST(SyncBatchNorm, OneProcessIsBatchNorm) {
  Generator g(3);
  Tensor x = randn({4, 3, 2, 2}, g);
  Tensor w = Tensor::ones({3}), b = Tensor::zeros({3});
  Tensor m1 = Tensor::zeros({3}), v1 = Tensor::ones({3}), m2 = m1.clone(), v2 = v1.clone();
  Tensor y1 = batch_norm(x, w, b, m1, v1, true);
  Tensor y2 = sync_batch_norm(x, w, b, m2, v2, true, 0.1f, 1e-5f, ProcessGroup::self());
  EXPECT_EQ(y1.to_vector(), y2.to_vector());
  EXPECT_EQ(v1.to_vector(), v2.to_vector());
}

}  // namespace
}  // namespace sr
