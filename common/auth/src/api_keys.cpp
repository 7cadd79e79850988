#include "sb/auth/api_keys.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <stdexcept>

#include <toml++/toml.h>

#include "auth_files.h"
#include "sb/core/hex.h"

namespace sb::auth {

namespace {

bool isHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::string> readKey(const toml::table& t, size_t index, ApiKey& k) {
  std::string where = "key[" + std::to_string(index) + "]";
  for (auto&& [name, node] : t) {
    std::string f(name.str());
    std::string here = where;
    here += "." + f;
    if (f == "name" || f == "sha256" || f == "created") {
      auto& out = f == "name" ? k.name : f == "sha256" ? k.sha256 : k.created;
      if (auto err = files::readString(node, here, out)) return err;
    } else if (f == "models") {
      if (auto err = files::readStrings(node, here, "model names", k.models)) return err;
    } else if (f == "requests_per_minute" || f == "tokens_per_minute" || f == "concurrent") {
      auto v = node.value<int64_t>();
      if (!node.is_integer() || !v || *v < 0 || *v > (int64_t{1} << 40)) {
        return here + ": must be a whole number, 0 for no limit" + files::at(node);
      }
      (f == "requests_per_minute" ? k.requests_per_minute
       : f == "tokens_per_minute" ? k.tokens_per_minute
                                  : k.concurrent) = *v;
    } else {
      return here + ": unknown field" + files::at(node);
    }
  }
  if (!validKeyName(k.name)) {
    return where + ": name must be 1 to 64 of A-Z a-z 0-9 . _ @ -" + files::at(t);
  }
  if (!isHex64(k.sha256)) {
    return where + " (" + k.name + "): sha256 must be 64 lower-case hex digits" + files::at(t);
  }
  return std::nullopt;
}

}  // namespace

bool validKeyName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
           c == '-';
  });
}

bool ApiKey::allows(std::string_view model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

std::string generateApiKey() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof(raw)) != 1) throw std::runtime_error("no random bytes from the OS");
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "sk-sb-";
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string hashApiKey(std::string_view key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return lowerHex(md, len);
}

std::optional<std::string> parseKeyFile(std::string_view text, KeyFile& out) {
  toml::table root;
  if (auto err = files::parseToml(text, root)) return err;
  KeyFile file;
  std::set<std::string> names, hashes;
  for (auto&& [name, node] : root) {
    if (name.str() != "key")
      return "unknown table '" + std::string(name.str()) + "'" + files::at(node);
    const toml::array* keys = node.as_array();
    if (!keys) return "'key' must be an array of tables ([[key]])" + files::at(node);
    for (const toml::node& n : *keys) {
      const toml::table* t = n.as_table();
      if (!t) return "'key' must be an array of tables ([[key]])" + files::at(n);
      ApiKey k;
      if (auto err = readKey(*t, file.keys.size(), k)) return err;
      if (!names.insert(k.name).second) return "two keys are named '" + k.name + "'" + files::at(n);
      if (!hashes.insert(k.sha256).second)
        return "key '" + k.name + "' repeats a hash" + files::at(n);
      file.keys.push_back(std::move(k));
    }
  }
  out = std::move(file);
  return std::nullopt;
}

std::string renderKeyFile(const KeyFile& file) {
  toml::array keys;
  for (const ApiKey& k : file.keys) {
    toml::table t{{"name", k.name}, {"sha256", k.sha256}};
    if (!k.created.empty()) t.insert("created", k.created);
    if (!k.models.empty()) {
      toml::array models;
      for (const auto& m : k.models) models.push_back(m);
      t.insert("models", std::move(models));
    }
    if (k.requests_per_minute) t.insert("requests_per_minute", k.requests_per_minute);
    if (k.tokens_per_minute) t.insert("tokens_per_minute", k.tokens_per_minute);
    if (k.concurrent) t.insert("concurrent", k.concurrent);
    keys.push_back(std::move(t));
  }
  std::ostringstream out;
  out << "# Switchboard API keys (sbctl key create|list|revoke). Only SHA-256 hashes of the keys\n"
         "# are kept here; edges reload this file on SIGHUP.\n\n";
  if (!keys.empty()) out << toml::table{{"key", std::move(keys)}} << "\n";
  return out.str();
}

std::optional<std::string> readKeyFile(const std::string& path, KeyFile& out) {
  std::string text;
  if (auto err = files::read(path, text)) return err;
  if (auto err = parseKeyFile(text, out)) return path + ": " + *err;
  return std::nullopt;
}

std::optional<std::string> writeKeyFile(const std::string& path, const KeyFile& file) {
  return files::writeAtomically(path, renderKeyFile(file), 0600);
}

KeyRing::KeyRing(const KeyFile& file) {
  for (const ApiKey& k : file.keys) by_hash_.emplace(k.sha256, std::make_shared<ApiKey>(k));
}

std::shared_ptr<const ApiKey> KeyRing::find(std::string_view presented) const {
  if (presented.empty() || presented.size() > 512) return nullptr;
  auto it = by_hash_.find(hashApiKey(presented));
  return it == by_hash_.end() ? nullptr : it->second;
}

bool KeyRing::anyLimited() const {
  return std::any_of(by_hash_.begin(), by_hash_.end(),
                     [](const auto& kv) { return kv.second->limited(); });
}

}  // namespace sb::auth
