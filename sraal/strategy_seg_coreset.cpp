// Core-set (Sener & Savarese 2018) for segmentation: the greedy k-center of strategy_coreset.cpp
// in the space of the target's encoder map averaged over its positions (DRN-D-22's last stage,
// (N, c7, H/8, W/8) -> (N, c7), eval mode), with D_L as the initial centers; `budget` picks, each
// the item of D_U farthest (Euclidean) from every center so far.
#include <numeric>

#include "engine/selection.h"
#include "sraal/segmentation_outputs.h"

namespace sr {
namespace {

class SegCoresetStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    std::vector<int64_t> items = in.labeled;  // labeled first: positions 0..L-1 are the centers
    items.insert(items.end(), in.unlabeled.begin(), in.unlabeled.end());
    SegmentationOutputs out =
        segmentation_outputs(in.target, in.train, items, "coreset", in.device, in.progress);
    std::vector<int64_t> centers(in.labeled.size());
    std::iota(centers.begin(), centers.end(), 0);
    if (in.progress) in.progress("k-center picks", 0, in.budget);
    std::vector<int64_t> picks =
        kcenter_greedy(out.features.to(in.device), centers, in.budget, in.seed, 0);
    std::vector<int64_t> chosen;
    for (int64_t p : picks) chosen.push_back(items[size_t(p)]);
    return chosen;
  }
};

}  // namespace

REGISTER_STRATEGY({"coreset",
                   "greedy k-center on the target's pooled encoder features from D_L "
                   "(Sener & Savarese 2018)",
                   {},
                   [](const StrategyContext&) { return std::make_unique<SegCoresetStrategy>(); },
                   {Task::segmentation}});

}  // namespace sr
