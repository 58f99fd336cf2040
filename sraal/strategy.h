// Selection strategies: given the current pools and the target model trained on D_L, choose the
// next `budget` items of D_U for the oracle. Each method is one file that registers itself
// (REGISTER_STRATEGY), so a new baseline (core-set, MC-dropout, LL4AL) is one more file.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "layers/module.h"
#include "sraal/config.h"

namespace sr {

// Progress of a long selection step: (what, done, total).
using ProgressFn = std::function<void(const std::string&, int64_t, int64_t)>;

struct SelectionInput {
  const Dataset& train;                   // the dataset the pools index
  const std::vector<int64_t>& labeled;    // D_L (dataset indices)
  const std::vector<int64_t>& unlabeled;  // D_U (dataset indices)
  Module& target;                         // the target model trained on D_L this cycle
  int64_t budget = 0;                     // how many items to choose
  uint64_t seed = 0;                      // derived from (run seed, trial, method, cycle)
  Device device = Device::cpu;
  const ExperimentConfig& config;
  ProgressFn progress;  // may be empty
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // `budget` distinct items of `unlabeled`, in the order the method ranks them.
  virtual std::vector<int64_t> select(const SelectionInput& in) = 0;
};

using StrategyFactory = std::function<std::unique_ptr<Strategy>()>;
bool register_strategy(const std::string& name, StrategyFactory factory);
bool has_strategy(const std::string& name);
std::vector<std::string> strategy_names();
// Throws ValueError for an unknown name.
std::unique_ptr<Strategy> make_strategy(const std::string& name);

}  // namespace sr

#define REGISTER_STRATEGY(name, ...)                                        \
  static const bool SR_STRATEGY_CONCAT(sr_strategy_registered_, __LINE__) = \
      ::sr::register_strategy(name, [] { return std::unique_ptr<::sr::Strategy>(__VA_ARGS__); })
#define SR_STRATEGY_CONCAT_INNER(a, b) a##b
#define SR_STRATEGY_CONCAT(a, b) SR_STRATEGY_CONCAT_INNER(a, b)
