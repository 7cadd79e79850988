#include "sb/auth/curve_keys.h"

#include "auth_files.h"
#include "sb/core/files.h"

#include <unistd.h>
#include <zmq.h>

#include <ctime>
#include <sstream>
#include <stdexcept>

namespace sb::auth {

namespace {

// The value of `name = "..."` in a ZPL certificate (any indentation, either quote).
std::optional<std::string> zplValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t at = line.find_first_not_of(" \t");
    if (at == std::string::npos || line.compare(at, name.size(), name) != 0) continue;
    size_t eq = line.find('=', at + name.size());
    if (eq == std::string::npos || line.find_first_not_of(" \t", at + name.size()) != eq) {
      continue;
    }
    size_t open = line.find_first_of("\"'", eq);
    if (open == std::string::npos) continue;
    size_t close = line.find(line[open], open + 1);
    if (close == std::string::npos) continue;
    return line.substr(open + 1, close - open - 1);
  }
  return std::nullopt;
}

std::string certificate(const std::string& name, const CurveKeyPair& pair, bool secret) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
  std::ostringstream out;
  out << "#   ****  Generated on " << when << " by sbctl keygen  ****\n";
  if (secret) {
    out << "#   ZeroMQ CURVE **Secret** Certificate\n"
           "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n";
  } else {
    out << "#   ZeroMQ CURVE Public Certificate\n"
           "#   Exchange securely, or use a secure mechanism to verify the contents\n"
           "#   of this file after exchange. Store public certificates in your home\n"
           "#   directory, in the .curve subdirectory.\n\n";
  }
  out << "metadata\n    name = \"" << name << "\"\ncurve\n    public-key = \"" << pair.public_key
      << "\"\n";
  if (secret) out << "    secret-key = \"" << pair.secret_key << "\"\n";
  return out.str();
}

}  // namespace

CurveKeyPair generateCurveKeyPair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    throw std::runtime_error("libzmq cannot make CURVE keys (built without libsodium?)");
  }
  return {pub, sec};
}

bool validCurveKey(std::string_view z85) {
  if (z85.size() != 40) return false;
  std::string text(z85);
  uint8_t out[32];
  return zmq_z85_decode(out, text.c_str()) != nullptr;
}

std::string curveFingerprint(std::string_view public_z85) {
  return std::string(public_z85.substr(0, 10));
}

std::string curveKeyText(std::string_view binary32) {
  if (binary32.size() != 32) return "";
  char out[41];
  if (!zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(binary32.data()), 32)) return "";
  return out;
}

std::optional<std::string> writeCurveCertificate(const std::string& dir, const std::string& name,
                                                 const CurveKeyPair& pair) {
  std::string base = dir + "/" + name + ".key";
  if (auto err = files::writeAtomically(base + "_secret", certificate(name, pair, true), 0600))
    return err;
  return files::writeAtomically(base, certificate(name, pair, false), 0644);
}

std::optional<std::string> readCurveCertificate(const std::string& path, bool need_secret,
                                                CurveKeyPair& out) {
  std::string text;
  if (auto err = files::read(path, text)) return err;
  auto pub = zplValue(text, "public-key");
  if (!pub || !validCurveKey(*pub)) {
    return path + ": no valid public-key (a CURVE certificate: sbctl keygen)";
  }
  auto sec = zplValue(text, "secret-key");
  if (need_secret && (!sec || !validCurveKey(*sec))) {
    return path + ": no valid secret-key (give the NAME.key_secret file)";
  }
  if (sec && !validCurveKey(*sec)) return path + ": the secret-key is not a valid key";
  out.public_key = *pub;
  out.secret_key = sec.value_or("");
  if (!out.secret_key.empty()) {
    warnIfWorldReadable(path, "a CURVE secret key");
    char derived[41];
    if (zmq_curve_public(derived, out.secret_key.c_str()) != 0 || out.public_key != derived) {
      return path + ": the public-key is not the secret-key's";
    }
  }
  return std::nullopt;
}

std::optional<std::string> readCurvePublicKey(const std::string& key_or_file, std::string& out) {
  // A file of that name first: a 40-character path can be valid Z85 too.
  if (access(key_or_file.c_str(), F_OK) != 0 && validCurveKey(key_or_file)) {
    out = key_or_file;
    return std::nullopt;
  }
  CurveKeyPair pair;
  if (auto err = readCurveCertificate(key_or_file, false, pair)) return err;
  out = pair.public_key;
  return std::nullopt;
}

}  // namespace sb::auth
