// Mutual TLS in process (docs/tls.md): a real Server on 127.0.0.1:0 with a consortium CA and
// members' certificates pinned in genesis, the SDK as the client, and `openssl s_client` for
// the protocol-version floor.

#include "node/tls.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/file.h"
#include "common/grpc_tls.h"
#include "common/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/genesis.h"
#include "ledger/test_util.h"
#include "node/in_process_test.h"
#include "node/server.h"
#include "sdk/client.h"
#include "sdk/query_client.h"
#include "sdk/tx_builders.h"

namespace tds::node {
namespace {

using ledger::testing::KeyFromByte;
using ledger::testing::TempDir;
using testing::FromYaml;
using ::testing::HasSubstr;
using testing::kProductYaml;
using testing::kTermsYaml;

// Member ids and their signing keys (KeyFromByte). zj's record pins no certificate (matched by
// CN); the others pin theirs. mallory holds a certificate of the consortium CA but is no member.
const std::map<std::string, uint8_t> kKeyByte = {{"node", 1}, {"bank", 2}, {"zj", 3}, {"audit", 4}};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CertifiedKey> ca = CreateCertificateAuthority("TDS test consortium", 2);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    ASSERT_TRUE(WriteFileExclusive(dir_.Sub("ca.crt"), ca_.cert_pem, 0644).ok());
    for (const std::string id : {"node", "bank", "zj", "audit", "mallory"}) Issue(ca_, id, id);

    // A second CA, and a certificate it issued claiming to be bank. The client trusts both CAs
    // (so its own checks pass and the node's refusal is what the test sees).
    absl::StatusOr<CertifiedKey> other = CreateCertificateAuthority("Some other CA", 2);
    ASSERT_TRUE(other.ok());
    Issue(*other, "bank", "foreign-bank");
    ASSERT_TRUE(
        WriteFileExclusive(dir_.Sub("both-cas.crt"), ca_.cert_pem + other->cert_pem, 0644).ok());

    std::vector<std::string> specs = {
        "node:validator:" + Pub("node") + ":" + fingerprints_["node"],
        "bank:consumer:" + Pub("bank") + ":" + fingerprints_["bank"], "zj:provider:" + Pub("zj"),
        "audit:auditor:" + Pub("audit") + ":" + fingerprints_["audit"]};
    absl::StatusOr<std::string> genesis = ledger::BuildGenesisJson("tds-tls-test", specs);
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    ASSERT_TRUE(WriteFileAtomic(dir_.Sub("genesis.json"), *genesis).ok());
    ASSERT_TRUE(KeyFromByte(1)->WriteToFile(dir_.Sub("node.key")).ok());

    config_.set_data(dir_.Sub("data"));
    config_.set_genesis(dir_.Sub("genesis.json"));
    config_.set_key(dir_.Sub("node.key"));
    config_.set_listen("127.0.0.1:0");
    SetTls(config_.mutable_tls(), "node");
    StartServer();
  }

  static std::string Pub(const std::string& id) {
    return KeyFromByte(kKeyByte.at(id))->public_key().hex();
  }

  // Writes DIR/tls/<file>.{key,crt}: a certificate for CN=`cn` issued by `ca`.
  void Issue(const CertifiedKey& ca, const std::string& cn, const std::string& file,
             std::vector<std::string> hosts = {"127.0.0.1", "localhost"}) {
    absl::StatusOr<CertifiedKey> c = IssueCertificate(ca, {cn, std::move(hosts), 2});
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(WriteFileExclusive(Key(file), c->key_pem, 0600).ok());
    ASSERT_TRUE(WriteFileExclusive(Cert(file), c->cert_pem, 0644).ok());
    fingerprints_[file] = *CertificateFingerprint(c->cert_pem);
  }

  std::string Key(const std::string& file) const { return dir_.Sub("tls-" + file + ".key"); }
  std::string Cert(const std::string& file) const { return dir_.Sub("tls-" + file + ".crt"); }

  void SetTls(tds::TlsConfig* tls, const std::string& file) const {
    tls->set_cert(Cert(file));
    tls->set_key(Key(file));
    tls->set_ca(dir_.Sub("ca.crt"));
  }

  void StartServer() {
    ASSERT_TRUE(FinalizeConfig(&config_).ok());
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->address().substr(server_->address().rfind(':') + 1);
  }

  sdk::ClientOptions Options(const std::string& file, const std::string& ca = "ca.crt") const {
    sdk::ClientOptions o;
    o.address = server_->address();
    o.tls_cert = Cert(file);
    o.tls_key = Key(file);
    o.tls_ca = dir_.Sub(ca);
    o.timeout_ms = 20000;
    return o;
  }

  std::unique_ptr<sdk::LedgerClient> LedgerAs(const sdk::ClientOptions& o) {
    absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> c = sdk::LedgerClient::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  std::unique_ptr<sdk::LedgerClient> LedgerAs(const std::string& file) {
    return LedgerAs(Options(file));
  }

  // A query client over `file`'s certificate that signs no `auth`.
  std::unique_ptr<sdk::QueryClient> QueryAs(const std::string& file) {
    absl::StatusOr<std::unique_ptr<sdk::QueryClient>> c = sdk::QueryClient::Connect(Options(file));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // Signs with `id`'s key and submits over `id`'s certificate.
  absl::StatusOr<tds::SubmitResponse> Submit(const std::string& id, const sdk::TxBody& tx) {
    return LedgerAs(id)->Submit(
        sdk::BuildTransaction(*KeyFromByte(kKeyByte.at(id)), id, tx.type, tx.body));
  }

  // An ACTIVE contract bank <- zj on "invoices", every step over the signer's own certificate.
  std::string ActiveContract() {
    EXPECT_TRUE(Submit("zj", sdk::PublishProduct(FromYaml<tds::Product>(kProductYaml))).ok());
    absl::StatusOr<tds::SubmitResponse> req =
        Submit("bank", sdk::RequestContract("invoices", FromYaml<tds::Terms>(kTermsYaml)));
    EXPECT_TRUE(req.ok()) << req.status();
    const std::string id = req->result();
    tds::GetContractRequest get;
    get.set_contract_id(id);
    absl::StatusOr<tds::GetContractResponse> c = QueryAs("zj")->GetContract(get);
    EXPECT_TRUE(c.ok()) << c.status();
    absl::StatusOr<tds::SubmitResponse> accept =
        Submit("zj", sdk::AcceptContract(id, c->contract().terms_digest()));
    EXPECT_TRUE(accept.ok()) << accept.status();
    return id;
  }

  // Runs `openssl s_client` against the server with bank's certificate, offering HTTP/2 as gRPC
  // clients do, and closing once the handshake is done; returns its exit code and leaves its
  // output in *log.
  int SClient(const std::string& version_flag, std::string* log) {
    const std::string out = dir_.Sub("s_client" + version_flag + ".log");
    const std::string cmd =
        "timeout 30 openssl s_client " + version_flag + " -alpn h2 -connect 127.0.0.1:" + port_ +
        " -servername localhost -cert " + Cert("bank") + " -key " + Key("bank") + " -CAfile " +
        dir_.Sub("ca.crt") + " -verify_return_error </dev/null >" + out + " 2>&1";
    const int status = std::system(cmd.c_str());
    *log = ReadFile(out).value_or("");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  TempDir dir_;
  CertifiedKey ca_;
  std::map<std::string, std::string> fingerprints_;
  tds::NodeConfig config_;
  std::unique_ptr<Server> server_;
  std::string port_;
};

void ExpectCode(const absl::Status& s, absl::StatusCode code, const std::string& text = "") {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(text));
}

TEST_F(TlsTest, MembersCertificatesIssuedByTheCaCompleteTheHandshake) {
  for (const std::string id : {"node", "bank", "audit", "zj"}) {
    absl::StatusOr<tds::GetStatusResponse> status = LedgerAs(id)->GetStatus();
    EXPECT_TRUE(status.ok()) << id << ": " << status.status();
  }
}

TEST_F(TlsTest, NodeIsReachedByAnyHostItsCertificateNames) {
  sdk::ClientOptions o = Options("bank");
  o.address = "localhost:" + port_;  // DNS SAN; 127.0.0.1 (IP SAN) is the default address
  EXPECT_TRUE(LedgerAs(o)->GetStatus().ok());
}

TEST_F(TlsTest, ClientCertificateOfAnotherCaIsRefusedInTheHandshake) {
  absl::StatusOr<tds::GetStatusResponse> status =
      LedgerAs(Options("foreign-bank", "both-cas.crt"))->GetStatus();
  ExpectCode(status.status(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, CertificateOfTheCaThatNoMemberOwnsIsRefusedNamingIt) {
  const std::string expected =
      "certificate " + fingerprints_["mallory"] + " is not a current member's";
  ExpectCode(LedgerAs("mallory")->GetStatus().status(), absl::StatusCode::kUnauthenticated,
             expected);
  ExpectCode(QueryAs("mallory")->SearchProducts({}).status(), absl::StatusCode::kUnauthenticated,
             expected);
  // Nor may it submit, even a transaction properly signed by a member.
  sdk::TxBody publish = sdk::PublishProduct(FromYaml<tds::Product>(kProductYaml));
  absl::StatusOr<tds::SubmitResponse> ack = LedgerAs("mallory")->Submit(
      sdk::BuildTransaction(*KeyFromByte(3), "zj", publish.type, publish.body));
  ExpectCode(ack.status(), absl::StatusCode::kUnauthenticated, expected);
}

TEST_F(TlsTest, AnotherCertificateWithAPinnedMembersCnIsRefused) {
  // Issued by the consortium CA for "bank", but bank's record pins its first certificate.
  Issue(ca_, "bank", "bank-second");
  ExpectCode(LedgerAs("bank-second")->GetStatus().status(), absl::StatusCode::kUnauthenticated,
             "certificate " + fingerprints_["bank-second"] +
                 " is not a current member's (member 'bank' pins certificate " +
                 fingerprints_["bank"] + ")");
}

TEST_F(TlsTest, PlaintextClientCannotTalkToATlsNode) {
  sdk::ClientOptions o;
  o.address = server_->address();
  o.insecure_dev = true;
  o.timeout_ms = 20000;
  ExpectCode(LedgerAs(o)->GetStatus().status(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, QueriesAreAnsweredAsTheCertificatesMember) {
  const std::string id = ActiveContract();
  // No `auth` bytes at all: the certificate is the identity.
  tds::ListContractsRequest all;
  absl::StatusOr<tds::ListContractsResponse> bank = QueryAs("bank")->ListContracts(all);
  ASSERT_TRUE(bank.ok()) << bank.status();
  ASSERT_EQ(bank->contracts_size(), 1);
  EXPECT_EQ(bank->contracts(0).id(), id);

  // The auditor reads everything; the consumer only its own contracts.
  tds::ListContractsRequest of_zj;
  of_zj.set_party("zj");
  absl::StatusOr<tds::ListContractsResponse> audit = QueryAs("audit")->ListContracts(of_zj);
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->contracts_size(), 1);
  ExpectCode(QueryAs("bank")->ListContracts(of_zj).status(), absl::StatusCode::kPermissionDenied,
             "member 'bank' may list only its own contracts, not those of 'zj'");
  // The node's own (validator) certificate reads everything too; zj is matched by its CN.
  EXPECT_EQ(QueryAs("node")->ListContracts(of_zj)->contracts_size(), 1);
  EXPECT_EQ(QueryAs("zj")->ListContracts(all)->contracts_size(), 1);

  tds::GetContractRequest get;
  get.set_contract_id(id);
  EXPECT_TRUE(QueryAs("audit")->GetContract(get).ok());
  tds::ListUsageRequest usage;
  usage.set_provider("zj");
  usage.set_consumer("bank");
  EXPECT_TRUE(QueryAs("audit")->ListUsage(usage).ok());
}

TEST_F(TlsTest, SignedIdentityMustNameTheCertificatesMember) {
  ActiveContract();
  tds::ListContractsRequest of_zj;
  of_zj.set_party("zj");
  // bank's connection, the auditor's signed identity (a replayed one, say).
  std::unique_ptr<sdk::QueryClient> q = QueryAs("bank");
  std::unique_ptr<SigningKey> audit_key = KeyFromByte(4);
  q->SetIdentity(audit_key.get(), "audit");
  ExpectCode(q->ListContracts(of_zj).status(), absl::StatusCode::kPermissionDenied,
             "auth: the query is signed as member 'audit' but the TLS certificate identifies "
             "member 'bank'");
  // Its own signed identity agrees.
  std::unique_ptr<SigningKey> bank_key = KeyFromByte(2);
  q->SetIdentity(bank_key.get(), "bank");
  EXPECT_EQ(q->ListContracts({})->contracts_size(), 1);
}

TEST_F(TlsTest, GovernanceAdmitsAndRemovesCertificatesFromTheBlockThatDecides) {
  // insurer's certificate is issued, but insurer is no member yet.
  Issue(ca_, "insurer", "insurer");
  ExpectCode(LedgerAs("insurer")->GetStatus().status(), absl::StatusCode::kUnauthenticated,
             "certificate " + fingerprints_["insurer"] + " is not a current member's");

  // Admitted with its certificate pinned: 3 of the 4 members approve.
  tds::Member insurer;
  insurer.set_id("insurer");
  insurer.set_name("insurer");
  insurer.add_roles("consumer");
  insurer.set_public_key(KeyFromByte(5)->public_key().hex());
  insurer.set_tls_cert_sha256(fingerprints_["insurer"]);
  absl::StatusOr<tds::SubmitResponse> proposed =
      Submit("bank", sdk::ProposeAddMember(insurer, "joins", 0));
  ASSERT_TRUE(proposed.ok()) << proposed.status();
  const uint64_t id = std::stoull(proposed->result());
  ASSERT_TRUE(Submit("audit", sdk::Vote(id, true)).ok());
  absl::StatusOr<tds::SubmitResponse> admitted = Submit("node", sdk::Vote(id, true));
  ASSERT_TRUE(admitted.ok()) << admitted.status();
  EXPECT_EQ(admitted->result(), "PROPOSAL_PASSED");
  EXPECT_TRUE(LedgerAs("insurer")->GetStatus().ok());

  // Removed again (4 of now 5 approve): its certificate stops working at once, no restart.
  proposed = Submit("bank", sdk::ProposeRemoveMember("insurer", "leaves", 0));
  ASSERT_TRUE(proposed.ok()) << proposed.status();
  const uint64_t removal = std::stoull(proposed->result());
  ASSERT_TRUE(Submit("audit", sdk::Vote(removal, true)).ok());
  ASSERT_TRUE(Submit("node", sdk::Vote(removal, true)).ok());
  absl::StatusOr<tds::SubmitResponse> passed = Submit("zj", sdk::Vote(removal, true));
  ASSERT_TRUE(passed.ok()) << passed.status();
  EXPECT_EQ(passed->result(), "PROPOSAL_PASSED");
  ExpectCode(LedgerAs("insurer")->GetStatus().status(), absl::StatusCode::kUnauthenticated,
             "certificate " + fingerprints_["insurer"] + " is not a current member's");
}

TEST_F(TlsTest, Tls12ClientIsRefusedAndTls13Accepted) {
  std::string log;
  ASSERT_EQ(std::system("openssl version >/dev/null 2>&1"), 0) << "the openssl CLI is needed";
  EXPECT_NE(SClient("-tls1_2", &log), 0) << log;
  EXPECT_THAT(log, HasSubstr("Cipher is (NONE)")) << log;  // no session was established
  EXPECT_EQ(SClient("-tls1_3", &log), 0) << log;
  EXPECT_THAT(log, HasSubstr("TLSv1.3"));
}

TEST_F(TlsTest, ClientRefusesANodeCertificateNotNamingTheDialledHost) {
  server_.reset();
  Issue(ca_, "node", "node-elsewhere", {"10.9.9.9", "node.example"});
  SetTls(config_.mutable_tls(), "node-elsewhere");
  StartServer();
  ExpectCode(LedgerAs("bank")->GetStatus().status(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, StartRefusesTlsFilesThatDoNotCheckOut) {
  server_.reset();
  auto refused = [&](const std::string& text) {
    absl::StatusOr<std::unique_ptr<Server>> s = Server::Start(config_);
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(text));
  };
  config_.mutable_tls()->set_key(Key("bank"));
  refused("is not the key of TLS certificate " + Cert("node"));
  SetTls(config_.mutable_tls(), "foreign-bank");
  refused("does not verify against TLS CA " + dir_.Sub("ca.crt"));
  SetTls(config_.mutable_tls(), "node");
  ASSERT_EQ(::chmod(Key("node").c_str(), 0640), 0);
  refused("accessible to group or others (mode 0640)");
  ASSERT_EQ(::chmod(Key("node").c_str(), 0600), 0);
  config_.mutable_tls()->set_ca(dir_.Sub("missing.crt"));
  refused("TLS CA: open " + dir_.Sub("missing.crt"));
}

TEST_F(TlsTest, ConsoleIsServedWithTheNodesCertificateAndOnlyWithTls) {
  tds::NodeConfig plaintext = config_;
  plaintext.clear_tls();
  plaintext.set_insecure_dev(true);
  plaintext.set_console_listen("127.0.0.1:0");
  ExpectCode(FinalizeConfig(&plaintext), absl::StatusCode::kInvalidArgument,
             "--console-listen (`console_listen`): the web console is served over HTTPS");
  tds::NodeConfig bad = config_;
  bad.set_console_listen("nowhere");
  ExpectCode(FinalizeConfig(&bad), absl::StatusCode::kInvalidArgument, "console_listen");

  server_.reset();
  config_.set_console_listen("127.0.0.1:0");
  StartServer();
  const std::string console = server_->console_address();
  ASSERT_FALSE(console.empty());
  EXPECT_NE(console, "127.0.0.1:0");
  absl::StatusOr<tds::NodeStatus> status = QueryAs("bank")->GetNodeStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->console_address(), console);
  // The console presents the node's certificate: a client trusting only the consortium CA and
  // checking the name completes TLS 1.3 and gets the page.
  ASSERT_TRUE(
      WriteFileAtomic(dir_.Sub("get.txt"), "GET / HTTP/1.1\r\nHost: " + console + "\r\n\r\n").ok());
  const std::string cmd = "timeout 30 openssl s_client -quiet -tls1_3 -connect " + console +
                          " -CAfile " + dir_.Sub("ca.crt") +
                          " -verify_ip 127.0.0.1 -verify_return_error <" + dir_.Sub("get.txt") +
                          " >" + dir_.Sub("console.log") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  const std::string out = ReadFile(dir_.Sub("console.log")).value_or("");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(out, HasSubstr("Content-Security-Policy: default-src 'self'"));
}

TEST_F(TlsTest, ConfigNeedsAllThreeFilesUnlessInsecureDevAndNeverBoth) {
  tds::NodeConfig config = config_;
  config.set_insecure_dev(true);
  ExpectCode(FinalizeConfig(&config), absl::StatusCode::kInvalidArgument,
             "cannot be combined with --tls-cert/--tls-key/--tls-ca");
  config = config_;
  config.mutable_tls()->clear_key();
  ExpectCode(FinalizeConfig(&config), absl::StatusCode::kInvalidArgument,
             "no TLS private key: pass --tls-key or set `tls.key`");
  config.mutable_tls()->clear_ca();
  config.mutable_tls()->clear_cert();
  ExpectCode(FinalizeConfig(&config), absl::StatusCode::kInvalidArgument,
             "no TLS certificate: pass --tls-cert or set `tls.cert`");
  config.set_insecure_dev(true);
  EXPECT_TRUE(FinalizeConfig(&config).ok());

  sdk::ClientOptions o = Options("bank");
  o.insecure_dev = true;
  ExpectCode(sdk::LedgerClient::Connect(o).status(), absl::StatusCode::kInvalidArgument,
             "cannot be combined");
  o = Options("bank");
  o.tls_ca.clear();
  ExpectCode(sdk::LedgerClient::Connect(o).status(), absl::StatusCode::kInvalidArgument,
             "no TLS consortium CA certificate: pass --tls-ca");
}

}  // namespace
}  // namespace tds::node
