// The persistent state of an experiment run (state.json): the AL pool and test subset, every
// trial's initial labeled pool, every (trial, method) track's labeled pool and next cycle, the
// result rows so far, the configuration and the dataset's identity. Written after every cycle;
// read back by --resume, which validates it against the configuration and the dataset before
// anything runs (a tampered or mismatched state fails naming the file and what is wrong).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "sraal/report.h"

namespace sr {

class Dataset;

// What the run saw of its dataset: a resumed run must see the same data.
struct DatasetIdentity {
  int64_t train_items = 0, test_items = 0;
  std::string train_fingerprint, test_fingerprint;
};

struct RunState {
  static constexpr int kFormat = 2;  // 1: without `dataset` (accepted, not checked)

  nlohmann::json config;
  std::vector<int64_t> pool, test;
  std::map<int64_t, std::vector<int64_t>> initial;  // trial -> initial labeled pool
  struct Track {
    int64_t next_cycle = 0;
    std::vector<int64_t> labeled;
  };
  std::map<std::pair<int64_t, std::string>, Track> tracks;  // (trial, method)
  std::vector<ResultRow> rows;
  bool has_dataset = false;
  DatasetIdentity dataset;

  nlohmann::json to_json() const;
  // Structure only (types, keys); throws on anything malformed. `validate` checks the content.
  static RunState from_json(const nlohmann::json& j);
};

// What a state must agree with: the sizes and the pools the configuration draws.
struct StateExpectations {
  std::vector<int64_t> pool, test;  // what the seed draws from the dataset as it is now
  std::vector<int64_t> sizes;       // labeled size per cycle
  std::vector<std::string> methods;
  int64_t trials = 0;
  DatasetIdentity dataset;  // of the dataset as it is now
};

// Throws ValueError (naming nothing: the caller adds the file) at the first inconsistency:
// pool or test subset not the seed's draw, a changed dataset, initial pools or tracks of unknown
// trials/methods, wrong sizes, duplicated or out-of-pool items, a next cycle out of range, rows
// that no finished cycle produced, missing or repeated rows.
void validate_state(const RunState& s, const StateExpectations& e);

}  // namespace sr
