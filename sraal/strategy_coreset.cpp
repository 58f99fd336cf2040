// Core-set (Sener & Savarese 2018), the greedy k-center form: in the space of the target model's
// penultimate features (ResNet-18's pooled 512 x width vector, eval mode), with D_L as the
// initial centers, each pick is the item of D_U farthest (Euclidean) from every center so far;
// `budget` picks. Runs on the engine's k-center kernel (CPU or CUDA, the device of the features):
// O(N) running state, never an N x N matrix.
#include <numeric>

#include "engine/selection.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

class CoresetStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    std::vector<int64_t> items = in.labeled;  // labeled first: positions 0..L-1 are the centers
    items.insert(items.end(), in.unlabeled.begin(), in.unlabeled.end());
    TargetOutputs out =
        target_outputs(in.target, in.train, items, "coreset", in.device, in.progress);
    std::vector<int64_t> centers(in.labeled.size());
    std::iota(centers.begin(), centers.end(), 0);
    if (in.progress) in.progress("k-center picks", 0, in.budget);
    std::vector<int64_t> picks = kcenter_greedy(out.features, centers, in.budget, in.seed, 0);
    std::vector<int64_t> chosen;
    for (int64_t p : picks) chosen.push_back(items[size_t(p)]);
    return chosen;
  }
};

}  // namespace

REGISTER_STRATEGY({"coreset",
                   "greedy k-center on the target's penultimate features from D_L "
                   "(Sener & Savarese 2018)",
                   {},
                   [](const StrategyContext&) { return std::make_unique<CoresetStrategy>(); }});

}  // namespace sr
