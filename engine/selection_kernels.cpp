// Definitions of the selection kernel slots declared in selection_kernels.h (constant-initialised,
// so they exist before any static registration runs).
#include "engine/selection_kernels.h"

#define SR_DEFINE_SELECTION_SLOT(name) \
  decltype(::sr::kernels::name) name { \
#name                              \
  }

namespace sr::kernels {
SR_DEFINE_SELECTION_SLOT(uncertainty_scores);
SR_DEFINE_SELECTION_SLOT(spatial_mean_probs);
SR_DEFINE_SELECTION_SLOT(pairwise_sq_dists);
SR_DEFINE_SELECTION_SLOT(kcenter_greedy);
SR_DEFINE_SELECTION_SLOT(top_k);
}  // namespace sr::kernels
