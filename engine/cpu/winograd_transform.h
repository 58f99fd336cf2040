// The machinery of the Winograd transforms (conv_winograd.cpp, conv_polyphase.cpp): constant
// matrices and a tile's derived ones, out = L in L^T on 16 channels at a time (GCC's vector
// extension: one AVX-512 register or two AVX2 ones), masked loads and stores of up to 16
// channels, and loops over blocks of 16 channels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "engine/parallel.h"

#pragma GCC diagnostic ignored "-Wpsabi"  // the 16-lane vectors never cross a non-inlined call

namespace sr::cpu_conv::winograd {

template <int R, int K>
struct Matrix {
  static constexpr int rows = R, cols = K;
  float a[R][K];
};

template <int R, int K>
constexpr Matrix<K, R> transpose(const Matrix<R, K>& m) {
  Matrix<K, R> t{};
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < K; ++k) t.a[k][r] = m.a[r][k];
  return t;
}

// F(m x m, r x r) from its matrices T::BT (a x a), T::G (a x r) and T::AT (m x a): a = m + r - 1,
// and the transposes the gradients take.
template <class T>
struct Tile : T {
  static constexpr int a = T::AT.cols;
  static constexpr auto A = transpose(T::AT);  // a x m
  static constexpr auto GT = transpose(T::G);  // r x a
};

// 16 channels at once: AVX-512 registers, or pairs of AVX2 ones (GCC's vector extension).
using vf = float __attribute__((vector_size(64)));
constexpr int kLanes = 16;

// sum_k L[r][k] get(k), the terms with a zero coefficient left out, summed from k = 0 up (the
// loops unroll and the coefficients fold, so each transform is a fixed sequence of vector ops).
template <const auto& L, class Get>
[[gnu::always_inline]] inline auto combine(int r, Get get) {
  using T = decltype(get(0));
  T s{};
  bool first = true;
#pragma GCC unroll 8
  for (int k = 0; k < std::remove_cvref_t<decltype(L)>::cols; ++k) {
    const float c = L.a[r][k];
    if (c == 0) continue;
    const T term = c * get(k);
    if (first)
      s = term;
    else
      s = s + term;
    first = false;
  }
  return s;
}

// out (R x R) = L in L^T for L (R x K) and in (K x K).
template <const auto& L, class T, int R, int K>
[[gnu::always_inline]] inline void sandwich(const T (&in)[K][K], T (&out)[R][R]) {
  T t[R][K];  // L in
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < K; ++q) t[r][q] = combine<L>(r, [&](int k) { return in[k][q]; });
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < R; ++q) out[r][q] = combine<L>(q, [&](int k) { return t[r][k]; });
}

// Lanes [0, n) of p (n <= 16; the rest zero), or zeros for a null p; and their store.
[[gnu::always_inline]] inline vf load(const float* p, int n) {
  vf v = {};
  if (p && n == kLanes)
    std::memcpy(&v, p, sizeof v);
  else if (p)
    std::memcpy(&v, p, size_t(n) * sizeof(float));
  return v;
}
[[gnu::always_inline]] inline void store(float* p, const vf& v, int n) {
  if (n == kLanes)
    std::memcpy(p, &v, sizeof v);
  else
    std::memcpy(p, &v, size_t(n) * sizeof(float));
}

// For every block of 16 channels of c: f(c0, lanes), full blocks first.
template <class F>
[[gnu::always_inline]] inline void channel_blocks(int64_t c, F f) {
  int64_t c0 = 0;
  for (; c0 + kLanes <= c; c0 += kLanes) f(c0, kLanes);
  if (c0 < c) f(c0, int(c - c0));
}

// The same with the blocks split over the threads (parallel_for; cost per block).
template <class F>
void parallel_channel_blocks(int64_t c, int64_t cost_per_block, F f) {
  parallel_for((c + kLanes - 1) / kLanes, cost_per_block, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk)
      f(blk * kLanes, int(std::min<int64_t>(kLanes, c - blk * kLanes)));
  });
}

}  // namespace sr::cpu_conv::winograd
