#pragma once
// Mutual-TLS material and the client side of a gRPC channel (docs/tls.md). Shared by the SDK
// (member clients) and tdsd (a follower dialling its validator); the server side, with its
// TLS 1.3 floor and certificate identities, is node/tls.h.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/x509.h"
#include "grpcpp/security/credentials.h"

namespace tds {

// Paths of one party's TLS files: its certificate and private key (`tds cert issue`) and the
// consortium CA certificate (`tds cert ca`).
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string ca;
};

// The loaded, checked files.
struct TlsMaterial {
  CertifiedKey identity;      // this party's key and certificate, PEM
  std::string ca_pem;         // the consortium CA certificate(s)
  CertificateInfo cert_info;  // this party's certificate (fingerprint, CN)
};

// Reads the three files and checks them before anything dials or listens, so a mistake shows up
// as one clear error instead of a failed handshake: the key file is not accessible to group or
// others (like member keys, mode 0600); the key matches the certificate; the certificate
// chains to the CA and is valid now. Errors name the file: "TLS key /p/bank.key: ...".
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files);

// Client credentials over `material`: presents its certificate, trusts only its CA (never the
// system roots), and checks that the server's certificate names the host being dialled
// (subjectAltName: DNS name or IP address of the target's HOST). A tdsd refuses protocol
// versions below TLS 1.3, so every connection these credentials complete to a node is TLS 1.3
// (gRPC 1.51 has no client-side version setting; see docs/tls.md).
std::shared_ptr<grpc::ChannelCredentials> TlsChannelCredentials(const TlsMaterial& material);

}  // namespace tds
