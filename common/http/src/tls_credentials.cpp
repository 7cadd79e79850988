#include "tls_credentials.h"

#include <gnutls/x509.h>

#include "sb/core/files.h"

namespace sb::http {

namespace {

constexpr unsigned kMaxChain = 16;

gnutls_datum_t datum(std::string& s) {
  return {reinterpret_cast<unsigned char*>(s.data()), static_cast<unsigned>(s.size())};
}

// The DER form of a public key, to compare two of them.
std::string exportKey(gnutls_pubkey_t key) {
  gnutls_datum_t der{};
  if (gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &der) < 0) return {};
  std::string out(reinterpret_cast<const char*>(der.data), der.size);
  gnutls_free(der.data);
  return out;
}

std::string publicKeyOf(gnutls_privkey_t key) {
  gnutls_pubkey_t pub = nullptr;
  if (gnutls_pubkey_init(&pub) < 0) return {};
  std::string out;
  if (gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0) out = exportKey(pub);
  gnutls_pubkey_deinit(pub);
  return out;
}

int64_t expiryOf(const gnutls_pcert_st& leaf) {
  gnutls_x509_crt_t crt = nullptr;
  if (gnutls_x509_crt_init(&crt) < 0) return 0;
  int64_t at = 0;
  if (gnutls_x509_crt_import(crt, &leaf.cert, GNUTLS_X509_FMT_DER) >= 0)
    at = static_cast<int64_t>(gnutls_x509_crt_get_expiration_time(crt));
  gnutls_x509_crt_deinit(crt);
  return at;
}

}  // namespace

std::shared_ptr<const TlsCredentials> TlsCredentials::load(const std::string& cert_file,
                                                           const std::string& key_file,
                                                           std::string& error) {
  std::string cert_pem, key_pem;
  if (!readWholeFile(cert_file, cert_pem)) {
    error = "cannot read the TLS certificate " + cert_file;
    return nullptr;
  }
  if (!readWholeFile(key_file, key_pem)) {
    error = "cannot read the TLS key " + key_file;
    return nullptr;
  }
  std::shared_ptr<TlsCredentials> c(new TlsCredentials());
  c->chain_.resize(kMaxChain);
  unsigned n = kMaxChain;
  gnutls_datum_t cert_data = datum(cert_pem);
  int rc = gnutls_pcert_list_import_x509_raw(c->chain_.data(), &n, &cert_data, GNUTLS_X509_FMT_PEM,
                                             GNUTLS_X509_CRT_LIST_SORT);
  if (rc < 0 || n == 0) {
    c->chain_.clear();
    error = cert_file + ": no usable PEM certificate (" +
            (rc == GNUTLS_E_SHORT_MEMORY_BUFFER ? std::string("more than 16 in the chain")
                                                : std::string(gnutls_strerror(rc))) +
            ")";
    return nullptr;
  }
  c->chain_.resize(n);
  if (gnutls_privkey_init(&c->key_) < 0) {
    error = "GnuTLS cannot make a private key";
    return nullptr;
  }
  gnutls_datum_t key_data = datum(key_pem);
  rc = gnutls_privkey_import_x509_raw(c->key_, &key_data, GNUTLS_X509_FMT_PEM, nullptr, 0);
  // (The PEM text is not needed any more: wipe the copy of the private key.)
  gnutls_memset(key_pem.data(), 0, key_pem.size());
  if (rc < 0) {
    error = key_file + ": no usable PEM private key (" + gnutls_strerror(rc) +
            "; encrypted keys are not supported)";
    return nullptr;
  }
  std::string from_key = publicKeyOf(c->key_);
  if (from_key.empty() || from_key != exportKey(c->chain_[0].pubkey)) {
    error = key_file + " is not the private key of the certificate in " + cert_file;
    return nullptr;
  }
  c->not_after_ = expiryOf(c->chain_[0]);
  warnIfWorldReadable(key_file, "a TLS private key");
  return c;
}

TlsCredentials::~TlsCredentials() {
  for (auto& p : chain_) gnutls_pcert_deinit(&p);
  if (key_) gnutls_privkey_deinit(key_);
}

}  // namespace sb::http
