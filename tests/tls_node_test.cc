// Mutual TLS with real processes (docs/tls.md): certificates made by `tds cert`, pinned by
// `tds genesis`, a validator and a follower tdsd over mTLS, members talking to them with the
// `tds` CLI and the SDK; and tdsd's refusal to start without TLS files or --insecure-dev.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "common/file.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "sdk/client.h"
#include "tests/test_util.h"

namespace tds::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Exit code of tdsd for usage errors (node/main.cc).
constexpr int kExitUsage = 2;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// A consortium made entirely with the CLI: keys (`tds keygen`), a CA and member certificates
// (`tds cert`), a genesis pinning them (`tds genesis`); a validator and a follower.
class TlsNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tls_ = dir_.File("tls");
    CommandResult ca = RunTds({"cert", "ca", "--out-dir", dir_.File("ca"), "--name", "Demo CA"});
    ASSERT_EQ(ca.exit_code, 0) << ca.Describe();
    std::vector<std::string> specs;
    for (const auto& [id, roles] : std::vector<std::pair<std::string, std::string>>{
             {"validator-1", "validator"}, {"bureau", "provider"}, {"bank", "consumer"}}) {
      CommandResult key = RunTds({"keygen", "--out", dir_.File(id + ".key")});
      ASSERT_EQ(key.exit_code, 0) << key.Describe();
      CommandResult cert =
          RunTds({"cert", "issue", "--ca-dir", dir_.File("ca"), "--member", id, "--out-dir", tls_});
      ASSERT_EQ(cert.exit_code, 0) << cert.Describe();
      fingerprints_[id] = Trim(cert.out);
      specs.insert(specs.end(),
                   {"--member", id + ":" + roles + ":" + Trim(key.out) + ":" + fingerprints_[id]});
    }
    genesis_ = dir_.File("genesis.json");
    std::vector<std::string> args = {"genesis", "--origin", "tls.tds.test", "--out", genesis_};
    args.insert(args.end(), specs.begin(), specs.end());
    CommandResult g = RunTds(args);
    ASSERT_EQ(g.exit_code, 0) << g.Describe();
  }

  Node::Options NodeOptions(const std::string& member) {
    Node::Options o;
    o.data_dir = dir_.File(member + "-data");
    o.genesis = genesis_;
    o.key = dir_.File(member + ".key");
    o.work_dir = dir_.File(member + "-work");
    std::filesystem::create_directories(o.work_dir);
    o.tls_cert = tls_ + "/" + member + ".crt";
    o.tls_key = tls_ + "/" + member + ".key";
    o.tls_ca = dir_.File("ca/ca.crt");
    return o;
  }

  std::unique_ptr<Node> StartNode(const Node::Options& o) {
    absl::StatusOr<std::unique_ptr<Node>> n = Node::Start(o);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? std::move(*n) : nullptr;
  }

  // tds --node ADDR --tls-* (member's files) [--key KEY] ARGS...
  CommandResult TdsAs(const Node& node, const std::string& member, std::vector<std::string> args,
                      bool sign = false) {
    std::vector<std::string> full = {"--node",     node.address(),
                                     "--tls-cert", tls_ + "/" + member + ".crt",
                                     "--tls-key",  tls_ + "/" + member + ".key",
                                     "--tls-ca",   dir_.File("ca/ca.crt")};
    if (sign) full.insert(full.end(), {"--key", dir_.File(member + ".key")});
    full.insert(full.end(), args.begin(), args.end());
    return RunTds(full);
  }

  std::unique_ptr<sdk::LedgerClient> ClientAs(const Node& node, const std::string& member) {
    sdk::ClientOptions o;
    o.address = node.address();
    o.tls_cert = tls_ + "/" + member + ".crt";
    o.tls_key = tls_ + "/" + member + ".key";
    o.tls_ca = dir_.File("ca/ca.crt");
    o.timeout_ms = 20000;
    absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> c = sdk::LedgerClient::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  TempDir dir_;
  std::string tls_;
  std::string genesis_;
  std::map<std::string, std::string> fingerprints_;
};

TEST_F(TlsNodeTest, CertCommandsWritePrivateKeysPrintFingerprintsAndNeverOverwrite) {
  EXPECT_EQ(ModeOf(dir_.File("ca/ca.key")), 0600u);
  EXPECT_EQ(ModeOf(tls_ + "/bank.key"), 0600u);
  EXPECT_THAT(fingerprints_["bank"], MatchesRegex("[0-9a-f]{64}"));
  CommandResult fp = RunTds({"cert", "fingerprint", tls_ + "/bank.crt"});
  ASSERT_EQ(fp.exit_code, 0) << fp.Describe();
  EXPECT_EQ(Trim(fp.out), fingerprints_["bank"]);
  // The pin landed in the genesis record.
  absl::StatusOr<ledger::GenesisInfo> g = ledger::GenesisInfo::Load(genesis_);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->FindMember("bank")->tls_cert_sha256(), fingerprints_["bank"]);

  const std::string before = *ReadFile(tls_ + "/bank.crt");
  CommandResult again =
      RunTds({"cert", "issue", "--ca-dir", dir_.File("ca"), "--member", "bank", "--out-dir", tls_});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr(tls_ + "/bank.key already exists; refusing to overwrite it"));
  EXPECT_EQ(*ReadFile(tls_ + "/bank.crt"), before);
  CommandResult ca_again = RunTds({"cert", "ca", "--out-dir", dir_.File("ca")});
  EXPECT_EQ(ca_again.exit_code, 1);
  EXPECT_THAT(ca_again.err, HasSubstr("already exists"));

  CommandResult bad_member = RunTds(
      {"cert", "issue", "--ca-dir", dir_.File("ca"), "--member", "Bank One", "--out-dir", tls_});
  EXPECT_EQ(bad_member.exit_code, 1);
  EXPECT_THAT(bad_member.err, HasSubstr("--member 'Bank One'"));
  CommandResult bad_host = RunTds({"cert", "issue", "--ca-dir", dir_.File("ca"), "--member",
                                   "insurer", "--out-dir", tls_, "--host", "not a host"});
  EXPECT_EQ(bad_host.exit_code, 1);
  EXPECT_THAT(bad_host.err, HasSubstr("host 'not a host'"));
  EXPECT_FALSE(std::filesystem::exists(tls_ + "/insurer.key"));
  CommandResult bad_pin = RunTds({"genesis", "--origin", "o", "--out", dir_.File("g2.json"),
                                  "--member", "v:validator:" + std::string(64, '0') + ":abc"});
  EXPECT_EQ(bad_pin.exit_code, 1);
  EXPECT_THAT(bad_pin.err, HasSubstr("CERT_SHA256 must be 64 hex digits"));
}

TEST_F(TlsNodeTest, ValidatorFollowerAndMembersTalkMutualTls) {
  std::unique_ptr<Node> validator = StartNode(NodeOptions("validator-1"));
  ASSERT_NE(validator, nullptr);
  Node::Options fo = NodeOptions("bureau");
  fo.extra_flags = {"--validator", validator->address()};
  std::unique_ptr<Node> follower = StartNode(fo);
  ASSERT_NE(follower, nullptr);
  EXPECT_THAT(validator->Log(), HasSubstr("mutual TLS 1.3"));

  // bank, through the follower, which forwards with its own (bureau's) certificate.
  const std::string file = dir_.File("loan.txt");
  ASSERT_TRUE(WriteFileAtomic(file, "Loan agreement SBL-2025-0142\n").ok());
  CommandResult anchor = TdsAs(*follower, "bank", {"anchor", "--type", "contract", file}, true);
  ASSERT_EQ(anchor.exit_code, 0) << anchor.Describe() << follower->Log() << validator->Log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(anchor.out, m, std::regex("([0-9a-f]{64})  ")))
      << anchor.Describe();
  const std::string txid = m[1];

  // Committed by the validator, readable on both, the receipt verifies offline.
  for (Node* node : {validator.get(), follower.get()}) {
    CommandResult status = TdsAs(*node, "bank", {"ledger", "status"});
    ASSERT_EQ(status.exit_code, 0) << status.Describe();
    EXPECT_THAT(status.out, HasSubstr("tls.tds.test"));
  }
  const std::string receipt = dir_.File("receipt.json");
  CommandResult r = TdsAs(*follower, "bank", {"receipt", txid, "--out", receipt});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  CommandResult v = RunTds({"verify", receipt, "--genesis", genesis_});
  EXPECT_EQ(v.exit_code, 0) << v.Describe();

  // The SDK, straight to the validator.
  std::unique_ptr<sdk::LedgerClient> bank = ClientAs(*validator, "bank");
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::LoadFromFile(dir_.File("bank.key"));
  ASSERT_TRUE(key.ok());
  absl::StatusOr<std::string> body = evidence::MakeAnchorBody(Sha256("sdk"), "log", {});
  ASSERT_TRUE(body.ok());
  absl::StatusOr<tds::SubmitResponse> ack = bank->Submit(
      sdk::BuildTransaction(**key, "bank", std::string(evidence::kAnchorTxType), *body));
  ASSERT_TRUE(ack.ok()) << ack.status();

  // Plaintext cannot reach either node.
  CommandResult plain =
      RunTds({"--node", follower->address(), "--insecure-dev", "ledger", "status"});
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_TRUE(validator->Shutdown());
  EXPECT_TRUE(follower->Shutdown());
}

TEST_F(TlsNodeTest, FollowerWhoseCertificateNoMemberOwnsIsRefusedByTheValidator) {
  std::unique_ptr<Node> validator = StartNode(NodeOptions("validator-1"));
  ASSERT_NE(validator, nullptr);
  // A certificate of the consortium CA for a name that is no member.
  CommandResult cert = RunTds(
      {"cert", "issue", "--ca-dir", dir_.File("ca"), "--member", "mallory", "--out-dir", tls_});
  ASSERT_EQ(cert.exit_code, 0) << cert.Describe();
  Node::Options fo = NodeOptions("bureau");
  fo.tls_cert = tls_ + "/mallory.crt";
  fo.tls_key = tls_ + "/mallory.key";
  fo.extra_flags = {"--validator", validator->address()};
  std::unique_ptr<Node> follower = StartNode(fo);
  ASSERT_NE(follower, nullptr);
  EXPECT_THAT(follower->Log(), HasSubstr("peers will refuse this node's calls"));
  const std::string refusal = "certificate " + Trim(cert.out) + " is not a current member's";
  for (int i = 0; i < 200 && follower->Log().find(refusal) == std::string::npos; ++i) {
    usleep(50 * 1000);
  }
  EXPECT_THAT(follower->Log(), HasSubstr(refusal));
}

TEST_F(TlsNodeTest, TdsdRefusesToStartWithoutTlsFilesOrInsecureDevAndWithBoth) {
  const std::vector<std::string> base = {BinPath("tdsd"),
                                         "--data",
                                         dir_.File("data"),
                                         "--genesis",
                                         genesis_,
                                         "--key",
                                         dir_.File("validator-1.key"),
                                         "--listen",
                                         "127.0.0.1:0"};
  CommandResult none = RunCommand(base);
  EXPECT_EQ(none.exit_code, kExitUsage) << none.Describe();
  EXPECT_THAT(none.err, HasSubstr("tdsd: error: no TLS certificate: pass --tls-cert or set "
                                  "`tls.cert` in the config file"));
  EXPECT_THAT(none.err, HasSubstr("--insecure-dev"));

  std::vector<std::string> no_ca = base;
  no_ca.insert(no_ca.end(),
               {"--tls-cert", tls_ + "/validator-1.crt", "--tls-key", tls_ + "/validator-1.key"});
  CommandResult missing = RunCommand(no_ca);
  EXPECT_EQ(missing.exit_code, kExitUsage) << missing.Describe();
  EXPECT_THAT(missing.err, HasSubstr("no TLS consortium CA certificate: pass --tls-ca"));

  std::vector<std::string> both = no_ca;
  both.insert(both.end(), {"--tls-ca", dir_.File("ca/ca.crt"), "--insecure-dev"});
  CommandResult conflict = RunCommand(both);
  EXPECT_EQ(conflict.exit_code, kExitUsage) << conflict.Describe();
  EXPECT_THAT(conflict.err, HasSubstr("cannot be combined with --tls-cert/--tls-key/--tls-ca"));

  // Files that do not check out: the node cannot start (exit 1), naming the file.
  std::vector<std::string> wrong_key = base;
  wrong_key.insert(wrong_key.end(), {"--tls-cert", tls_ + "/validator-1.crt", "--tls-key",
                                     tls_ + "/bank.key", "--tls-ca", dir_.File("ca/ca.crt")});
  CommandResult bad = RunCommand(wrong_key);
  EXPECT_EQ(bad.exit_code, 1) << bad.Describe();
  EXPECT_THAT(bad.err,
              HasSubstr("TLS key " + tls_ + "/bank.key is not the key of TLS certificate"));
}

}  // namespace
}  // namespace tds::testing
