// Entropy sampling for segmentation: the `budget` items of D_U whose per-pixel softmax under the
// target model has the highest entropy averaged over the pixels,
//   score(x) = (1 / HW) sum_pixels -sum_c p_c log p_c      (nats, sraal/segmentation_outputs.h).
#include "sraal/segmentation_outputs.h"

namespace sr {
namespace {

class SegEntropyStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    SegmentationOutputs out =
        segmentation_outputs(in.target, in.train, in.unlabeled, "entropy", in.device, in.progress);
    return items_with_highest(in.unlabeled, out.mean_entropy, in.budget);
  }
};

}  // namespace

REGISTER_STRATEGY({"entropy",
                   "highest per-pixel entropy of the target, averaged over the pixels",
                   {},
                   [](const StrategyContext&) { return std::make_unique<SegEntropyStrategy>(); },
                   {Task::segmentation}});

}  // namespace sr
