// An active-learning experiment (`sraal run`): trials x methods x cycles of SPEC section 1, with
// its output directory:
//   results.csv                          one row per (method, trial, cycle)
//   selected/<method>/trial<T>/cycle<C>.txt   dataset indices that entered D_L at cycle C
//                                        (cycle 0: the initial pool)
//   summary.md, plot.svg, plot.png       mean ± sd per method per labeled fraction
//   manifest.json                        configuration, seed, dataset fingerprints, version, device
//   state.json                           what --resume needs, rewritten atomically every cycle
//
// Inside a trial every method starts from the same initial pool (random or k-center, computed
// once). Every random stream derives from (seed, trial, method, cycle), so a run killed at any
// moment and resumed reproduces the uninterrupted run's results and selections exactly (on the
// same machine with a pinned thread count: `--threads N` or --deterministic; by default the
// count follows the machine's load, engine/backend.h).
#pragma once

#include <string>
#include <vector>

#include "engine/distributed.h"
#include "sraal/config.h"

namespace sr {

// How a run shares its work among the processes of an MPI job (mpirun -np K sraal run):
//   data     every cycle runs on all K ranks: data-parallel training (each rank a share of every
//            batch, gradients summed: sraal/train_classifier.h), evaluation and pool scoring
//            sharded and gathered, k-center sharded; with sync_bn the trajectory of one process
//            up to floating-point summation order (without it, per-rank batch statistics, as
//            PyTorch DDP).
//   trials   whole trials go to groups of ranks_per_unit ranks (trial t to group (t-1) mod G),
//   methods  or whole methods (method i to group i mod G); inside a group, data-parallel as
//            above. Each trial's or method's results are those of one process run of it.
// The groups advance in rounds of one cycle each; after every round all ranks exchange what
// the round produced (all-gather), rank 0 writes every file, state.json included, and every rank
// keeps the same state, so --resume (under any K, or none) restarts from rank 0's state.
enum class Distribute { data, trials, methods };

struct RunOptions {
  std::string out_dir;
  // Continue the run in out_dir after its last finished cycle, with the configuration saved in
  // its state.json (a run killed before its first checkpoint starts afresh).
  bool resume = false;
  bool force = false;        // overwrite a finished or partial run in out_dir
  std::string command_line;  // for the manifest
  // The options given on the command line, each with the configuration fields it sets (JSON
  // pointers into the configuration's JSON, e.g. "/target/epochs"). A resumed run keeps the
  // configuration it started with and refuses a given option that disagrees with it, except
  // --data-dir: the dataset moved, and its fingerprints must match the run's.
  struct GivenOption {
    std::string name;
    std::vector<std::string> fields;
  };
  std::vector<GivenOption> given;
  // The job's processes; null or a group of one: this process alone (and the options below do
  // nothing).
  const ProcessGroup* world = nullptr;
  Distribute distribute = Distribute::data;
  int ranks_per_unit = 1;  // trials, methods: the ranks of a group (dividing the job's size)
  bool sync_bn = false;    // batch statistics over a group's ranks (sraal train --sync-bn)
};

struct RunResult {
  int64_t rows = 0;
  double seconds = 0;
};

RunResult run_experiment(const ExperimentConfig& config, const RunOptions& options);

}  // namespace sr
