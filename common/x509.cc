#include "common/x509.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/file.h"
#include "common/sha256.h"

namespace tds {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

// Certificates are valid from this long before their issue, for clocks that lag the issuer's.
constexpr long kBackdateSeconds = 5 * 60;
// RFC 5280 upper bound of a CN.
constexpr size_t kMaxCommonNameBytes = 64;

// The reason of the most recent OpenSSL error (and clears the queue), for messages.
std::string OpenSslReason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? reason : absl::StrCat("OpenSSL error ", last);
}

absl::Status Internal(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", OpenSslReason()));
}

BioPtr MemoryBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

absl::Status CheckPemSize(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ", pem.size(),
                                                   " bytes exceeds the limit of ", kMaxPemBytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<X509Ptr> ReadCertificate(std::string_view pem) {
  if (absl::Status s = CheckPemSize(pem, "certificate"); !s.ok()) return s;
  BioPtr bio = MemoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM certificate (", OpenSslReason(), ")"));
  }
  return cert;
}

absl::StatusOr<KeyPtr> ReadKey(std::string_view pem) {
  if (absl::Status s = CheckPemSize(pem, "private key"); !s.ok()) return s;
  BioPtr bio = MemoryBio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an unencrypted PEM private key (", OpenSslReason(), ")"));
  }
  return key;
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return Internal("writing the private key");
  }
  return BioText(bio.get());  // the BIO's buffer is cleared when freed
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return Internal("writing the certificate");
  return BioText(bio.get());
}

absl::StatusOr<KeyPtr> NewP256Key() {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return Internal("generating an ECDSA P-256 key");
  return key;
}

// One line of printable text, 1..64 bytes (a CN).
absl::Status CheckCommonName(const std::string& cn, std::string_view what) {
  if (cn.empty() || cn.size() > kMaxCommonNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": must be 1..",
                                                   kMaxCommonNameBytes, " bytes, got ", cn.size()));
  }
  for (unsigned char c : cn) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(what), ": control characters are not allowed"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDays(int days) {
  if (days < 1 || days > kMaxCertificateDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("days: must be 1..", kMaxCertificateDays, ", got ", days));
  }
  return absl::OkStatus();
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A DNS name for a SAN: labels of letters, digits and '-', dot-separated; an optional leading
// "*." wildcard label.
bool IsDnsName(std::string_view host) {
  if (host.size() >= 2 && host.substr(0, 2) == "*.") host.remove_prefix(2);
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

absl::StatusOr<std::string> SubjectAltNames(const std::vector<std::string>& hosts) {
  if (hosts.empty()) return absl::InvalidArgumentError("hosts: at least one host is required");
  std::vector<std::string> entries;
  for (const std::string& h : hosts) {
    if (IsIpLiteral(h)) {
      entries.push_back("IP:" + h);
    } else if (IsDnsName(h)) {
      entries.push_back("DNS:" + h);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("host '", h, "': expected an IP address or a DNS name"));
    }
  }
  return absl::StrJoin(entries, ",");
}

// Adds one extension in OpenSSL's config syntax (`value` as in openssl x509v3_config).
absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (ext == nullptr || !X509_add_ext(cert, ext.get(), -1)) {
    return Internal(absl::StrCat("certificate extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

// A v3 certificate for `key` named CN=`cn`, serial random, valid from now - backdate for
// `days`, issuer name and extensions still to be set.
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, const std::string& cn, int days) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || !X509_set_version(cert.get(), X509_VERSION_3)) {
    return Internal("new certificate");
  }
  // 127-bit positive serial (RFC 5280: positive, at most 20 octets, unpredictable).
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return Internal("random serial number");
  serial[0] = (serial[0] & 0x7f) | 0x01;
  BignumPtr bn(BN_bin2bn(serial, sizeof(serial), nullptr));
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Internal("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr) {
    return Internal("validity");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0)) {
    return Internal("subject name");
  }
  if (!X509_set_pubkey(cert.get(), key)) return Internal("public key");
  return cert;
}

}  // namespace

CertifiedKey::~CertifiedKey() {
  if (!key_pem.empty()) OPENSSL_cleanse(key_pem.data(), key_pem.size());
}

absl::StatusOr<CertifiedKey> CreateCertificateAuthority(const std::string& name, int days) {
  if (absl::Status s = CheckCommonName(name, "CA name"); !s.ok()) return s;
  if (absl::Status s = CheckDays(days); !s.ok()) return s;
  absl::StatusOr<KeyPtr> key = NewP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert = NewCertificate(key->get(), name, days);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();
  if (!X509_set_issuer_name(x, X509_get_subject_name(x))) return Internal("issuer name");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"}}) {
    if (absl::Status s = AddExtension(x, &ctx, nid, value); !s.ok()) return s;
  }
  if (X509_sign(x, key->get(), EVP_sha256()) == 0) return Internal("signing the CA certificate");
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem = CertPem(x);
  if (!cert_pem.ok()) return cert_pem.status();
  return CertifiedKey(*std::move(key_pem), *std::move(cert_pem));
}

absl::StatusOr<CertifiedKey> IssueCertificate(const CertifiedKey& ca,
                                              const CertificateRequest& request) {
  if (absl::Status s = CheckCommonName(request.common_name, "common name"); !s.ok()) return s;
  if (absl::Status s = CheckDays(request.days); !s.ok()) return s;
  absl::StatusOr<std::string> sans = SubjectAltNames(request.hosts);
  if (!sans.ok()) return sans.status();

  absl::StatusOr<X509Ptr> ca_cert = ReadCertificate(ca.cert_pem);
  if (!ca_cert.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("CA certificate: ", std::string(ca_cert.status().message())));
  }
  absl::StatusOr<KeyPtr> ca_key = ReadKey(ca.key_pem);
  if (!ca_key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("CA key: ", std::string(ca_key.status().message())));
  }
  if (X509_check_ca(ca_cert->get()) < 1) {
    return absl::FailedPreconditionError("CA certificate: not a CA (basicConstraints CA:TRUE)");
  }
  if (X509_check_private_key(ca_cert->get(), ca_key->get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError("CA key: does not match the CA certificate");
  }

  absl::StatusOr<KeyPtr> key = NewP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert = NewCertificate(key->get(), request.common_name, request.days);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();
  if (!X509_set_issuer_name(x, X509_get_subject_name(ca_cert->get()))) {
    return Internal("issuer name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert->get(), x, nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       std::vector<std::pair<int, std::string>>{{NID_basic_constraints, "critical,CA:FALSE"},
                                                {NID_key_usage, "critical,digitalSignature"},
                                                {NID_ext_key_usage, "serverAuth,clientAuth"},
                                                {NID_subject_alt_name, *sans},
                                                {NID_subject_key_identifier, "hash"},
                                                {NID_authority_key_identifier, "keyid:always"}}) {
    if (absl::Status s = AddExtension(x, &ctx, nid, value); !s.ok()) return s;
  }
  if (X509_sign(x, ca_key->get(), EVP_sha256()) == 0) return Internal("signing the certificate");
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem = CertPem(x);
  if (!cert_pem.ok()) return cert_pem.status();
  return CertifiedKey(*std::move(key_pem), *std::move(cert_pem));
}

absl::StatusOr<CertificateInfo> ParseCertificatePem(std::string_view pem) {
  absl::StatusOr<X509Ptr> cert = ReadCertificate(pem);
  if (!cert.ok()) return cert.status();
  CertificateInfo info;
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert->get(), &der);
  if (n <= 0) return Internal("DER encoding");
  info.der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  info.sha256_hex = HexEncode(Sha256(info.der));

  const X509_NAME* subject = X509_get_subject_name(cert->get());
  int last = -1;
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    last = i;
  }
  if (last >= 0) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) return absl::InvalidArgumentError("certificate: subject CN is not valid text");
    info.common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return info;
}

absl::StatusOr<std::string> CertificateFingerprint(std::string_view pem) {
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(pem);
  if (!info.ok()) return info.status();
  return std::move(info->sha256_hex);
}

bool IsCertificateFingerprint(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<std::string> ReadPrivateKeyFile(const std::string& path, std::string_view what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(std::string(what), " ", path));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::FailedPreconditionError(absl::StrCat(std::string(what), " ", path,
                                                      ": accessible to group or others (mode ",
                                                      mode, "); run chmod 600 ", path));
  }
  if (st.st_size > static_cast<off_t>(kMaxPemBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " ", path, ": ", st.st_size,
                                                   " bytes exceeds the limit of ", kMaxPemBytes));
  }
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(std::string(what), ": ",
                                                           std::string(text.status().message())));
  }
  return text;
}

absl::Status CheckKeyMatchesCertificate(std::string_view cert_pem, std::string_view key_pem) {
  absl::StatusOr<X509Ptr> cert = ReadCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<KeyPtr> key = ReadKey(key_pem);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError("the private key does not match the certificate");
  }
  return absl::OkStatus();
}

absl::Status CheckIssuedBy(std::string_view cert_pem, std::string_view ca_pem) {
  absl::StatusOr<X509Ptr> cert = ReadCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  if (absl::Status s = CheckPemSize(ca_pem, "CA certificates"); !s.ok()) return s;
  StorePtr store(X509_STORE_new());
  BioPtr bio = MemoryBio(ca_pem);
  int anchors = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509Ptr owned(ca);
    if (!X509_STORE_add_cert(store.get(), ca)) return Internal("CA store");
    ++anchors;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (anchors == 0) return absl::InvalidArgumentError("CA file: no PEM certificate in it");
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr || !X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr)) {
    return Internal("verification context");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat("certificate verification failed: ", X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

}  // namespace tds
