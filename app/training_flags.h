// The command-line flags that change how the target and the methods train, shared by `sraal
// run` and `sraal query`: --method-option, --seed, --device, the target's --epochs, --width,
// --lr, --batch-size, --momentum, --weight-decay, and the adversarial --iterations,
// --lr-decay-every and --indicator-scaling. Each flag sets its fields over a preset's (or a
// configuration file's) settings only when given.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sraal/config.h"

namespace sr::app {

class TrainingFlags {
 public:
  explicit TrainingFlags(CLI::App& app);
  TrainingFlags(const TrainingFlags&) = delete;  // CLI11 holds pointers to the members
  TrainingFlags& operator=(const TrainingFlags&) = delete;

  // Sets in `c` the fields of the flags given (ValueError for a malformed --method-option).
  void apply_given(ExperimentConfig& c) const;
  bool any_given() const;
  // Every flag with the fields it sets, as JSON pointers into the configuration.
  struct Field {
    CLI::Option* option;
    std::vector<std::string> pointers;
    std::function<void(ExperimentConfig&)> apply;
  };
  const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<std::string> method_options_;
  std::string device_, scaling_;
  uint64_t seed_ = 0;
  int64_t epochs_ = 0, batch_ = 0, iterations_ = 0, lr_decay_every_ = 0;
  float width_ = 0, lr_ = 0, momentum_ = 0, weight_decay_ = 0;
  std::vector<Field> fields_;
};

// METHOD.KEY=VALUE into c.method_options; VALUE is JSON (a number, true/false) or else text.
void set_method_option(ExperimentConfig& c, const std::string& text);

// The settings of `c` a user is most likely to change, a few lines for a --help footer; with
// `protocol`, also the experiment's methods, data, fractions and trials.
std::string settings_summary(const ExperimentConfig& c, bool protocol);

// The methods of `tasks`, their one-line summaries and their options with defaults.
std::string methods_help(const std::vector<Task>& tasks);

}  // namespace sr::app
