#pragma once
// X.509 certificates for mutual TLS (docs/tls.md): the consortium CA, member certificates, and
// the SHA-256 fingerprint a genesis or governance member record pins.
//
// Keys are ECDSA P-256, written as unencrypted PKCS#8 PEM ("PRIVATE KEY"); certificates are
// PEM. A fingerprint is SHA-256 over the certificate's DER encoding, as 64 lowercase hex digits
// (what `openssl x509 -noout -fingerprint -sha256` prints, without colons, lowercased).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tds {

// Validity a new certificate may ask for, in days (1 .. 100 years).
inline constexpr int kMaxCertificateDays = 36500;
// Largest PEM file read as a certificate or key; real ones are a few KiB.
inline constexpr size_t kMaxPemBytes = 64 * 1024;

// A private key and its certificate, both PEM. The key text is wiped on destruction.
struct CertifiedKey {
  CertifiedKey() = default;
  CertifiedKey(std::string key, std::string cert)
      : key_pem(std::move(key)), cert_pem(std::move(cert)) {}
  CertifiedKey(const CertifiedKey&) = default;
  CertifiedKey& operator=(const CertifiedKey&) = default;
  ~CertifiedKey();

  std::string key_pem;
  std::string cert_pem;
};

// A self-signed consortium CA: ECDSA P-256 key; subject and issuer CN=`name`; basicConstraints
// critical CA:TRUE, pathlen:0; keyUsage critical keyCertSign, cRLSign; valid from 5 minutes
// ago (clock skew between members) for `days`. InvalidArgument names a bad name or days.
absl::StatusOr<CertifiedKey> CreateCertificateAuthority(const std::string& name, int days);

struct CertificateRequest {
  // Subject CN; for a member certificate, the member id.
  std::string common_name;
  // subjectAltName entries: an IPv4/IPv6 literal becomes an IP entry, anything else a DNS
  // entry (letters, digits, '-', '.', optionally a leading "*."). At least one.
  std::vector<std::string> hosts;
  int days = 825;
};

// Issues a leaf certificate signed by `ca` (a CertifiedKey from CreateCertificateAuthority):
// new ECDSA P-256 key; basicConstraints critical CA:FALSE; keyUsage critical digitalSignature;
// extendedKeyUsage serverAuth, clientAuth (a node is both); the SANs of `request.hosts`.
// InvalidArgument names the bad field; FailedPrecondition if `ca` is not a usable CA.
absl::StatusOr<CertifiedKey> IssueCertificate(const CertifiedKey& ca,
                                              const CertificateRequest& request);

// What identity checks read from a certificate.
struct CertificateInfo {
  std::string der;          // the DER encoding
  std::string sha256_hex;   // SHA-256 of `der`, 64 lowercase hex digits
  std::string common_name;  // the subject's (last) CN; empty if it has none
};

// Parses the first certificate of a PEM text. InvalidArgument if there is none or it is
// malformed.
absl::StatusOr<CertificateInfo> ParseCertificatePem(std::string_view pem);

// SHA-256 of the first certificate in `pem`, 64 lowercase hex digits.
absl::StatusOr<std::string> CertificateFingerprint(std::string_view pem);

// Whether `s` is a fingerprint as stored in member records: 64 lowercase hex digits.
bool IsCertificateFingerprint(std::string_view s);

// Reads a PEM private key file, refusing one accessible to group or others (like member keys:
// mode 0600). Errors start with `what` and the path: "TLS key /p/bank.key: ...".
absl::StatusOr<std::string> ReadPrivateKeyFile(const std::string& path, std::string_view what);

// FailedPrecondition unless `key_pem` is the private key of the first certificate in
// `cert_pem`.
absl::Status CheckKeyMatchesCertificate(std::string_view cert_pem, std::string_view key_pem);

// FailedPrecondition unless the first certificate in `cert_pem` chains to a CA certificate in
// `ca_pem` and is valid now (OpenSSL's verification: signatures, validity, CA constraints).
// The message carries OpenSSL's reason ("certificate has expired", ...).
absl::Status CheckIssuedBy(std::string_view cert_pem, std::string_view ca_pem);

}  // namespace tds
