// Generator: the seeded source of every random choice of a run (weights, dropout, the
// reparameterisation noise, shuffles), built on counter-based Philox (math/philox.h).
//
// Its state is two integers (seed, counter), so it is cheap to save for --resume and draws do
// not depend on the device or the number of threads. Each tensor draw takes one fresh stream
// (next_stream()); host draws (integers, permutations) use their own counter.
#pragma once

#include <cstdint>
#include <vector>

namespace sr {

// Mixes a 64-bit value (splitmix64); used to derive independent seeds from (seed, tag).
uint64_t mix64(uint64_t x);
uint64_t derive_seed(uint64_t seed, uint64_t tag);

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  // A fresh stream id for one tensor draw (the `offset` argument of the random kernels).
  uint64_t next_stream() { return stream_++; }
  // Moves on as if next_stream() had been called n times: a rank that computes only its share of
  // a sequence of draws starts where the one-process sequence reaches that share.
  void skip_streams(uint64_t n) { stream_ += n; }

  // Host draws.
  uint64_t next_u64();
  double uniform();            // [0, 1)
  int64_t randint(int64_t n);  // uniform in [0, n), unbiased
  std::vector<int64_t> permutation(int64_t n);

  struct State {
    uint64_t seed, stream, host;
  };
  State state() const { return {seed_, stream_, host_}; }
  void set_state(const State& s) { seed_ = s.seed, stream_ = s.stream, host_ = s.host; }

 private:
  uint64_t seed_;
  uint64_t stream_ = 0;
  uint64_t host_ = 0;
};

}  // namespace sr
