// The subcommands of `sraal`: each adds its options to the CLI11 app and returns the function
// that runs it (throws sr::Error on bad input; main turns it into a message and exit code).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "app/validators.h"

namespace sr::app {

using Runner = std::function<int()>;

Runner add_info(CLI::App& app);
Runner add_train(CLI::App& app);
Runner add_predict(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_run(CLI::App& app);
Runner add_data(CLI::App& app);
Runner add_query(CLI::App& app);

// Version line: "sraal 0.1.0".
std::string version_string();
// The command line this process was started with (for manifests).
std::string command_line();
void set_command_line(int argc, char** argv);

}  // namespace sr::app
