#include "node/tls.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/auth_context.h"
#include "spdlog/spdlog.h"

// grpc_ssl_server_credentials::set_min_tls_version(grpc_tls_version), exported by libgrpc 1.51
// but declared only in an internal header. A non-virtual member function: the Itanium C++ ABI
// passes `this` as the first argument. The object grpc_ssl_server_credentials_create_with_options
// returns is a grpc_ssl_server_credentials, whose only base is grpc_server_credentials, so the
// two pointers are equal. See node/tls.h for why.
extern "C" void
TdsGrpcSslServerCredentialsSetMinTlsVersion(grpc_server_credentials* self, grpc_tls_version version) __asm__(
    "_ZN27grpc_ssl_server_credentials19set_min_tls_versionE16grpc_tls_version");

namespace tds::node {
namespace {

// C++ face of C server credentials, owning one reference.
class CoreServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit CoreServerCredentials(grpc_server_credentials* creds) : creds_(creds) {}
  ~CoreServerCredentials() override { grpc_server_credentials_release(creds_); }

  // The TLS gate is these credentials' processor; a second one would replace it.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    std::fprintf(stderr, "tdsd: TLS server credentials take no other auth metadata processor\n");
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }

  grpc_server_credentials* const creds_;
};

using IdentityPtr = std::shared_ptr<const PeerIdentity>;

// The TLS gate: runs for every call, synchronously, before the handler.
void GateCall(void* state, grpc_auth_context* context, const grpc_metadata* /*md*/,
              size_t /*num_md*/, grpc_process_auth_metadata_done_cb done, void* user_data) {
  const PeerIdentity& identity = **static_cast<IdentityPtr*>(state);
  grpc_auth_property_iterator it =
      grpc_auth_context_find_properties_by_name(context, GRPC_X509_PEM_CERT_PROPERTY_NAME);
  const grpc_auth_property* pem = grpc_auth_property_iterator_next(&it);
  absl::StatusOr<std::string> member =
      pem == nullptr ? absl::UnauthenticatedError("no client certificate")
                     : identity.IdentifyPem(std::string_view(pem->value, pem->value_length));
  if (!member.ok()) {
    const std::string message(member.status().message());
    spdlog::debug("refused a TLS call: {}", message);
    done(user_data, nullptr, 0, nullptr, 0, static_cast<grpc_status_code>(member.status().code()),
         message.c_str());
    return;
  }
  grpc_auth_context_add_property(context, kMemberIdProperty, member->data(), member->size());
  done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
}

void DestroyGate(void* state) { delete static_cast<IdentityPtr*>(state); }

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const TlsMaterial& material, std::shared_ptr<const PeerIdentity> identity) {
  grpc_ssl_pem_key_cert_pair pair;
  pair.private_key = material.identity.key_pem.c_str();
  pair.cert_chain = material.identity.cert_pem.c_str();
  // Copies the PEM strings; the options take ownership of the config, the credentials of the
  // options.
  grpc_ssl_server_certificate_config* config =
      grpc_ssl_server_certificate_config_create(material.ca_pem.c_str(), &pair, 1);
  grpc_ssl_server_credentials_options* options =
      grpc_ssl_server_credentials_create_options_using_config(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, config);
  if (options == nullptr) return absl::InternalError("gRPC refused the TLS server options");
  grpc_server_credentials* creds = grpc_ssl_server_credentials_create_with_options(options);
  if (creds == nullptr) return absl::InternalError("gRPC refused the TLS server credentials");
  TdsGrpcSslServerCredentialsSetMinTlsVersion(creds, grpc_tls_version::TLS1_3);
  grpc_server_credentials_set_auth_metadata_processor(
      creds,
      grpc_auth_metadata_processor{GateCall, DestroyGate, new IdentityPtr(std::move(identity))});
  return std::make_shared<CoreServerCredentials>(creds);
}

std::optional<std::string> CertificateMember(const grpc::ServerContextBase& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) return std::nullopt;
  std::vector<grpc::string_ref> values = auth->FindPropertyValues(kMemberIdProperty);
  if (values.empty()) return std::nullopt;
  return std::string(values.front().data(), values.front().size());
}

}  // namespace tds::node
