// CPU random fills and dropout with the counter-based Philox4x32-10 generator of
// engine/math/philox.h, the function the CUDA twins in cuda/random_dropout.cu call: element i
// of a tensor drawn with (seed, offset) depends on (seed, offset, i) only, so the draws do not
// depend on the thread count and match the GPU's.
//
//   random_uniform  t[i] = lo + (hi - lo) u_i            (t dense: filled in memory order)
//   random_normal   t[i] = mean + std * n_i
//   dropout         y[i] = u_{first+i} >= p ? x[i] / (1 - p) : 0  (x, y dense with equal strides;
//                   first: where x starts in a larger draw, as a rank's share of a batch)
#include "engine/kernels.h"
#include "engine/math/philox.h"
#include "engine/parallel.h"

namespace sr {
namespace {

void random_uniform_cpu(Tensor& t, float lo, float hi, uint64_t seed, uint64_t offset) {
  float* p = t.data<float>();
  float span = hi - lo;
  parallel_for(t.numel(), 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = lo + span * philox_uniform(seed, offset, uint64_t(i));
  });
}

void random_normal_cpu(Tensor& t, float mean, float std, uint64_t seed, uint64_t offset) {
  float* p = t.data<float>();
  parallel_for(t.numel(), 32, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = mean + std * philox_normal(seed, offset, uint64_t(i));
  });
}

void dropout_cpu(const Tensor& x, float p, uint64_t seed, uint64_t offset, uint64_t first,
                 Tensor& y) {
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  float scale = 1.f / (1.f - p);
  parallel_for(x.numel(), 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      yp[i] = philox_uniform(seed, offset, first + uint64_t(i)) >= p ? xp[i] * scale : 0.f;
  });
}

}  // namespace

SR_REGISTER_KERNEL(random_uniform, cpu, random_uniform_cpu);
SR_REGISTER_KERNEL(random_normal, cpu, random_normal_cpu);
SR_REGISTER_KERNEL(dropout, cpu, dropout_cpu);

}  // namespace sr
