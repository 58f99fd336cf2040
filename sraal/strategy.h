// Selection strategies: given the current pools and the target model trained on D_L, choose the
// next `budget` items of D_U for the oracle. Each method is one file that registers itself
// (REGISTER_STRATEGY) with a one-line summary, its own options and their defaults; the run's
// configuration holds the options given per method (`sraal run --method-option M.KEY=VALUE`),
// checked against those defaults (unknown key or wrong type: ValueError naming both).
//
// A method registers for the tasks it serves (classification by default); a name may be
// registered once per task (with its own summary). Every method keeps one file for both tasks
// and branches on the dataset's kind where it reads the target's outputs or the labels; QBC and
// SA serve segmentation only, LL4AL and BADGE classification only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/distributed.h"
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
  ProgressFn progress;  // may be empty
  // Writes a log of this selection step, e.g. ("adversarial", CSV text), into the run's
  // logs/<method>/trial<T>/cycle<C>_<name>.csv; may be empty (then nothing is written).
  std::function<void(const std::string& name, const std::string& csv)> write_log;
  // Trains a fresh model of this cycle's target architecture with its training options on
  // `items` (dataset indices; repeats allowed, as in a bootstrap sample) from the initial weights
  // drawn from `seed`: the committee members of QBC and SA. Empty outside an experiment's cycle
  // (those methods then throw).
  std::function<std::shared_ptr<Module>(const std::vector<int64_t>& items, uint64_t seed)>
      train_model;
  // Where a method that ranks by a per-item score writes the score of each item it chooses, in
  // the order chosen (selected/<method>/trial<T>/cycle<C>.csv); may be null. Methods that do not
  // rank by one (random; core-set's farthest-first, BADGE's k-means++ seeding, SA's cover)
  // leave it empty.
  std::vector<double>* scores = nullptr;
  // Data-parallel adversarial training over these ranks when it has more than one
  // (train_adversarial); with sync_batch_norm the generator's batch norms use every rank's
  // share of the batch.
  const ProcessGroup* group = nullptr;
  bool sync_batch_norm = false;
};

class JointObjective;  // sraal/train_classifier.h

// What a method needs of the target model the experiment builds and trains for it.
struct TargetRequirements {
  float dropout = 0;  // dropout before the classifier (MC-dropout, BALD); 0: none
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual TargetRequirements target_requirements() const { return {}; }
  // A module trained jointly with this cycle's target (LL4AL), made before its training from
  // the freshly built target; nullptr for none. The method keeps it for its select().
  virtual std::shared_ptr<JointObjective> joint_objective(Module& target, uint64_t seed) {
    (void)target, (void)seed;
    return nullptr;
  }
  // `budget` distinct items of `unlabeled`, in the order the method ranks them.
  virtual std::vector<int64_t> select(const SelectionInput& in) = 0;
};

// What a method is built from: its own options (defaults filled in, checked) and, for the
// methods built on adversarial representation learning (SRAAL, VAAL), that shared section.
struct StrategyContext {
  nlohmann::json options = nlohmann::json::object();
  AdversarialConfig adversarial;
};

struct StrategyInfo {
  std::string name;
  std::string summary;                                 // one line, for --help
  nlohmann::json defaults = nlohmann::json::object();  // option -> default value
  std::function<std::unique_ptr<Strategy>(const StrategyContext&)> make;
  std::vector<Task> tasks = {Task::classification};  // the tasks it is registered for
};

// Called at static initialisation; a (task, name) registered twice makes every lookup throw.
bool register_strategy(StrategyInfo info);
bool has_strategy(const std::string& name, Task task = Task::classification);
std::vector<std::string> strategy_names(Task task = Task::classification);
// Throws ValueError for a name unknown for the task (naming the task's methods, and saying so
// when the method exists for the other task).
const StrategyInfo& strategy_info(const std::string& name, Task task = Task::classification);
// The method's options: its defaults overridden by `given` (an object, or null for none).
// Throws ValueError naming the method for an unknown option or a value of the wrong type.
nlohmann::json resolve_method_options(const std::string& name, const nlohmann::json& given,
                                      Task task = Task::classification);
// Builds the method with resolve_method_options(name, given, task).
std::unique_ptr<Strategy> make_strategy(const std::string& name,
                                        const nlohmann::json& given = nullptr,
                                        const AdversarialConfig& adversarial = {},
                                        Task task = Task::classification);

}  // namespace sr

#define REGISTER_STRATEGY(...)                                              \
  static const bool SR_STRATEGY_CONCAT(sr_strategy_registered_, __LINE__) = \
      ::sr::register_strategy(::sr::StrategyInfo __VA_ARGS__)
#define SR_STRATEGY_CONCAT_INNER(a, b) a##b
#define SR_STRATEGY_CONCAT(a, b) SR_STRATEGY_CONCAT_INNER(a, b)
