// Host side of the Generator: seed derivation and integer draws.
#include "engine/random.h"

#include "engine/error.h"
#include "engine/math/philox.h"

namespace sr {

namespace {
// Host draws use a stream id no tensor draw reaches.
constexpr uint64_t kHostStream = ~uint64_t(0);
}  // namespace

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t seed, uint64_t tag) {
  return mix64(mix64(seed) ^ mix64(~tag));
}

uint64_t Generator::next_u64() {
  Philox4 r = philox4x32_10(host_++, kHostStream, seed_);
  return (uint64_t(r.v[0]) << 32) | r.v[1];
}

double Generator::uniform() {
  return double(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

int64_t Generator::randint(int64_t n) {
  SR_CHECK_VALUE(n > 0, "randint: n must be positive, got {}", n);
  // Lemire's multiply-and-reject: unbiased for every n.
  uint64_t un = uint64_t(n);
  uint64_t threshold = (0 - un) % un;
  for (;;) {
    __uint128_t m = __uint128_t(next_u64()) * un;
    if (uint64_t(m) >= threshold) return int64_t(m >> 64);
  }
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[size_t(i)], p[size_t(randint(i + 1))]);
  return p;
}

}  // namespace sr
