// The command-line flags that choose and shape a dataset (--dataset, --data-dir, --image-size,
// --seg-size, --test-fraction, --split-seed, --coarse-labels, --channels), shared by the
// subcommands that load one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "data/dataset.h"

namespace sr::app {

// Adds the flags to a subcommand; options() reads them back after parsing.
class DatasetFlags {
 public:
  // `dataset_help`: the help text of --dataset after the list of names (train: its default;
  // run: that the preset chooses).
  DatasetFlags(CLI::App& app, const std::string& dataset_help = "");
  DatasetFlags(const DatasetFlags&) = delete;  // CLI11 holds pointers to the members
  DatasetFlags& operator=(const DatasetFlags&) = delete;
  // The parsed options; ValueError for a malformed --seg-size.
  DatasetOptions options() const;
  // Sets in `o` only the fields whose flags were given (run: over the preset's dataset).
  void apply_given(DatasetOptions& o) const;
  // Whether --dataset was given on the command line (so a subcommand may pick its own default).
  bool dataset_given() const { return dataset_opt_->count() > 0; }
  // Every flag with the fields it sets, as JSON pointers into DatasetOptions ("/name", ...).
  struct Field {
    CLI::Option* option;
    std::vector<std::string> pointers;
    std::function<void(DatasetOptions& to, const DatasetOptions& parsed)> apply;
  };
  const std::vector<Field>& fields() const { return fields_; }

 private:
  DatasetOptions opts_;
  std::string seg_size_;
  CLI::Option* dataset_opt_ = nullptr;
  std::vector<Field> fields_;
};

}  // namespace sr::app
