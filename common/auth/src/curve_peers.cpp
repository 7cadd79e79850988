#include "sb/auth/curve_peers.h"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "auth_files.h"
#include "sb/auth/curve_keys.h"

namespace sb::auth {

namespace {

std::optional<std::string> readPeer(const toml::table& t, const std::string& where,
                                    const std::string& base_dir, CurvePeer& p) {
  std::string key, key_file;
  for (auto&& [name, node] : t) {
    std::string f(name.str());
    std::string here = where;
    here += "." + f;
    if (f == "name" || f == "key" || f == "key_file") {
      auto& out = f == "name" ? p.name : f == "key" ? key : key_file;
      if (auto err = files::readString(node, here, out)) return err;
    } else if (f == "services" && p.role == PeerRole::kWorker) {
      if (auto err = files::readStrings(node, here, "service names", p.services)) return err;
    } else {
      return here + ": unknown field" + files::at(node);
    }
  }
  if (p.name.empty()) return where + ": has no name" + files::at(t);
  if (key.empty() == key_file.empty()) {
    return where + " (" + p.name + "): give either key or key_file" + files::at(t);
  }
  if (!key.empty()) {
    if (!validCurveKey(key)) {
      return where + " (" + p.name + "): key must be 40 Z85 characters (a public key)" +
             files::at(t);
    }
    p.public_key = key;
    return std::nullopt;
  }
  std::string path = key_file[0] == '/' ? key_file : base_dir + "/" + key_file;
  CurveKeyPair pair;
  if (auto err = readCurveCertificate(path, false, pair)) {
    return where + " (" + p.name + "): " + *err + files::at(t);
  }
  p.public_key = pair.public_key;
  return std::nullopt;
}

}  // namespace

bool CurvePeer::mayServe(std::string_view service) const {
  return services.empty() || std::find(services.begin(), services.end(), service) != services.end();
}

const CurvePeer* CurvePeers::find(PeerRole role, std::string_view public_key) const {
  const auto& index = role == PeerRole::kClient ? clients_ : workers_;
  auto it = index.find(std::string(public_key));
  return it == index.end() ? nullptr : &peers_[it->second];
}

size_t CurvePeers::size(PeerRole role) const {
  return role == PeerRole::kClient ? clients_.size() : workers_.size();
}

std::optional<std::string> parseCurvePeers(std::string_view text, const std::string& base_dir,
                                           CurvePeers& out) {
  toml::table root;
  if (auto err = files::parseToml(text, root)) return err;
  CurvePeers peers;
  std::set<std::string> names;
  for (auto&& [table, node] : root) {
    std::string role(table.str());
    if (role != "client" && role != "worker") {
      return "unknown table '" + role + "' (only [[client]] and [[worker]])" + files::at(node);
    }
    auto notTables = [&role](const toml::node& n) {
      std::string m = "'";
      m += role;
      m += "' must be an array of tables ([[";
      m += role;
      m += "]])";
      return m + files::at(n);
    };
    const toml::array* list = node.as_array();
    if (!list) return notTables(node);
    size_t i = 0;
    for (const toml::node& n : *list) {
      const toml::table* t = n.as_table();
      if (!t) return notTables(n);
      CurvePeer p;
      p.role = role == "client" ? PeerRole::kClient : PeerRole::kWorker;
      if (auto err = readPeer(*t, role + "[" + std::to_string(i++) + "]", base_dir, p)) {
        return err;
      }
      if (!names.insert(role + "/" + p.name).second) {
        return "two " + role + "s are named '" + p.name + "'" + files::at(n);
      }
      auto& index = p.role == PeerRole::kClient ? peers.clients_ : peers.workers_;
      if (!index.emplace(p.public_key, peers.peers_.size()).second) {
        std::string m = role;
        m += " '" + p.name + "' repeats the key of another ";
        m += role;
        return m + files::at(n);
      }
      peers.peers_.push_back(std::move(p));
    }
  }
  out = std::move(peers);
  return std::nullopt;
}

std::optional<std::string> readCurvePeers(const std::string& path, CurvePeers& out) {
  std::string text;
  if (auto err = files::read(path, text)) return err;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (auto err = parseCurvePeers(text, dir, out)) return path + ": " + *err;
  return std::nullopt;
}

}  // namespace sb::auth
