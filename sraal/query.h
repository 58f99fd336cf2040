// `sraal query`: one round of active learning on a user's own images. A folder of labeled
// images (`<class>/*.png|jpg`) and a folder of unlabeled ones (any depth) go in; the target is
// trained on the labeled images, the method (SRAAL by default, or any classification method)
// scores the unlabeled ones, and the `budget` images to label next come out, best first:
//
//   to_label.csv        rank,path,score,predicted,confidence: the path of each chosen image, the
//                       score that ranked it (empty for methods without one), and the target's
//                       predicted class and its probability (a head start for the labeler)
//   to_label/           with --export copy|symlink: the chosen images as <rank>_<name>
//   target.safetensors  the trained target, with its preprocessing (`sraal predict --raw`)
//   manifest.json       the configuration, the inputs, version, times; run.log: the log
//   state.json          what --resume needs: the stage reached (trained, selected)
//
// Under mpirun the target trains data-parallel and the unlabeled images are scored in shares
// over the processes; rank 0 reads and writes the folder, and on resume sends the checkpoint's
// weights to the others.
//
// Resumable: the trained target (and LL4AL's loss-prediction module, joint.safetensors) is
// checkpointed before the selection, and the selection is recorded in state.json before any
// file of it is written; --resume continues after the last finished stage, if the two folders
// hold the same files as when the query started (names, sizes and modification times).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sraal/config.h"

namespace sr {

class ProcessGroup;

struct QueryConfig {
  std::string labeled, unlabeled;    // folders
  int64_t budget = 0;                // images to choose
  int64_t image_size = 0;            // > 0: resize to N x N; 0: the images' own (common) size
  int64_t channels = 3;              // 3 (gray replicated) or 1
  std::string export_mode = "none";  // none | copy | symlink
  // The method (settings.methods, exactly one) and its options, the target and adversarial
  // settings, the seed, the device and the loader threads: a preset's (quick by default) with
  // the options given. An experiment's protocol (fractions, trials, pool and test sizes, init,
  // k-center, the dataset) does not apply to a query.
  ExperimentConfig settings;
};

// ValueError naming the option for any inconsistency (no or several methods, a segmentation
// setting, budget < 1, an unknown export mode, channels other than 1 or 3, ...).
void validate_query(const QueryConfig& q);
nlohmann::json to_json(const QueryConfig& q);
QueryConfig query_config_from_json(const nlohmann::json& j);

struct QueryOptions {
  std::string out_dir;
  bool resume = false;  // continue the query in out_dir after its last finished stage
  bool force = false;   // overwrite a query in out_dir
  // Options besides --out, --resume and --export were given: with --resume they must be the
  // query's own. --export may change on resume (the export is rewritten).
  bool settings_given = false;
  bool export_given = false;
  std::string command_line;  // for the manifest
  // The job's processes (mpirun -np K sraal query): the target trains data-parallel over them,
  // the scoring is sharded (as sraal run's), rank 0 alone writes; null or a group of one: this
  // process alone.
  const ProcessGroup* world = nullptr;
  bool sync_bn = false;  // the target's batch statistics over the processes (sraal run --sync-bn)
};

struct QueryResult {
  std::vector<std::string> paths;  // chosen, best first
  std::vector<double> scores;      // empty for a method without a ranking score
  bool trained = false;            // this process trained the target (not a resumed checkpoint)
  bool selected = false;           // this process ran the selection
  double seconds = 0;
};

QueryResult run_query(const QueryConfig& config, const QueryOptions& options);

}  // namespace sr
