#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sb::auth {

// A CURVE key pair in Z85 (40 characters each), as libzmq takes them.
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;  // "" when only the public half is known
};

// A fresh pair from libzmq (libsodium's randomness).
CurveKeyPair generateCurveKeyPair();
// 40 characters that decode (Z85) to 32 bytes.
bool validCurveKey(std::string_view z85);
// What logs name a key by: its first 10 Z85 characters (enough to find it in a peer list,
// too little to be mistaken for a whole key). Public keys only.
std::string curveFingerprint(std::string_view public_z85);
// The Z85 text of a 32-byte key as ZAP hands it over.
std::string curveKeyText(std::string_view binary32);

// Certificates in the ZPL text format zmq's own tools (czmq's zcert) read and write:
// NAME.key holds the public key, NAME.key_secret both (mode 0600). Returns an error message.
std::optional<std::string> writeCurveCertificate(const std::string& dir, const std::string& name,
                                                 const CurveKeyPair& pair);
// Reads a certificate; `need_secret`: a file without a secret key is an error.
std::optional<std::string> readCurveCertificate(const std::string& path, bool need_secret,
                                                CurveKeyPair& out);
// A public key given either as 40 Z85 characters or as a certificate file holding one.
std::optional<std::string> readCurvePublicKey(const std::string& key_or_file, std::string& out);

}  // namespace sb::auth
