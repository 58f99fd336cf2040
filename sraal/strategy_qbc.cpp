// Query-by-Committee for segmentation (Seung et al. 1992; for segmentation as compared in the
// SRAAL paper, Fig. 5): a committee of `members` models, the cycle's target and members - 1 more
// trained on D_L from other initial weights with the target's recipe; each item of D_U scored by
// the vote entropy of the members' per-pixel argmax labels averaged over its pixels
// (sraal/committee.h); the `budget` highest are chosen. Option: members (default 3, >= 2).
#include "sraal/committee.h"
#include "sraal/target_outputs.h"

namespace sr {
namespace {

class QbcStrategy : public Strategy {
 public:
  explicit QbcStrategy(const nlohmann::json& o) : members_(o.at("members").get<int64_t>()) {
    SR_CHECK_VALUE(members_ >= 2 && members_ <= 32, "method qbc: members {} must lie in [2, 32]",
                   members_);
  }

  std::vector<int64_t> select(const SelectionInput& in) override {
    std::vector<std::vector<int64_t>> pools(size_t(members_ - 1), in.labeled);
    std::vector<std::shared_ptr<Module>> others = train_committee(in, pools, "qbc");
    std::vector<Module*> committee = {&in.target};
    for (auto& m : others) committee.push_back(m.get());
    Tensor ve = vote_entropy(committee, in.train, in.unlabeled, in.device, in.progress, in.group);
    return items_with_highest(in.unlabeled, ve, in.budget, in.scores);
  }

 private:
  int64_t members_;
};

}  // namespace

REGISTER_STRATEGY({"qbc",
                   "Query-by-Committee: per-pixel vote entropy of target models trained from "
                   "different initial weights",
                   {{"members", 3}},
                   [](const StrategyContext& c) {
                     return std::make_unique<QbcStrategy>(c.options);
                   },
                   {Task::segmentation}});

}  // namespace sr
