// Shape helpers the CPU and CUDA kernels share (host code; the op layer has already checked the
// shapes):
//   broadcast_strides(t, shape)  t's strides seen at the broadcast `shape` (0 along dims that t
//                                lacks or has as size 1), for walking t beside the output
//   reduced_runs(dims)           sorted reduced dims grouped into runs of consecutive dims,
//                                [first, last] each, so a sum reduces one contiguous run a pass
//   last_dim_rows(x)             contiguous x seen as (rows, cols) around its last dim (a 0-d
//                                tensor is one row of one column; an empty last dim, no rows)
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace sr {

inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape st(shape.size(), 0);
  size_t off = shape.size() - size_t(t.dim());
  for (size_t i = 0; i < size_t(t.dim()); ++i) st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

inline std::vector<std::pair<int64_t, int64_t>> reduced_runs(const std::vector<int64_t>& dims) {
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (int64_t d : dims) {
    if (!runs.empty() && runs.back().second == d - 1)
      runs.back().second = d;
    else
      runs.push_back({d, d});
  }
  return runs;
}

struct RowsCols {
  int64_t rows, cols;
};

inline RowsCols last_dim_rows(const Tensor& x) {
  const int64_t cols = x.dim() ? x.size(-1) : 1;
  return {cols ? x.numel() / cols : 0, cols};
}

}  // namespace sr
