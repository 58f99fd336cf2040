// Core-set (Sener & Savarese 2018), the greedy k-center form: in the space of the target model's
// penultimate features (ResNet-18's pooled 512 x width vector, eval mode; for segmentation
// DRN-D-22's encoder map averaged over its positions, (N, c7, H/8, W/8) -> (N, c7)), with D_L
// as the initial centers, each pick is the item of D_U farthest (Euclidean) from every center so
// far; `budget` picks. Runs on the engine's k-center kernel (CPU or CUDA, the device of the
// features): O(N) running state, never an N x N matrix.
#include <numeric>

#include "engine/distributed_selection.h"
#include "engine/selection.h"
#include "sraal/segmentation_outputs.h"
#include "sraal/train_classifier.h"

namespace sr {
namespace {

class CoresetStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    std::vector<int64_t> items = in.labeled;  // labeled first: positions 0..L-1 are the centers
    items.insert(items.end(), in.unlabeled.begin(), in.unlabeled.end());
    std::vector<int64_t> centers(in.labeled.size());
    std::iota(centers.begin(), centers.end(), 0);
    // Over several ranks each keeps the features of its share of the items and the k-center runs
    // sharded (engine/distributed_selection.h): the same picks, no rank holds the whole matrix.
    const ProcessGroup* pg = in.group;
    const bool sharded = pg && pg->size() > 1 && int64_t(items.size()) >= pg->size();
    const std::vector<int64_t> mine = sharded ? rank_share(items, pg->rank(), pg->size()) : items;
    Tensor features =
        in.train.info().segmentation
            ? segmentation_outputs(in.target, in.train, mine, "coreset", in.device, in.progress)
                  .features.to(in.device)
            : target_outputs(in.target, in.train, mine, "coreset", in.device, in.progress).features;
    if (in.progress) in.progress("k-center picks", 0, in.budget);
    std::vector<int64_t> picks;
    if (sharded) {
      const int64_t offset = int64_t(size_t(pg->rank()) * items.size() / size_t(pg->size()));
      picks = kcenter_greedy_sharded(features.to(Device::cpu).contiguous(), offset,
                                     int64_t(items.size()), centers, in.budget, in.seed, 0, *pg);
    } else {
      picks = kcenter_greedy(features, centers, in.budget, in.seed, 0);
    }
    std::vector<int64_t> chosen;
    for (int64_t p : picks) chosen.push_back(items[size_t(p)]);
    return chosen;
  }
};

StrategyInfo coreset_method(const char* summary, Task task) {
  return {"coreset",
          summary,
          {},
          [](const StrategyContext&) { return std::make_unique<CoresetStrategy>(); },
          {task}};
}

}  // namespace

static const bool kRegistered = [] {
  register_strategy(coreset_method(
      "greedy k-center on the target's penultimate features from D_L (Sener & Savarese 2018)",
      Task::classification));
  register_strategy(
      coreset_method("greedy k-center on the target's pooled encoder features from "
                     "D_L (Sener & Savarese 2018)",
                     Task::segmentation));
  return true;
}();

}  // namespace sr
