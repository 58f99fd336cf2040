// Definitions of the kernel slots declared in kernels.h (constant-initialised, so they exist
// before any static registration runs).
#include "engine/kernels.h"

#define SR_DEFINE_SLOT(name)           \
  decltype(::sr::kernels::name) name { \
#name                              \
  }

namespace sr::kernels {
SR_DEFINE_SLOT(fill);
SR_DEFINE_SLOT(copy);
SR_DEFINE_SLOT(unary);
SR_DEFINE_SLOT(unary_backward);
SR_DEFINE_SLOT(binary);
SR_DEFINE_SLOT(loss);
SR_DEFINE_SLOT(loss_backward);
SR_DEFINE_SLOT(sum);
SR_DEFINE_SLOT(argmax_lastdim);
SR_DEFINE_SLOT(softmax);
SR_DEFINE_SLOT(softmax_backward);
SR_DEFINE_SLOT(cross_entropy);
SR_DEFINE_SLOT(cross_entropy_backward);
SR_DEFINE_SLOT(gemm);
SR_DEFINE_SLOT(conv_forward);
SR_DEFINE_SLOT(conv_backward_data);
SR_DEFINE_SLOT(conv_backward_weights);
SR_DEFINE_SLOT(batch_norm_forward);
SR_DEFINE_SLOT(batch_norm_backward);
SR_DEFINE_SLOT(pool_forward);
SR_DEFINE_SLOT(pool_backward);
SR_DEFINE_SLOT(global_avg_pool);
SR_DEFINE_SLOT(global_avg_pool_backward);
SR_DEFINE_SLOT(upsample_bilinear);
SR_DEFINE_SLOT(upsample_bilinear_backward);
SR_DEFINE_SLOT(index_select);
SR_DEFINE_SLOT(index_add);
SR_DEFINE_SLOT(random_uniform);
SR_DEFINE_SLOT(random_normal);
SR_DEFINE_SLOT(dropout);
SR_DEFINE_SLOT(sgd_step);
SR_DEFINE_SLOT(adam_step);
}  // namespace sr::kernels
