#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sb::auth {

// One API key as the key file holds it: never the key itself, only its SHA-256.
struct ApiKey {
  std::string name;                 // who holds it: in access logs and metrics instead of the key
  std::string sha256;               // lower-case hex of SHA-256 over the whole key text
  std::vector<std::string> models;  // the models it may use; empty: every model
  // Limits (0: none). Requests and tokens per minute are shared by every edge on one Redis;
  // `concurrent` counts chat completions and embeddings requests in flight at once.
  int64_t requests_per_minute = 0;
  int64_t tokens_per_minute = 0;
  int64_t concurrent = 0;
  std::string created;  // RFC 3339, informational

  bool limited() const { return requests_per_minute || tokens_per_minute || concurrent; }
  bool allows(std::string_view model) const;
};

// A key's name: 1 to 64 of A-Z a-z 0-9 . _ @ - (it appears in Redis keys, logs and metrics).
bool validKeyName(std::string_view name);
// A new key: "sk-sb-" and 43 base64url characters (32 random bytes from the OS).
std::string generateApiKey();
// Lower-case hex SHA-256 of `key`.
std::string hashApiKey(std::string_view key);

// The key file (TOML, one [[key]] table per key). Parsing is strict: an unknown field, a
// duplicate name or hash, or a hash that is not 64 hex digits is an error naming its line.
struct KeyFile {
  std::vector<ApiKey> keys;
};
std::optional<std::string> parseKeyFile(std::string_view text, KeyFile& out);
std::string renderKeyFile(const KeyFile& file);
// Reads / writes a file; writing goes through a temporary file and rename (mode 0600), so an
// edge reloading at that moment reads the old file or the new one, never half of one.
std::optional<std::string> readKeyFile(const std::string& path, KeyFile& out);
std::optional<std::string> writeKeyFile(const std::string& path, const KeyFile& file);

// The keys an edge accepts, looked up by the hash of what a client presents. A request keeps
// the shared key it found, so a reload that drops or changes the key does not pull it from
// under a request in flight.
class KeyRing {
 public:
  KeyRing() = default;
  explicit KeyRing(const KeyFile& file);
  // The key whose hash matches `presented`; null if none does.
  std::shared_ptr<const ApiKey> find(std::string_view presented) const;
  size_t size() const { return by_hash_.size(); }
  bool anyLimited() const;

 private:
  std::unordered_map<std::string, std::shared_ptr<const ApiKey>> by_hash_;
};

}  // namespace sb::auth
