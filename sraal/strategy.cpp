// The strategy registry and the checking of method options (see strategy.h).
#include "sraal/strategy.h"

#include <map>

#include "engine/error.h"

namespace sr {

namespace {

struct Registry {
  std::map<std::string, StrategyInfo> methods;
  std::vector<std::string> duplicates;  // names registered more than once
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
  std::string name = info.name;
  if (!r.methods.emplace(name, std::move(info)).second) r.duplicates.push_back(name);
  return true;
}

bool has_strategy(const std::string& name) {
  return checked_registry().methods.count(name) > 0;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> n;
  for (const auto& [k, v] : checked_registry().methods) n.push_back(k);
  return n;
}

const StrategyInfo& strategy_info(const std::string& name) {
  const Registry& r = checked_registry();
  auto it = r.methods.find(name);
  SR_CHECK_VALUE(it != r.methods.end(), "unknown method '{}' (known: {})", name,
                 fmt::join(strategy_names(), ", "));
  return it->second;
}

nlohmann::json resolve_method_options(const std::string& name, const nlohmann::json& given) {
  const StrategyInfo& info = strategy_info(name);
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
                                        const AdversarialConfig& adversarial) {
  StrategyContext ctx{resolve_method_options(name, given), adversarial};
  return strategy_info(name).make(ctx);
}

}  // namespace sr
