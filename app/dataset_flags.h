// The command-line flags that choose and shape a dataset (--dataset, --data-dir, --image-size,
// --seg-size, --test-fraction, --split-seed, --coarse-labels, --channels), shared by the
// subcommands that load one.
#pragma once

#include <CLI/CLI.hpp>

#include "data/dataset.h"

namespace sr::app {

// Adds the flags to a subcommand; options() reads them back after parsing.
class DatasetFlags {
 public:
  explicit DatasetFlags(CLI::App& app);
  DatasetFlags(const DatasetFlags&) = delete;  // CLI11 holds pointers to the members
  DatasetFlags& operator=(const DatasetFlags&) = delete;
  // The parsed options; ValueError for a malformed --seg-size.
  DatasetOptions options() const;
  // Whether --dataset was given on the command line (so a subcommand may pick its own default).
  bool dataset_given() const { return dataset_opt_->count() > 0; }

 private:
  DatasetOptions opts_;
  std::string seg_size_;
  CLI::Option* dataset_opt_ = nullptr;
};

}  // namespace sr::app
