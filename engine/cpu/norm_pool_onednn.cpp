// CPU batch normalisation and 2-d pooling through oneDNN.
//
// Batch-norm (training): y = (x - mean) / sqrt(var + eps) * weight + bias with the batch mean
// and biased variance over (N, H, W); running stats get (1 - m) * old + m * batch, with the
// unbiased variance (n / (n - 1)), as PyTorch. Eval uses the running stats ("global stats").
// Max pooling keeps oneDNN's workspace (the arg-max record) for backward.
#include "engine/cpu/onednn_util.h"
#include "engine/kernels.h"
#include "engine/parallel.h"

namespace sr {
namespace {

using dnnl::memory;
using nf = dnnl::normalization_flags;

struct BnPrims {
  memory::desc data, stat;
  std::shared_ptr<dnnl::batch_normalization_forward::primitive_desc> fwd_pd;
  std::shared_ptr<dnnl::batch_normalization_forward> fwd;
  std::shared_ptr<dnnl::batch_normalization_backward> bwd;
};

onednn::PrimitiveCache<BnPrims>& bn_cache() {
  static onednn::PrimitiveCache<BnPrims> c;
  return c;
}

std::shared_ptr<BnPrims> bn_prims(const Tensor& x, bool training, float eps) {
  std::string key = fmt::format("{}|{}|{}", onednn::key_of(x), int(training), eps);
  return bn_cache().get(key, [&] {
    auto c = std::make_shared<BnPrims>();
    c->data = onednn::desc_of(x, onednn::shared_format(x, x));
    c->stat = memory::desc({x.size(1)}, memory::data_type::f32, memory::format_tag::a);
    nf flags = nf::use_scale | nf::use_shift;
    if (!training) flags = flags | nf::use_global_stats;
    auto d = dnnl::batch_normalization_forward::desc(
        training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, c->data,
        eps, flags);
    c->fwd_pd =
        std::make_shared<dnnl::batch_normalization_forward::primitive_desc>(d, onednn::engine());
    c->fwd = std::make_shared<dnnl::batch_normalization_forward>(*c->fwd_pd);
    return c;
  });
}

memory stat_mem(const BnPrims& c, const Tensor& t) {
  return memory(c.stat, onednn::engine(), t.raw_data());
}

void batch_norm_forward_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias,
                            Tensor& running_mean, Tensor& running_var, bool training,
                            float momentum, float eps, Tensor& y, Tensor& save_mean,
                            Tensor& save_var) {
  auto c = bn_prims(x, training, eps);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, onednn::memory_of(x, c->data)},
                                       {DNNL_ARG_DST, onednn::memory_of(y, c->data)},
                                       {DNNL_ARG_SCALE, stat_mem(*c, weight)},
                                       {DNNL_ARG_SHIFT, stat_mem(*c, bias)}};
  if (training) {
    args[DNNL_ARG_MEAN] = stat_mem(*c, save_mean);
    args[DNNL_ARG_VARIANCE] = stat_mem(*c, save_var);
  } else {
    args[DNNL_ARG_MEAN] = stat_mem(*c, running_mean);
    args[DNNL_ARG_VARIANCE] = stat_mem(*c, running_var);
  }
  onednn::run(*c->fwd, args);
  if (training && running_mean.defined()) {
    int64_t C = x.size(1);
    int64_t n = x.numel() / std::max<int64_t>(C, 1);
    float unbias = n > 1 ? float(n) / float(n - 1) : 1.f;
    float* rm = running_mean.data<float>();
    float* rv = running_var.data<float>();
    const float* m = save_mean.data<float>();
    const float* v = save_var.data<float>();
    for (int64_t i = 0; i < C; ++i) {
      rm[i] = (1.f - momentum) * rm[i] + momentum * m[i];
      rv[i] = (1.f - momentum) * rv[i] + momentum * v[i] * unbias;
    }
    running_mean.bump_version();
    running_var.bump_version();
  }
}

void batch_norm_backward_cpu(const Tensor& x, const Tensor& gy, const Tensor& weight,
                             const Tensor& mean, const Tensor& var, bool training, float eps,
                             Tensor& gx, Tensor& gweight, Tensor& gbias) {
  auto c = bn_prims(x, training, eps);
  if (!c->bwd) {
    nf flags = nf::use_scale | nf::use_shift;
    if (!training) flags = flags | nf::use_global_stats;
    auto d = dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, c->data, c->data,
                                                      eps, flags);
    dnnl::batch_normalization_backward::primitive_desc pd(d, onednn::engine(), *c->fwd_pd);
    c->bwd = std::make_shared<dnnl::batch_normalization_backward>(pd);
  }
  // oneDNN 2.6 validates the shift argument in backward too (it does not read it).
  onednn::run(*c->bwd, {{DNNL_ARG_SRC, onednn::memory_of(x, c->data)},
                        {DNNL_ARG_SHIFT, stat_mem(*c, gbias)},
                        {DNNL_ARG_DIFF_DST, onednn::memory_of(gy, c->data)},
                        {DNNL_ARG_MEAN, stat_mem(*c, mean)},
                        {DNNL_ARG_VARIANCE, stat_mem(*c, var)},
                        {DNNL_ARG_SCALE, stat_mem(*c, weight)},
                        {DNNL_ARG_DIFF_SRC, onednn::memory_of(gx, c->data)},
                        {DNNL_ARG_DIFF_SCALE, stat_mem(*c, gweight)},
                        {DNNL_ARG_DIFF_SHIFT, stat_mem(*c, gbias)}});
}

// ---------------------------------------------------------------- pooling

struct PoolPrims {
  memory::desc src, dst;
  std::shared_ptr<dnnl::pooling_forward::primitive_desc> fwd_pd;
  std::shared_ptr<dnnl::pooling_forward> fwd;
  std::shared_ptr<dnnl::pooling_backward> bwd;
  dnnl::algorithm alg;
  memory::dims strides, kernel, pad_l, pad_r;
};

onednn::PrimitiveCache<PoolPrims>& pool_cache() {
  static onednn::PrimitiveCache<PoolPrims> c;
  return c;
}

std::shared_ptr<PoolPrims> pool_prims(const Tensor& x, const Tensor& y, const PoolParams& p,
                                      bool training) {
  std::string key =
      fmt::format("{}|{}|{},{},{},{},{},{},{},{}|{}", onednn::key_of(x), onednn::key_of(y),
                  int(p.kind), p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.padding[0],
                  p.padding[1], int(p.count_include_pad), int(training));
  return pool_cache().get(key, [&] {
    auto c = std::make_shared<PoolPrims>();
    MemoryFormat fmt = onednn::shared_format(y, x);
    c->src = onednn::desc_of(x, fmt);
    c->dst = onednn::desc_of(y, fmt);
    c->alg = p.kind == PoolKind::max ? dnnl::algorithm::pooling_max
             : p.count_include_pad   ? dnnl::algorithm::pooling_avg_include_padding
                                     : dnnl::algorithm::pooling_avg_exclude_padding;
    c->strides = {p.stride[0], p.stride[1]};
    c->kernel = {p.kernel[0], p.kernel[1]};
    c->pad_l = {p.padding[0], p.padding[1]};
    // oneDNN checks the output size with floor division, as PyTorch's default (floor) mode.
    c->pad_r = {p.padding[0], p.padding[1]};
    auto d = dnnl::pooling_forward::desc(
        training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, c->alg,
        c->src, c->dst, c->strides, c->kernel, c->pad_l, c->pad_r);
    c->fwd_pd = std::make_shared<dnnl::pooling_forward::primitive_desc>(d, onednn::engine());
    c->fwd = std::make_shared<dnnl::pooling_forward>(*c->fwd_pd);
    return c;
  });
}

void pool_forward_cpu(const Tensor& x, const PoolParams& p, bool training, Tensor& y,
                      Tensor& workspace) {
  bool need_ws = training && p.kind == PoolKind::max;
  auto c = pool_prims(x, y, p, need_ws);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, onednn::memory_of(x, c->src)},
                                       {DNNL_ARG_DST, onednn::memory_of(y, c->dst)}};
  if (need_ws) {
    memory::desc wd = c->fwd_pd->workspace_desc();
    workspace = Tensor::empty({int64_t((wd.get_size() + 3) / 4)}, DType::i32, Device::cpu);
    args[DNNL_ARG_WORKSPACE] = memory(wd, onednn::engine(), workspace.raw_data());
  }
  onednn::run(*c->fwd, args);
}

void pool_backward_cpu(const Tensor& x, const Tensor& y, const Tensor& gy, const Tensor& workspace,
                       const PoolParams& p, Tensor& gx) {
  bool need_ws = p.kind == PoolKind::max;
  auto c = pool_prims(x, y, p, true);
  if (!c->bwd) {
    auto d = dnnl::pooling_backward::desc(c->alg, c->src, c->dst, c->strides, c->kernel, c->pad_l,
                                          c->pad_r);
    dnnl::pooling_backward::primitive_desc pd(d, onednn::engine(), *c->fwd_pd);
    c->bwd = std::make_shared<dnnl::pooling_backward>(pd);
  }
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, onednn::memory_of(gy, c->dst)},
                                       {DNNL_ARG_DIFF_SRC, onednn::memory_of(gx, c->src)}};
  if (need_ws) {
    SR_CHECK(workspace.defined(), "max_pool2d backward: the forward pass kept no workspace");
    args[DNNL_ARG_WORKSPACE] =
        memory(c->fwd_pd->workspace_desc(), onednn::engine(), workspace.raw_data());
  }
  onednn::run(*c->bwd, args);
}

}  // namespace

SR_REGISTER_KERNEL(batch_norm_forward, cpu, batch_norm_forward_cpu);
SR_REGISTER_KERNEL(batch_norm_backward, cpu, batch_norm_backward_cpu);
SR_REGISTER_KERNEL(pool_forward, cpu, pool_forward_cpu);
SR_REGISTER_KERNEL(pool_backward, cpu, pool_backward_cpu);

}  // namespace sr
