// state.json: serialisation and validation of a run's state (see run_state.h).
#include "sraal/run_state.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "engine/error.h"

namespace sr {

using json = nlohmann::json;

json RunState::to_json() const {
  json j;
  j["format"] = kFormat;
  j["config"] = config;
  j["dataset"] = {{"train_items", dataset.train_items},
                  {"test_items", dataset.test_items},
                  {"train_fingerprint", dataset.train_fingerprint},
                  {"test_fingerprint", dataset.test_fingerprint}};
  j["pool"] = pool;
  j["test"] = test;
  json init = json::object();
  for (const auto& [t, v] : initial) init[std::to_string(t)] = v;
  j["initial"] = init;
  json tr = json::array();
  for (const auto& [key, t] : tracks)
    tr.push_back({{"trial", key.first},
                  {"method", key.second},
                  {"next_cycle", t.next_cycle},
                  {"labeled", t.labeled}});
  j["tracks"] = tr;
  json rs = json::array();
  for (const auto& r : rows) rs.push_back(sr::to_json(r));
  j["rows"] = rs;
  return j;
}

RunState RunState::from_json(const json& j) {
  RunState s;
  int64_t format = j.at("format").get<int64_t>();
  SR_CHECK_VALUE(format == 1 || format == kFormat, "format {} (this build reads 1 and {})", format,
                 kFormat);
  s.config = j.at("config");
  SR_CHECK_VALUE(s.config.is_object(), "config is not an object");
  if (j.contains("dataset")) {
    const json& d = j.at("dataset");
    s.dataset = {d.at("train_items").get<int64_t>(), d.at("test_items").get<int64_t>(),
                 d.at("train_fingerprint").get<std::string>(),
                 d.at("test_fingerprint").get<std::string>()};
    s.has_dataset = true;
  }
  s.pool = j.at("pool").get<std::vector<int64_t>>();
  s.test = j.at("test").get<std::vector<int64_t>>();
  for (const auto& [k, v] : j.at("initial").items()) {
    int64_t t = 0;
    auto [end, ec] = std::from_chars(k.data(), k.data() + k.size(), t);
    SR_CHECK_VALUE(ec == std::errc() && end == k.data() + k.size(),
                   "initial: key '{}' is not a trial number", k);
    s.initial[t] = v.get<std::vector<int64_t>>();
  }
  for (const auto& t : j.at("tracks")) {
    auto key = std::make_pair(t.at("trial").get<int64_t>(), t.at("method").get<std::string>());
    SR_CHECK_VALUE(!s.tracks.count(key), "tracks: trial {} of {} appears twice", key.first,
                   key.second);
    s.tracks[key] = {t.at("next_cycle").get<int64_t>(),
                     t.at("labeled").get<std::vector<int64_t>>()};
  }
  for (const auto& r : j.at("rows")) s.rows.push_back(row_from_json(r));
  return s;
}

namespace {

// Distinct items, each in `pool`.
void check_items(const std::vector<int64_t>& items, const std::set<int64_t>& pool,
                 const std::string& what) {
  std::set<int64_t> seen;
  for (int64_t i : items) {
    SR_CHECK_VALUE(pool.count(i), "{}: item {} is not in the AL pool", what, i);
    SR_CHECK_VALUE(seen.insert(i).second, "{}: item {} appears twice", what, i);
  }
}

}  // namespace

void validate_state(const RunState& s, const StateExpectations& e) {
  if (s.has_dataset) {
    const DatasetIdentity &was = s.dataset, &is = e.dataset;
    SR_CHECK_VALUE(was.train_items == is.train_items && was.test_items == is.test_items &&
                       was.train_fingerprint == is.train_fingerprint &&
                       was.test_fingerprint == is.test_fingerprint,
                   "the dataset differs from the one the run started with ({} train / {} test "
                   "items, fingerprints {} / {}; now {} / {}, {} / {}): point --data-dir at the "
                   "original data",
                   was.train_items, was.test_items, was.train_fingerprint, was.test_fingerprint,
                   is.train_items, is.test_items, is.train_fingerprint, is.test_fingerprint);
  }
  SR_CHECK_VALUE(s.pool == e.pool,
                 "pool: not the {} items the run's seed draws from the {} training items (edited, "
                 "or the dataset changed)",
                 e.pool.size(), e.dataset.train_items);
  SR_CHECK_VALUE(s.test == e.test,
                 "test: not the {} items the run's seed draws from the {} test items (edited, or "
                 "the dataset changed)",
                 e.test.size(), e.dataset.test_items);
  const std::set<int64_t> pool(s.pool.begin(), s.pool.end());
  const int64_t cycles = int64_t(e.sizes.size());
  const std::set<std::string> methods(e.methods.begin(), e.methods.end());

  for (const auto& [t, init] : s.initial) {
    SR_CHECK_VALUE(t >= 1 && t <= e.trials, "initial: trial {} outside 1..{}", t, e.trials);
    SR_CHECK_VALUE(int64_t(init.size()) == e.sizes.front(),
                   "initial: trial {} holds {} items, the initial pool is {}", t, init.size(),
                   e.sizes.front());
    check_items(init, pool, fmt::format("initial pool of trial {}", t));
  }
  for (const auto& [key, track] : s.tracks) {
    const auto& [t, m] = key;
    std::string what = fmt::format("tracks: trial {} of {}", t, m);
    SR_CHECK_VALUE(t >= 1 && t <= e.trials, "{}: trial outside 1..{}", what, e.trials);
    SR_CHECK_VALUE(methods.count(m), "{}: not a method of this run", what);
    SR_CHECK_VALUE(track.next_cycle >= 0 && track.next_cycle <= cycles,
                   "{}: next cycle {} outside 0..{}", what, track.next_cycle, cycles);
    auto init = s.initial.find(t);
    SR_CHECK_VALUE(init != s.initial.end(), "{}: the trial has no initial pool", what);
    int64_t size = e.sizes[size_t(std::min(track.next_cycle, cycles - 1))];
    SR_CHECK_VALUE(int64_t(track.labeled.size()) == size,
                   "{}: {} labeled items after {} finished cycle(s), expected {}", what,
                   track.labeled.size(), track.next_cycle, size);
    check_items(track.labeled, pool, what);
    SR_CHECK_VALUE(std::equal(init->second.begin(), init->second.end(), track.labeled.begin()),
                   "{}: its labeled pool does not start with the trial's initial pool", what);
  }
  std::map<std::pair<int64_t, std::string>, std::set<int64_t>> row_cycles;
  for (const ResultRow& r : s.rows) {
    auto it = s.tracks.find({r.trial, r.method});
    SR_CHECK_VALUE(it != s.tracks.end(), "rows: a row of trial {} of {} with no such track",
                   r.trial, r.method);
    SR_CHECK_VALUE(r.cycle >= 0 && r.cycle < it->second.next_cycle,
                   "rows: trial {} of {} has a row for cycle {} but has finished {} cycle(s)",
                   r.trial, r.method, r.cycle, it->second.next_cycle);
    bool first = row_cycles[std::make_pair(r.trial, r.method)].insert(r.cycle).second;
    SR_CHECK_VALUE(first, "rows: trial {} of {} has two rows for cycle {}", r.trial, r.method,
                   r.cycle);
    SR_CHECK_VALUE(r.labeled == e.sizes[size_t(r.cycle)],
                   "rows: trial {} of {} cycle {} reports {} labeled items, the cycle has {}",
                   r.trial, r.method, r.cycle, r.labeled, e.sizes[size_t(r.cycle)]);
    SR_CHECK_VALUE(std::isfinite(r.value) && r.value >= 0 && r.value <= 1,
                   "rows: trial {} of {} cycle {}: metric {} outside [0, 1]", r.trial, r.method,
                   r.cycle, r.value);
  }
  for (const auto& [key, track] : s.tracks) {
    size_t rows = row_cycles.count(key) ? row_cycles[key].size() : 0;
    SR_CHECK_VALUE(int64_t(rows) == track.next_cycle,
                   "tracks: trial {} of {}: {} result row(s) for {} finished cycle(s)", key.first,
                   key.second, rows, track.next_cycle);
  }
}

}  // namespace sr
