#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sb::auth {

// Who may connect to a router over CURVE, by role: clients (the client endpoint) and
// workers (the worker endpoint, optionally only for named services).
enum class PeerRole : uint8_t { kClient, kWorker };

struct CurvePeer {
  std::string name;
  PeerRole role = PeerRole::kClient;
  std::string public_key;             // Z85
  std::vector<std::string> services;  // workers: the services it may serve; empty: any
  bool mayServe(std::string_view service) const;
};

// The router's allow-list file (TOML):
//   [[client]]                      [[worker]]
//   name = "edge"                   name = "infer-pool"
//   key = "<40 Z85 characters>"     key_file = "infer.key"   # a certificate, relative paths
//                                   services = ["infer"]      # from this file's folder
// Strict like the key file: unknown fields, duplicate names, a key listed twice in one role,
// a bad key are errors naming their line.
class CurvePeers {
 public:
  const CurvePeer* find(PeerRole role, std::string_view public_key) const;
  size_t size(PeerRole role) const;
  const std::vector<CurvePeer>& all() const { return peers_; }

 private:
  friend std::optional<std::string> parseCurvePeers(std::string_view, const std::string&,
                                                    CurvePeers&);
  std::vector<CurvePeer> peers_;
  std::unordered_map<std::string, size_t> clients_, workers_;  // public key -> index
};

std::optional<std::string> parseCurvePeers(std::string_view text, const std::string& base_dir,
                                           CurvePeers& out);
std::optional<std::string> readCurvePeers(const std::string& path, CurvePeers& out);

}  // namespace sb::auth
