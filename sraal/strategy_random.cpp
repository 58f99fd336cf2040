// Random selection: `budget` items of D_U drawn uniformly without replacement.
#include "engine/random.h"
#include "sraal/strategy.h"

namespace sr {
namespace {

class RandomStrategy : public Strategy {
 public:
  std::vector<int64_t> select(const SelectionInput& in) override {
    Generator g(in.seed);
    std::vector<int64_t> perm = g.permutation(int64_t(in.unlabeled.size()));
    std::vector<int64_t> out;
    for (int64_t i = 0; i < in.budget; ++i) out.push_back(in.unlabeled[size_t(perm[size_t(i)])]);
    return out;
  }
};

}  // namespace

REGISTER_STRATEGY({"random",
                   "budget items of D_U drawn uniformly without replacement",
                   {},
                   [](const StrategyContext&) { return std::make_unique<RandomStrategy>(); },
                   {Task::classification, Task::segmentation}});

}  // namespace sr
