#pragma once
// The server side of mutual TLS (docs/tls.md): TLS 1.3 only, a client certificate chained to
// the consortium CA required on every connection, and every call's peer mapped to a current
// member before any service sees the call.
//
// How TLS 1.3 is enforced. gRPC 1.51 (Debian 12) cannot set a protocol version through its
// public API: grpc::experimental::TlsServerCredentialsOptions has no set_min_tls_version (added
// in later releases) and grpc::SslServerCredentialsOptions has none either. The core does have
// the setting — grpc_ssl_server_credentials::set_min_tls_version, an exported, non-inline
// member of the credentials object grpc_ssl_server_credentials_create_with_options returns,
// which the SSL security connector passes to SSL_CTX_set_min_proto_version. tls.cc calls that
// symbol by its mangled name (so a gRPC without it fails to link rather than silently accepting
// TLS 1.2) and wraps the C credentials in a grpc::ServerCredentials of its own. tls_test.cc
// proves the floor with `openssl s_client -tls1_2` (refused) and `-tls1_3` (accepted).
//
// The per-call identity check is a gRPC auth metadata processor (grpc_security.h): it runs for
// every call, after the handshake and before the handler; it hashes the peer certificate
// (auth context property "x509_pem_cert"), asks PeerIdentity for the member, and either fails
// the call UNAUTHENTICATED ("certificate <fp> is not a current member's (...)") or records the
// member id in the call's auth context, where CertificateMember reads it.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/grpc_tls.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "node/peer_identity.h"

namespace tds::node {

// The auth context property holding the member id the TLS gate found for a call.
inline constexpr char kMemberIdProperty[] = "tds_member_id";

// Server credentials presenting `material`'s certificate, requiring and verifying a client
// certificate chained to its CA, refusing protocol versions below TLS 1.3, and gating every call
// through `identity` (above). Internal if gRPC refuses the material.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const TlsMaterial& material, std::shared_ptr<const PeerIdentity> identity);

// The member the TLS gate identified for this call; nullopt on a plaintext (--insecure-dev)
// call, which has no certificate.
std::optional<std::string> CertificateMember(const grpc::ServerContextBase& ctx);

}  // namespace tds::node
