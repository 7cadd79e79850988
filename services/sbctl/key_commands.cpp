#include "key_commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <iostream>

#include "sb/auth/api_keys.h"
#include "sb/auth/curve_keys.h"

namespace sb::ctl {

namespace {

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The file's keys; a missing file is an empty one (the first `create` makes it).
std::optional<std::string> load(const std::string& path, auth::KeyFile& file) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::nullopt;
  return auth::readKeyFile(path, file);
}

int fail(const std::string& message) {
  std::cerr << "sbctl: " << message << "\n";
  return 1;
}

int create(const KeyArgs& a) {
  if (!auth::validKeyName(a.name)) return fail("a key's name is 1 to 64 of A-Z a-z 0-9 . _ @ -");
  auth::KeyFile file;
  if (auto err = load(a.file, file)) return fail(*err);
  bool taken = std::any_of(file.keys.begin(), file.keys.end(),
                           [&](const auth::ApiKey& k) { return k.name == a.name; });
  if (taken) return fail("there is already a key named '" + a.name + "' in " + a.file);
  std::string key = auth::generateApiKey();
  auth::ApiKey k;
  k.name = a.name;
  k.sha256 = auth::hashApiKey(key);
  k.models = a.models;
  k.requests_per_minute = a.rpm;
  k.tokens_per_minute = a.tpm;
  k.concurrent = a.concurrent;
  k.created = nowRfc3339();
  file.keys.push_back(k);
  if (auto err = auth::writeKeyFile(a.file, file)) return fail(*err);
  std::cout << key << "\n";
  std::cerr << "key '" << a.name << "' added to " << a.file
            << " (shown this once: only its hash is kept). Edges take it on SIGHUP.\n";
  return 0;
}

int keygen(const KeyArgs& a) {
  if (!auth::validKeyName(a.name)) return fail("a name is 1 to 64 of A-Z a-z 0-9 . _ @ -");
  std::string base = a.dir + "/" + a.name + ".key";
  struct stat st {};
  if (stat(base.c_str(), &st) == 0 || stat((base + "_secret").c_str(), &st) == 0) {
    return fail(base + " exists already: keys are not overwritten");
  }
  auth::CurveKeyPair pair = auth::generateCurveKeyPair();
  if (auto err = auth::writeCurveCertificate(a.dir, a.name, pair)) return fail(*err);
  std::cout << pair.public_key << "\n";
  std::cerr << "wrote " << base << " (public: the router's peer list, or the workers' and "
            << "clients' --curve-router-key) and " << base << "_secret (mode 0600: this "
            << "process's --curve-secret)\n";
  return 0;
}

int list(const KeyArgs& a) {
  auth::KeyFile file;
  if (auto err = auth::readKeyFile(a.file, file)) return fail(*err);
  auto limit = [](int64_t v) { return v ? std::to_string(v) : std::string("-"); };
  std::printf("%-24s %-8s %-10s %-10s %-20s %s\n", "NAME", "RPM", "TPM", "CONCURRENT", "CREATED",
              "MODELS");
  for (const auto& k : file.keys) {
    std::string models;
    for (const auto& m : k.models) models += (models.empty() ? "" : ",") + m;
    std::printf("%-24s %-8s %-10s %-10s %-20s %s\n", k.name.c_str(),
                limit(k.requests_per_minute).c_str(), limit(k.tokens_per_minute).c_str(),
                limit(k.concurrent).c_str(), k.created.empty() ? "-" : k.created.c_str(),
                models.empty() ? "(all)" : models.c_str());
  }
  return 0;
}

int revoke(const KeyArgs& a) {
  auth::KeyFile file;
  if (auto err = auth::readKeyFile(a.file, file)) return fail(*err);
  auto it = std::find_if(file.keys.begin(), file.keys.end(),
                         [&](const auth::ApiKey& k) { return k.name == a.name; });
  if (it == file.keys.end()) return fail("no key named '" + a.name + "' in " + a.file);
  file.keys.erase(it);
  if (auto err = auth::writeKeyFile(a.file, file)) return fail(*err);
  std::cerr << "key '" << a.name << "' removed from " << a.file
            << ". Edges refuse it once they reload (SIGHUP).\n";
  return 0;
}

}  // namespace

void addKeyCommands(CLI::App& app, KeyArgs& a) {
  a.keygen = app.add_subcommand(
      "keygen",
      "Make a CURVE key pair: NAME.key (public) and NAME.key_secret; print the public key");
  a.keygen->add_option("name", a.name, "Whose keys (a process or a role: router, edge, infer)")
      ->required();
  a.keygen->add_option("--dir", a.dir, "Where to write them")->capture_default_str();
  auto* key = app.add_subcommand("key", "The edges' API keys: create, list, revoke");
  key->require_subcommand(1);
  auto file = [&a](CLI::App* c) {
    c->add_option("--api-keys", a.file, "The key file (the edge's --api-keys)")
        ->envname("SB_API_KEYS")
        ->required();
  };
  a.create = key->add_subcommand("create", "Make a key, store its hash, print it (once)");
  a.create->add_option("name", a.name, "Who the key is for (logs and metrics name it)")->required();
  file(a.create);
  a.create->add_option("--model", a.models, "A model it may use (repeat; default: all)")
      ->delimiter(',');
  a.create->add_option("--rpm", a.rpm, "Requests per minute (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  a.create->add_option("--tpm", a.tpm, "Tokens per minute (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  a.create->add_option("--concurrent", a.concurrent, "Requests in flight at once (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  a.list = key->add_subcommand("list", "The keys: names, limits, models (never the keys)");
  file(a.list);
  a.revoke = key->add_subcommand("revoke", "Remove a key (edges refuse it after SIGHUP)");
  a.revoke->add_option("name", a.name, "The key's name")->required();
  file(a.revoke);
}

std::optional<int> runKeyCommand(KeyArgs& a) {
  if (a.keygen && *a.keygen) return keygen(a);
  if (a.create && *a.create) return create(a);
  if (a.list && *a.list) return list(a);
  if (a.revoke && *a.revoke) return revoke(a);
  return std::nullopt;
}

}  // namespace sb::ctl
