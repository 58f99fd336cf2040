// CPU kernels for reductions: sums over axes, argmax, running sums, softmax / log-softmax and their
// backward, fused cross-entropy, and global average pooling.
//
// Sums are computed in fixed-size chunks combined in a fixed order, so results do not depend
// on the number of threads (the same seed gives the same trajectory on any machine).
#include <cmath>
#include <limits>
#include <vector>

#include "engine/kernel_shapes.h"
#include "engine/kernels.h"
#include "engine/parallel.h"

namespace sr {
namespace {

constexpr int64_t kChunk = 4096;

// out[o] = sum_r x[o, r] for a contiguous (outer, R) block; double accumulation.
void sum_rows(const float* x, float* out, int64_t outer, int64_t R) {
  if (outer >= 2 * num_threads() || R <= kChunk) {
    parallel_for(outer, R, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const float* p = x + o * R;
        double acc = 0;
        for (int64_t c = 0; c < R; c += kChunk) {
          float part = 0;
          int64_t ce = std::min(R, c + kChunk);
#pragma omp simd reduction(+ : part)
          for (int64_t r = c; r < ce; ++r) part += p[r];
          acc += part;
        }
        out[o] = float(acc);
      }
    });
    return;
  }
  // Few long rows: chunk partial sums in parallel, then combine in order.
  int64_t nchunks = (R + kChunk - 1) / kChunk;
  std::vector<float> parts(static_cast<size_t>(nchunks));
  for (int64_t o = 0; o < outer; ++o) {
    const float* p = x + o * R;
    parallel_for(nchunks, kChunk, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        float part = 0;
        int64_t r0 = c * kChunk, r1 = std::min(R, r0 + kChunk);
#pragma omp simd reduction(+ : part)
        for (int64_t r = r0; r < r1; ++r) part += p[r];
        parts[size_t(c)] = part;
      }
    });
    double acc = 0;
    for (float v : parts) acc += v;
    out[o] = float(acc);
  }
}

// out[o, i] = sum_r x[o, r, i] for a contiguous (outer, R, inner) block, inner > 1.
void sum_middle(const float* x, float* out, int64_t outer, int64_t R, int64_t inner) {
  constexpr int64_t kCols = 256;
  int64_t col_blocks = (inner + kCols - 1) / kCols;
  parallel_for(outer * col_blocks, R * kCols, [&](int64_t b, int64_t e) {
    std::vector<float> acc(kCols);
    for (int64_t w = b; w < e; ++w) {
      int64_t o = w / col_blocks, i0 = (w % col_blocks) * kCols, i1 = std::min(inner, i0 + kCols);
      int64_t len = i1 - i0;
      std::fill(acc.begin(), acc.begin() + len, 0.f);
      const float* p = x + o * R * inner + i0;
      for (int64_t r = 0; r < R; ++r) {
        const float* row = p + r * inner;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) acc[size_t(i)] += row[i];
      }
      std::copy(acc.begin(), acc.begin() + len, out + o * inner + i0);
    }
  });
}

void sum_cpu(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out) {
  Shape shape = x.shape();
  // Reduce one run of consecutive dims at a time, innermost run first.
  auto runs = reduced_runs(dims);  // [first, last] each
  std::vector<float> buf_a, buf_b;
  const float* src = x.data<float>();
  for (size_t k = runs.size(); k-- > 0;) {
    auto [first, last] = runs[k];
    int64_t outer = 1, R = 1, inner = 1;
    for (int64_t d = 0; d < first; ++d) outer *= shape[size_t(d)];
    for (int64_t d = first; d <= last; ++d) R *= shape[size_t(d)];
    for (int64_t d = last + 1; d < int64_t(shape.size()); ++d) inner *= shape[size_t(d)];
    float* dst;
    if (k == 0) {
      dst = out.data<float>();
    } else {
      std::vector<float>& buf = (src == buf_a.data()) ? buf_b : buf_a;
      buf.assign(size_t(outer * inner), 0.f);
      dst = buf.data();
    }
    if (outer * inner == 0) {
    } else if (R == 0) {
      std::fill(dst, dst + outer * inner, 0.f);
    } else if (inner == 1) {
      sum_rows(src, dst, outer, R);
    } else {
      sum_middle(src, dst, outer, R, inner);
    }
    for (int64_t d = first; d <= last; ++d) shape[size_t(d)] = 1;
    src = dst;
  }
  if (runs.empty()) out.copy_(x);
}

void argmax_lastdim_cpu(const Tensor& x, Tensor& out) {
  const auto [rows, cols] = last_dim_rows(x);
  const float* p = x.data<float>();
  int64_t* o = out.data<int64_t>();
  parallel_for(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* row = p + r * cols;
      int64_t best = 0;
      for (int64_t c = 1; c < cols; ++c)
        if (row[c] > row[best]) best = c;
      o[r] = best;
    }
  });
}

// Each row in order, one double accumulator: the result does not depend on the threads.
void cumsum_cpu(const Tensor& x, bool reverse, Tensor& out) {
  const auto [rows, cols] = last_dim_rows(x);
  const float* p = x.data<float>();
  float* o = out.data<float>();
  parallel_for(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = p + r * cols;
      float* yr = o + r * cols;
      double acc = 0;
      for (int64_t c = 0; c < cols; ++c) {
        int64_t k = reverse ? cols - 1 - c : c;
        acc += xr[k];
        yr[k] = float(acc);
      }
    }
  });
}

// ---------------------------------------------------------------- softmax

void outer_c_inner(const Shape& s, int64_t dim, int64_t& outer, int64_t& C, int64_t& inner) {
  outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= s[size_t(d)];
  C = s[size_t(dim)];
  for (int64_t d = dim + 1; d < int64_t(s.size()); ++d) inner *= s[size_t(d)];
}

// Softmax of one row of C values spaced `stride` apart.
void softmax_row(const float* x, float* y, int64_t C, int64_t stride, bool log) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < C; ++c) m = std::max(m, x[c * stride]);
  float s = 0;
  for (int64_t c = 0; c < C; ++c) s += std::exp(x[c * stride] - m);
  if (log) {
    float lse = m + std::log(s);
    for (int64_t c = 0; c < C; ++c) y[c * stride] = x[c * stride] - lse;
  } else {
    float inv = 1.f / s;
    for (int64_t c = 0; c < C; ++c) y[c * stride] = std::exp(x[c * stride] - m) * inv;
  }
}

void softmax_cpu(const Tensor& x, int64_t dim, bool log, Tensor& y) {
  int64_t outer, C, inner;
  outer_c_inner(x.shape(), dim, outer, C, inner);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(outer * inner, C * 4, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      int64_t o = w / inner, i = w % inner;
      softmax_row(xp + o * C * inner + i, yp + o * C * inner + i, C, inner, log);
    }
  });
}

// softmax: gx = y * (gy - sum(gy * y));  log_softmax: gx = gy - exp(y) * sum(gy).
void softmax_backward_cpu(const Tensor& y, const Tensor& gy, int64_t dim, bool log, Tensor& gx) {
  int64_t outer, C, inner;
  outer_c_inner(y.shape(), dim, outer, C, inner);
  const float* yp = y.data<float>();
  const float* gp = gy.data<float>();
  float* op = gx.data<float>();
  parallel_for(outer * inner, C * 4, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      int64_t base = (w / inner) * C * inner + w % inner;
      const float* yr = yp + base;
      const float* gr = gp + base;
      float* o = op + base;
      float s = 0;
      if (log) {
        for (int64_t c = 0; c < C; ++c) s += gr[c * inner];
        for (int64_t c = 0; c < C; ++c) o[c * inner] = gr[c * inner] - std::exp(yr[c * inner]) * s;
      } else {
        for (int64_t c = 0; c < C; ++c) s += gr[c * inner] * yr[c * inner];
        for (int64_t c = 0; c < C; ++c) o[c * inner] = yr[c * inner] * (gr[c * inner] - s);
      }
    }
  });
}

// ---------------------------------------------------------------- cross-entropy

void check_targets(const int64_t* t, int64_t n, int64_t C, int64_t ignore) {
  for (int64_t i = 0; i < n; ++i)
    SR_CHECK_VALUE(t[i] == ignore || (t[i] >= 0 && t[i] < C),
                   "cross_entropy: target {} at position {} is out of range for {} classes", t[i],
                   i, C);
}

void cross_entropy_cpu(const Tensor& logits, const Tensor& target, int64_t ignore, Tensor& losses) {
  int64_t outer, C, inner;
  outer_c_inner(logits.shape(), 1, outer, C, inner);
  const float* xp = logits.data<float>();
  const int64_t* tp = target.data<int64_t>();
  float* lp = losses.data<float>();
  check_targets(tp, outer * inner, C, ignore);
  parallel_for(outer * inner, C * 4, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      int64_t t = tp[w];
      if (t == ignore) {
        lp[w] = 0.f;
        continue;
      }
      const float* x = xp + (w / inner) * C * inner + w % inner;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < C; ++c) m = std::max(m, x[c * inner]);
      float s = 0;
      for (int64_t c = 0; c < C; ++c) s += std::exp(x[c * inner] - m);
      lp[w] = m + std::log(s) - x[t * inner];
    }
  });
}

void cross_entropy_backward_cpu(const Tensor& logits, const Tensor& target, int64_t ignore,
                                float scale, Tensor& g) {
  int64_t outer, C, inner;
  outer_c_inner(logits.shape(), 1, outer, C, inner);
  const float* xp = logits.data<float>();
  const int64_t* tp = target.data<int64_t>();
  float* gp = g.data<float>();
  parallel_for(outer * inner, C * 4, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      int64_t base = (w / inner) * C * inner + w % inner;
      const float* x = xp + base;
      float* gr = gp + base;
      int64_t t = tp[w];
      if (t == ignore) {
        for (int64_t c = 0; c < C; ++c) gr[c * inner] = 0.f;
        continue;
      }
      softmax_row(x, gr, C, inner, false);
      for (int64_t c = 0; c < C; ++c) gr[c * inner] *= scale;
      gr[t * inner] -= scale;
    }
  });
}

// ---------------------------------------------------------------- global average pooling

void global_avg_pool_cpu(const Tensor& x, Tensor& y) {
  int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  float inv = HW ? 1.f / float(HW) : 0.f;
  if (x.is_contiguous()) {
    sum_rows(xp, yp, N * C, HW);
    for (int64_t i = 0; i < N * C; ++i) yp[i] *= inv;
  } else {  // channels_last: (N, HW, C)
    sum_middle(xp, yp, N, HW, C);
    for (int64_t i = 0; i < N * C; ++i) yp[i] *= inv;
  }
}

void global_avg_pool_backward_cpu(const Tensor& gy, Tensor& gx) {
  int64_t N = gx.size(0), C = gx.size(1), HW = gx.size(2) * gx.size(3);
  const float* gp = gy.data<float>();
  float* op = gx.data<float>();
  float inv = HW ? 1.f / float(HW) : 0.f;
  bool cl = !gx.is_contiguous();
  parallel_for(N * HW, C, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      int64_t n = w / HW, p = w % HW;
      for (int64_t c = 0; c < C; ++c) {
        float v = gp[n * C + c] * inv;
        if (cl)
          op[w * C + c] = v;
        else
          op[(n * C + c) * HW + p] = v;
      }
    }
  });
}

}  // namespace

SR_REGISTER_KERNEL(sum, cpu, sum_cpu);
SR_REGISTER_KERNEL(argmax_lastdim, cpu, argmax_lastdim_cpu);
SR_REGISTER_KERNEL(cumsum, cpu, cumsum_cpu);
SR_REGISTER_KERNEL(softmax, cpu, softmax_cpu);
SR_REGISTER_KERNEL(softmax_backward, cpu, softmax_backward_cpu);
SR_REGISTER_KERNEL(cross_entropy, cpu, cross_entropy_cpu);
SR_REGISTER_KERNEL(cross_entropy_backward, cpu, cross_entropy_backward_cpu);
SR_REGISTER_KERNEL(global_avg_pool, cpu, global_avg_pool_cpu);
SR_REGISTER_KERNEL(global_avg_pool_backward, cpu, global_avg_pool_backward_cpu);

}  // namespace sr
