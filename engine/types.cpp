// Shape arithmetic: element counts, strides, broadcasting, axis wrapping.
#include "engine/types.h"

namespace sr {

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu;
  if (s == "cuda" || s == "gpu") return Device::cuda;
  throw ValueError(fmt::format("unknown device '{}' (expected cpu or cuda)", s));
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

Shape channels_last_strides(const Shape& s) {
  SR_CHECK_SHAPE(s.size() == 4, "channels_last layout needs a 4-d shape, got {}", shape_str(s));
  int64_t c = std::max<int64_t>(s[1], 1), h = std::max<int64_t>(s[2], 1),
          w = std::max<int64_t>(s[3], 1);
  return {h * w * c, 1, w * c, c};
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  SR_CHECK_SHAPE(d >= 0 && d < ndim, "{}: dimension {} out of range for a {}-d tensor", op, dim,
                 ndim);
  return d;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    SR_CHECK_SHAPE(da == db || da == 1 || db == 1, "{}: shapes {} and {} do not broadcast", op,
                   shape_str(a), shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace sr
