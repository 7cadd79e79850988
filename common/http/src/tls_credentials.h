#pragma once

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sb::http {

// A certificate chain and its private key, read from PEM files and ready for GnuTLS's
// certificate callback: what one TLS listener serves until the files are read again.
class TlsCredentials {
 public:
  // Reads both files; nullptr and `error` set when either is unreadable, holds no usable
  // certificate or key, or the key is not the certificate's.
  static std::shared_ptr<const TlsCredentials> load(const std::string& cert_file,
                                                    const std::string& key_file,
                                                    std::string& error);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // What the callback hands to GnuTLS (which neither copies nor frees them).
  gnutls_pcert_st* chain() const { return chain_.data(); }
  unsigned chainLength() const { return static_cast<unsigned>(chain_.size()); }
  gnutls_privkey_t key() const { return key_; }
  // The leaf certificate's notAfter, in seconds since the epoch.
  int64_t notAfter() const { return not_after_; }

 private:
  TlsCredentials() = default;
  mutable std::vector<gnutls_pcert_st> chain_;
  gnutls_privkey_t key_ = nullptr;
  int64_t not_after_ = 0;
};

}  // namespace sb::http
