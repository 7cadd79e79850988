#include "sb/bus/curve.h"

#include "sb/auth/curve_keys.h"

namespace sb {

void applyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys) {
  if (!keys.enabled()) return;
  socket.set(zmq::sockopt::curve_serverkey, keys.server_key);
  socket.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

void addCurveClientOptions(CLI::App& app, CurveFlags& flags) {
  app.add_option("--curve-secret", flags.secret,
                 "CURVE: this process's certificate (NAME.key_secret from sbctl keygen); with "
                 "--curve-router-key, every router link is encrypted and authenticated");
  app.add_option("--curve-router-key", flags.router_key,
                 "CURVE: the routers' public key (40 Z85 characters, or their NAME.key file)");
}

std::optional<std::string> loadCurveClient(const CurveFlags& flags, CurveClientKeys& out) {
  if (flags.secret.empty() && flags.router_key.empty()) return std::nullopt;
  if (flags.secret.empty() || flags.router_key.empty()) {
    return "CURVE needs both --curve-secret and --curve-router-key";
  }
  auth::CurveKeyPair own;
  if (auto err = auth::readCurveCertificate(flags.secret, true, own)) return err;
  std::string server;
  if (auto err = auth::readCurvePublicKey(flags.router_key, server)) return err;
  out.server_key = server;
  out.public_key = own.public_key;
  out.secret_key = own.secret_key;
  return std::nullopt;
}

}  // namespace sb
