// The strategy registry and the checking of method options (see strategy.h).
#include "sraal/strategy.h"

#include <map>

#include "engine/error.h"

namespace sr {

namespace {

struct Registry {
  std::map<std::pair<Task, std::string>, StrategyInfo> methods;
  std::vector<std::string> duplicates;  // names registered more than once for a task
};

Registry& registry() {
  static Registry r;
  return r;
}

const Registry& checked_registry() {
  const Registry& r = registry();
  SR_CHECK(r.duplicates.empty(), "method '{}' is registered twice", r.duplicates.front());
  return r;
}

// A value may replace a default of the same JSON kind; an integer may replace a float.
bool same_kind(const nlohmann::json& def, const nlohmann::json& v) {
  if (def.is_number_float()) return v.is_number();
  if (def.is_number_integer()) return v.is_number_integer();
  return def.type() == v.type();
}

}  // namespace

bool register_strategy(StrategyInfo info) {
  Registry& r = registry();
  for (Task t : info.tasks)
    if (!r.methods.emplace(std::make_pair(t, info.name), info).second)
      r.duplicates.push_back(fmt::format("{} ({})", info.name, task_name(t)));
  return true;
}

bool has_strategy(const std::string& name, Task task) {
  return checked_registry().methods.count({task, name}) > 0;
}

std::vector<std::string> strategy_names(Task task) {
  std::vector<std::string> n;
  for (const auto& [k, v] : checked_registry().methods)
    if (k.first == task) n.push_back(k.second);
  return n;
}

const StrategyInfo& strategy_info(const std::string& name, Task task) {
  const Registry& r = checked_registry();
  auto it = r.methods.find({task, name});
  if (it == r.methods.end()) {
    Task other = task == Task::classification ? Task::segmentation : Task::classification;
    SR_CHECK_VALUE(!has_strategy(name, other), "method '{}' serves {} only ({} methods: {})", name,
                   task_name(other), task_name(task), fmt::join(strategy_names(task), ", "));
    throw ValueError(fmt::format("unknown method '{}' (known: {})", name,
                                 fmt::join(strategy_names(task), ", ")));
  }
  return it->second;
}

nlohmann::json resolve_method_options(const std::string& name, const nlohmann::json& given,
                                      Task task) {
  const StrategyInfo& info = strategy_info(name, task);
  nlohmann::json out = info.defaults;
  if (given.is_null()) return out;
  SR_CHECK_VALUE(given.is_object(), "method {}: options must be a JSON object, got {}", name,
                 given.dump());
  for (const auto& [key, value] : given.items()) {
    std::vector<std::string> known;
    for (const auto& [k, v] : info.defaults.items()) known.push_back(k);
    SR_CHECK_VALUE(info.defaults.contains(key), "method {}: unknown option '{}' (options: {})",
                   name, key, known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", ")));
    const nlohmann::json& def = info.defaults.at(key);
    SR_CHECK_VALUE(same_kind(def, value),
                   "method {}: option '{}' = {} has the wrong type (default {}: a {})", name, key,
                   value.dump(), def.dump(), def.type_name());
    out[key] = value;
  }
  return out;
}

std::unique_ptr<Strategy> make_strategy(const std::string& name, const nlohmann::json& given,
                                        const AdversarialConfig& adversarial, Task task) {
  StrategyContext ctx{resolve_method_options(name, given, task), adversarial};
  return strategy_info(name, task).make(ctx);
}

}  // namespace sr
