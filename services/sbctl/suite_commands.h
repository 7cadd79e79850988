#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace sb::ctl {

// sbctl up / ps / scale / restart / down: a suite on one machine, from a topology file, and
// the commands that act on it while it runs (through its control socket).
struct SuiteArgs {
  CLI::App* up = nullptr;
  CLI::App* ps = nullptr;
  CLI::App* scale = nullptr;
  CLI::App* restart = nullptr;
  CLI::App* down = nullptr;
  std::string control;  // socket path
  std::string file;
  std::string bin_dir;
  int ready_fd = -1;
  int64_t ready_timeout_ms = 30000;
  int64_t stop_timeout_ms = 90000;
  std::vector<std::string> targets;  // scale: SERVICE=N; restart: SERVICE
  bool as_json = false;
};

void addSuiteCommands(CLI::App& app, SuiteArgs& a);
// The exit code when one of these commands was given; nullopt otherwise.
std::optional<int> runSuiteCommand(SuiteArgs& a);

}  // namespace sb::ctl
