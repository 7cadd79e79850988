#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

namespace sb {

// A process's CURVE identity towards routers (PROTOCOL.md 1.1): the router's public key, which
// the handshake proves (no man in the middle), and the process's own key pair, which the
// router checks against its allow-list. Empty: plain TCP, the loopback default.
struct CurveClientKeys {
  std::string server_key;  // Z85
  std::string public_key;
  std::string secret_key;
  bool enabled() const { return !server_key.empty(); }
};

// Makes `socket` a CURVE client (call before connect); nothing when not enabled.
void applyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys);

// --curve-secret FILE (this process's certificate, NAME.key_secret from `sbctl keygen`) and
// --curve-router-key KEY|FILE (the router's public key, or its NAME.key); both or neither.
struct CurveFlags {
  std::string secret;
  std::string router_key;
};
void addCurveClientOptions(CLI::App& app, CurveFlags& flags);
std::optional<std::string> loadCurveClient(const CurveFlags& flags, CurveClientKeys& out);

}  // namespace sb
