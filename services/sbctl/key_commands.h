#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace sb::ctl {

// sbctl key create / list / revoke: the edges' API key file. A new key is printed once and
// only its SHA-256 is stored; edges pick changes up on SIGHUP. sbctl keygen NAME: a CURVE
// certificate pair for a bus process (NAME.key to share, NAME.key_secret to keep).
struct KeyArgs {
  CLI::App* keygen = nullptr;  // sbctl keygen NAME: a CURVE certificate pair
  std::string dir = ".";
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* revoke = nullptr;
  std::string file;  // --api-keys, SB_API_KEYS (the edge's own flag and variable)
  std::string name;
  std::vector<std::string> models;
  int64_t rpm = 0, tpm = 0, concurrent = 0;
};

void addKeyCommands(CLI::App& app, KeyArgs& a);
// The exit code when one of these commands was given; nullopt otherwise.
std::optional<int> runKeyCommand(KeyArgs& a);

}  // namespace sb::ctl
