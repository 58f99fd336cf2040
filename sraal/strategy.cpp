// The strategy registry (see strategy.h).
#include "sraal/strategy.h"

#include <map>

#include "engine/error.h"

namespace sr {

namespace {
std::map<std::string, StrategyFactory>& registry() {
  static std::map<std::string, StrategyFactory> r;
  return r;
}
}  // namespace

bool register_strategy(const std::string& name, StrategyFactory factory) {
  registry()[name] = std::move(factory);
  return true;
}

bool has_strategy(const std::string& name) {
  return registry().count(name) > 0;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> n;
  for (const auto& [k, v] : registry()) n.push_back(k);
  return n;
}

std::unique_ptr<Strategy> make_strategy(const std::string& name) {
  auto it = registry().find(name);
  SR_CHECK_VALUE(it != registry().end(), "unknown method '{}' (known: {})", name,
                 fmt::join(strategy_names(), ", "));
  return it->second();
}

}  // namespace sr
