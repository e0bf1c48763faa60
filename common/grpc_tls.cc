#include "common/grpc_tls.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace tds {
namespace {

absl::Status Named(const std::string& what, const std::string& path, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(what, " ", path, ": ", std::string(s.message())));
}

absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": no file given"));
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat(what, ": ", std::string(text.status().message())));
  }
  if (text->size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": ", text->size(),
                                                   " bytes exceeds the limit of ", kMaxPemBytes));
  }
  return text;
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files) {
  TlsMaterial m;
  absl::StatusOr<std::string> cert = ReadPem("TLS certificate", files.cert);
  if (!cert.ok()) return cert.status();
  if (files.key.empty()) return absl::InvalidArgumentError("TLS key: no file given");
  absl::StatusOr<std::string> key = ReadPrivateKeyFile(files.key, "TLS key");
  if (!key.ok()) return key.status();
  m.identity = CertifiedKey(*std::move(key), *std::move(cert));
  absl::StatusOr<std::string> ca = ReadPem("TLS CA", files.ca);
  if (!ca.ok()) return ca.status();
  m.ca_pem = *std::move(ca);

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(m.identity.cert_pem);
  if (!info.ok()) return Named("TLS certificate", files.cert, info.status());
  m.cert_info = *std::move(info);
  if (absl::Status s = CheckKeyMatchesCertificate(m.identity.cert_pem, m.identity.key_pem);
      !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("TLS key ", files.key, " is not the key of TLS certificate ",
                                     files.cert, ": ", std::string(s.message())));
  }
  if (absl::Status s = CheckIssuedBy(m.identity.cert_pem, m.ca_pem); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("TLS certificate ", files.cert, " does not verify against TLS CA ",
                               files.ca, ": ", std::string(s.message())));
  }
  return m;
}

std::shared_ptr<grpc::ChannelCredentials> TlsChannelCredentials(const TlsMaterial& material) {
  using grpc::experimental::IdentityKeyCertPair;
  std::vector<IdentityKeyCertPair> identity = {
      IdentityKeyCertPair{material.identity.key_pem, material.identity.cert_pem}};
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      material.ca_pem, identity);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(std::move(provider));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // Chain to the CA, then the default hostname verifier: the server's SAN must name the host.
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace tds
