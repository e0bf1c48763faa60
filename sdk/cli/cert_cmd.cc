#include "sdk/cli/cert_cmd.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/file.h"
#include "common/x509.h"
#include "ledger/genesis.h"

namespace tds::cli {
namespace {

constexpr char kCaKey[] = "ca.key";
constexpr char kCaCert[] = "ca.crt";

std::string Join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

bool PathExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

// Refuses before writing anything if either file exists; removes the key again if the
// certificate cannot be written, so a failure leaves nothing behind.
int WriteKeyAndCert(const std::string& dir, const std::string& key_path,
                    const std::string& cert_path, const CertifiedKey& out) {
  for (const std::string& p : {key_path, cert_path}) {
    if (PathExists(p)) {
      return Fail(p + " already exists; refusing to overwrite it (choose another --out-dir)");
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail("cannot create directory " + dir + ": " + ec.message());
  if (absl::Status s = WriteFileExclusive(key_path, out.key_pem, 0600); !s.ok()) return Fail(s);
  if (absl::Status s = WriteFileExclusive(cert_path, out.cert_pem, 0644); !s.ok()) {
    ::unlink(key_path.c_str());
    return Fail(s);
  }
  return 0;
}

struct CaArgs {
  std::string out_dir;
  std::string name = "TDS consortium CA";
  int days = 3650;
};

int RunCa(const CaArgs& args) {
  absl::StatusOr<CertifiedKey> ca = CreateCertificateAuthority(args.name, args.days);
  if (!ca.ok()) return Fail(ca.status());
  const std::string key_path = Join(args.out_dir, kCaKey);
  const std::string cert_path = Join(args.out_dir, kCaCert);
  if (int rc = WriteKeyAndCert(args.out_dir, key_path, cert_path, *ca); rc != 0) return rc;
  std::cerr << "wrote " << cert_path << " (give it to every member and node) and " << key_path
            << " (keep it offline: it issues member certificates)\n";
  std::cout << *CertificateFingerprint(ca->cert_pem) << "\n";
  return 0;
}

struct IssueArgs {
  std::string ca_dir;
  std::string member;
  std::string out_dir;
  std::vector<std::string> hosts;
  int days = 825;
};

int RunIssue(const IssueArgs& args) {
  if (!ledger::ValidMemberId(args.member)) {
    return Fail("--member '" + args.member +
                "': a member id is [a-z0-9][a-z0-9._-]{0,63} (the id in the genesis file)");
  }
  absl::StatusOr<std::string> ca_cert = ReadFile(Join(args.ca_dir, kCaCert));
  if (!ca_cert.ok()) return Fail("--ca-dir: " + std::string(ca_cert.status().message()));
  absl::StatusOr<std::string> ca_key = ReadPrivateKeyFile(Join(args.ca_dir, kCaKey), "CA key");
  if (!ca_key.ok()) return Fail("--ca-dir: " + std::string(ca_key.status().message()));
  const CertifiedKey ca(*std::move(ca_key), *std::move(ca_cert));

  CertificateRequest request;
  request.common_name = args.member;
  request.hosts =
      args.hosts.empty() ? std::vector<std::string>{"127.0.0.1", "localhost"} : args.hosts;
  request.days = args.days;
  absl::StatusOr<CertifiedKey> issued = IssueCertificate(ca, request);
  if (!issued.ok()) return Fail(issued.status());
  const std::string key_path = Join(args.out_dir, args.member + ".key");
  const std::string cert_path = Join(args.out_dir, args.member + ".crt");
  if (int rc = WriteKeyAndCert(args.out_dir, key_path, cert_path, *issued); rc != 0) return rc;
  const std::string fp = *CertificateFingerprint(issued->cert_pem);
  std::cerr << "wrote " << cert_path << " and " << key_path
            << "; pin the certificate in the record of member '" << args.member
            << "': tds genesis --member " << args.member << ":ROLES:PUBKEY_HEX:" << fp << "\n";
  std::cout << fp << "\n";
  return 0;
}

int RunFingerprint(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return Fail(pem.status());
  absl::StatusOr<std::string> fp = CertificateFingerprint(*pem);
  if (!fp.ok()) return Fail(path + ": " + std::string(fp.status().message()));
  std::cout << *fp << "\n";
  return 0;
}

}  // namespace

void AddCertCommands(CLI::App& app, Context& ctx) {
  CLI::App* cert = app.add_subcommand(
      "cert", "Mutual-TLS certificates: the consortium CA, member certificates, fingerprints");
  cert->require_subcommand(1);
  cert->footer(
      "Every member's certificate is issued by the consortium CA and its fingerprint is pinned\n"
      "in the member's genesis record (docs/tls.md). Example:\n"
      "  tds cert ca --out-dir ca\n"
      "  tds cert issue --ca-dir ca --member bank --out-dir tls --host 10.0.0.7 --host "
      "bank.example\n"
      "  tds genesis ... --member bank:consumer:$(cat bank.pub):$(tds cert fingerprint "
      "tls/bank.crt)");

  auto ca_args = std::make_shared<CaArgs>();
  CLI::App* ca = cert->add_subcommand(
      "ca",
      "Create the consortium CA: OUT_DIR/ca.key (0600) and OUT_DIR/ca.crt; prints its "
      "fingerprint");
  ca->add_option("--out-dir", ca_args->out_dir, "Directory to write ca.key and ca.crt into")
      ->required();
  ca->add_option("--name", ca_args->name, "The CA's subject CN")->capture_default_str();
  ca->add_option("--days", ca_args->days, "Validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxCertificateDays));
  OnRun(ca, ctx, [ca_args] { return RunCa(*ca_args); });

  auto issue_args = std::make_shared<IssueArgs>();
  CLI::App* issue = cert->add_subcommand(
      "issue",
      "Issue a member's TLS certificate: OUT_DIR/ID.key (0600) and OUT_DIR/ID.crt, CN=ID; "
      "prints the fingerprint to pin in genesis");
  issue->add_option("--ca-dir", issue_args->ca_dir, "Directory holding ca.key and ca.crt")
      ->required();
  issue->add_option("--member", issue_args->member, "Member id: the certificate's CN")->required();
  issue
      ->add_option("--out-dir", issue_args->out_dir,
                   "Directory to write ID.key and ID.crt into (not the one holding the member's "
                   "signing key ID.key)")
      ->required();
  issue
      ->add_option("--host", issue_args->hosts,
                   "IP address or DNS name clients dial this member's node at (repeat; default "
                   "127.0.0.1 and localhost)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  issue->add_option("--days", issue_args->days, "Validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxCertificateDays));
  OnRun(issue, ctx, [issue_args] { return RunIssue(*issue_args); });

  auto file = std::make_shared<std::string>();
  CLI::App* fingerprint = cert->add_subcommand(
      "fingerprint", "Print a certificate's SHA-256 fingerprint (of its DER), as genesis pins it");
  fingerprint->add_option("FILE", *file, "Certificate, PEM")->required();
  OnRun(fingerprint, ctx, [file] { return RunFingerprint(*file); });
}

}  // namespace tds::cli
