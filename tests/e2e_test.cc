// End to end through the real binaries: `tds keygen`, `tds genesis`, `tdsd`, `tds anchor`,
// `tds receipt`, `tds ledger status`, `tds verify`.

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/file.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/envelope.pb.h"
#include "proto/evidence.pb.h"
#include "proto/ledger.pb.h"
#include "sdk/client.h"
#include "tests/test_util.h"

namespace tds::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// `tds keygen`; returns the printed public key.
std::string Keygen(const std::string& path) {
  CommandResult r = RunTds({"keygen", "--out", path});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, MatchesRegex("[0-9a-f]{64}\n")) << r.Describe();
  return r.out.substr(0, 64);
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_pub_ = Keygen(dir_.File("node-1.key"));
    bank_pub_ = Keygen(dir_.File("bank.key"));
    provider_pub_ = Keygen(dir_.File("provider.key"));
    outsider_pub_ = Keygen(dir_.File("outsider.key"));
    ASSERT_FALSE(HasFatalFailure());
    genesis_ = dir_.File("genesis.json");
    CommandResult g =
        RunTds({"genesis", "--origin", "e2e.tds.test", "--member", "node-1:validator:" + node_pub_,
                "--member", "bank:consumer:" + bank_pub_, "--member",
                "provider:provider,auditor:" + provider_pub_, "--out", genesis_});
    ASSERT_EQ(g.exit_code, 0) << g.Describe();

    Node::Options o;
    o.data_dir = dir_.File("data");
    o.genesis = genesis_;
    o.key = dir_.File("node-1.key");
    o.work_dir = dir_.path();
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
  }

  // tds --node ADDR --insecure-dev ARGS...
  CommandResult TdsAt(std::vector<std::string> args, const std::string& key = "") {
    std::vector<std::string> full = {"--node", node_->address(), "--insecure-dev"};
    if (!key.empty()) {
      full.push_back("--key");
      full.push_back(key);
    }
    full.insert(full.end(), args.begin(), args.end());
    return RunTds(full);
  }

  TempDir dir_;
  std::string node_pub_, bank_pub_, provider_pub_, outsider_pub_;
  std::string genesis_;
  std::unique_ptr<Node> node_;
};

TEST_F(EndToEndTest, KeygenWritesAPrivateFileAndRefusesToOverwrite) {
  struct stat st {};
  ASSERT_EQ(stat(dir_.File("bank.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  absl::StatusOr<std::string> before = ReadFile(dir_.File("bank.key"));
  ASSERT_TRUE(before.ok());

  CommandResult again = RunTds({"keygen", "--out", dir_.File("bank.key")});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, StartsWith("error: "));
  EXPECT_THAT(again.err, HasSubstr("exists"));
  EXPECT_EQ(*ReadFile(dir_.File("bank.key")), *before) << "key file was modified";
}

TEST_F(EndToEndTest, AnchorReceiptVerify) {
  WriteText(dir_.File("loan.txt"), "Loan agreement SBL-2025-0142: CNY 3,000,000 at 3.85%\n");
  WriteText(dir_.File("report.csv"), "period,calls,amount_fen\n2025-03,20,600000\n");

  CommandResult a = TdsAt({"anchor", "--type", "contract", "--meta", "case=e2e", "--meta",
                           "desk=smb-credit", dir_.File("loan.txt"), dir_.File("report.csv")},
                          dir_.File("bank.key"));
  ASSERT_EQ(a.exit_code, 0) << a.Describe() << node_->Log();
  std::smatch m;
  std::regex line_re("([0-9a-f]{64})  (\\S+)\n");
  std::vector<std::string> txids;
  for (std::string rest = a.out; std::regex_search(rest, m, line_re); rest = m.suffix()) {
    txids.push_back(m[1]);
  }
  ASSERT_EQ(txids.size(), 2u) << a.Describe();
  EXPECT_THAT(a.out, HasSubstr("  " + dir_.File("loan.txt") + "\n"));
  EXPECT_THAT(a.out, HasSubstr("  " + dir_.File("report.csv") + "\n"));
  EXPECT_NE(txids[0], txids[1]);

  CommandResult status = TdsAt({"ledger", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  EXPECT_THAT(status.out, HasSubstr("e2e.tds.test"));
  EXPECT_THAT(status.out, MatchesRegex("(.|\n)*log size: +2\n(.|\n)*"));

  for (size_t i = 0; i < txids.size(); ++i) {
    const std::string receipt = dir_.File("receipt-" + std::to_string(i) + ".json");
    CommandResult r = TdsAt({"receipt", txids[i], "--out", receipt});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();

    CommandResult v = RunTds({"verify", receipt, "--genesis", genesis_});
    EXPECT_EQ(v.exit_code, 0) << v.Describe();
    EXPECT_THAT(v.out, StartsWith("OK: tx " + txids[i] + " by bank at index "));
    // Receipts are against the committing block's checkpoint: the tree holds this tx, at most both.
    EXPECT_THAT(v.out, MatchesRegex(".* in tree of [12] \\(block [12]\\).*\n"));
    EXPECT_EQ(std::count(v.out.begin(), v.out.end(), '\n'), 1) << "not one line: " << v.out;
  }

  // The anchored body: the file's digest, the type, and metadata with file name and size.
  {
    absl::StatusOr<std::string> text = ReadFile(dir_.File("receipt-0.json"));
    ASSERT_TRUE(text.ok());
    nlohmann::json receipt = nlohmann::json::parse(*text);
    absl::StatusOr<std::string> entry = Base64Decode(receipt["entry"].get<std::string>());
    ASSERT_TRUE(entry.ok()) << entry.status();
    tds::Envelope env;
    tds::Transaction tx;
    tds::EvidenceAnchor anchor;
    ASSERT_TRUE(env.ParseFromString(*entry));
    ASSERT_TRUE(tx.ParseFromString(env.payload()));
    ASSERT_TRUE(anchor.ParseFromString(tx.body()));
    EXPECT_EQ(tx.type(), evidence::kAnchorTxType);
    EXPECT_EQ(tx.submitter(), "bank");
    EXPECT_EQ(anchor.doc_type(), "contract");
    const std::string content = *ReadFile(dir_.File("loan.txt"));
    EXPECT_EQ(anchor.digest(), std::string(AsBytes(Sha256(content))));
    EXPECT_EQ(anchor.metadata().at("file"), "loan.txt");
    EXPECT_EQ(anchor.metadata().at("size"), std::to_string(content.size()));
    EXPECT_EQ(anchor.metadata().at("case"), "e2e");
    EXPECT_EQ(anchor.metadata().at("desk"), "smb-credit");
  }

  // The same receipt on stdout.
  CommandResult stdout_receipt = TdsAt({"receipt", txids[0]});
  ASSERT_EQ(stdout_receipt.exit_code, 0) << stdout_receipt.Describe();
  EXPECT_EQ(stdout_receipt.out, *ReadFile(dir_.File("receipt-0.json")));

  // Verification is offline: it still passes with the node gone.
  ASSERT_TRUE(node_->Shutdown()) << node_->Log();
  CommandResult offline = RunTds({"verify", dir_.File("receipt-1.json"), "--genesis", genesis_});
  EXPECT_EQ(offline.exit_code, 0) << offline.Describe();

  // Another genesis whose validator is someone else: the checkpoint signature is not a quorum.
  const std::string other_validator = Keygen(dir_.File("other-node.key"));
  CommandResult g2 = RunTds({"genesis", "--origin", "e2e.tds.test", "--member",
                             "node-1:validator:" + other_validator, "--member",
                             "bank:consumer:" + bank_pub_, "--out", dir_.File("genesis-2.json")});
  ASSERT_EQ(g2.exit_code, 0) << g2.Describe();
  CommandResult v2 =
      RunTds({"verify", dir_.File("receipt-0.json"), "--genesis", dir_.File("genesis-2.json")});
  EXPECT_EQ(v2.exit_code, 1) << v2.Describe();
  EXPECT_THAT(v2.err, StartsWith("FAILED: checkpoint:")) << v2.Describe();
  EXPECT_EQ(v2.out, "");

  // Another genesis where "bank" has another key: the signer is not that member.
  CommandResult g3 =
      RunTds({"genesis", "--origin", "e2e.tds.test", "--member", "node-1:validator:" + node_pub_,
              "--member", "bank:consumer:" + outsider_pub_, "--out", dir_.File("genesis-3.json")});
  ASSERT_EQ(g3.exit_code, 0) << g3.Describe();
  CommandResult v3 =
      RunTds({"verify", dir_.File("receipt-0.json"), "--genesis", dir_.File("genesis-3.json")});
  EXPECT_EQ(v3.exit_code, 1) << v3.Describe();
  EXPECT_THAT(v3.err, StartsWith("FAILED: membership:")) << v3.Describe();
}

TEST_F(EndToEndTest, NonMemberIsRefused) {
  WriteText(dir_.File("doc.txt"), "not from a member\n");

  // Through the CLI: the key is not in the node's genesis.
  CommandResult a = TdsAt({"anchor", dir_.File("doc.txt")}, dir_.File("outsider.key"));
  EXPECT_NE(a.exit_code, 0) << a.Describe();
  EXPECT_EQ(a.out, "");
  EXPECT_THAT(a.err, StartsWith("error: "));
  EXPECT_THAT(a.err, HasSubstr("not a member"));
  EXPECT_THAT(a.err, HasSubstr(outsider_pub_));

  // Directly: an outsider claiming to be "bank" is refused by the node itself.
  absl::StatusOr<std::unique_ptr<SigningKey>> outsider =
      SigningKey::LoadFromFile(dir_.File("outsider.key"));
  ASSERT_TRUE(outsider.ok()) << outsider.status();
  sdk::ClientOptions co;
  co.address = node_->address();
  co.insecure_dev = true;
  absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> client = sdk::LedgerClient::Connect(co);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<std::string> body =
      evidence::MakeAnchorBody(Sha256("not from a member\n"), "document", {});
  ASSERT_TRUE(body.ok()) << body.status();
  absl::StatusOr<tds::SubmitResponse> ack = (*client)->Submit(
      sdk::BuildTransaction(**outsider, "bank", std::string(evidence::kAnchorTxType), *body));
  ASSERT_FALSE(ack.ok());
  EXPECT_THAT(std::string(ack.status().message()), HasSubstr("member")) << ack.status();

  absl::StatusOr<tds::GetStatusResponse> status = (*client)->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->log_size(), 0u);
}

TEST_F(EndToEndTest, ClearErrorsForMissingOptionsAndBadInput) {
  WriteText(dir_.File("doc.txt"), "x\n");
  CommandResult no_node = RunTds({"--key", dir_.File("bank.key"), "anchor", dir_.File("doc.txt")});
  EXPECT_NE(no_node.exit_code, 0);
  EXPECT_THAT(no_node.err, HasSubstr("--node"));

  CommandResult no_key = TdsAt({"anchor", dir_.File("doc.txt")});
  EXPECT_NE(no_key.exit_code, 0);
  EXPECT_THAT(no_key.err, HasSubstr("--key"));

  CommandResult missing_file = TdsAt({"anchor", dir_.File("nope.txt")}, dir_.File("bank.key"));
  EXPECT_NE(missing_file.exit_code, 0);
  EXPECT_THAT(missing_file.err, HasSubstr("nope.txt"));

  CommandResult bad_txid = TdsAt({"receipt", "xyz"});
  EXPECT_NE(bad_txid.exit_code, 0);
  EXPECT_THAT(bad_txid.err, StartsWith("error: "));

  CommandResult unknown_txid = TdsAt({"receipt", std::string(64, 'a')});
  EXPECT_NE(unknown_txid.exit_code, 0);
  EXPECT_THAT(unknown_txid.err, StartsWith("error: "));

  CommandResult no_receipt = RunTds({"verify", dir_.File("nope.json"), "--genesis", genesis_});
  EXPECT_NE(no_receipt.exit_code, 0);
  EXPECT_THAT(no_receipt.err, HasSubstr("nope.json"));

  CommandResult bad_member =
      RunTds({"genesis", "--origin", "x", "--member", "bad spec", "--out", dir_.File("g.json")});
  EXPECT_NE(bad_member.exit_code, 0);
  EXPECT_THAT(bad_member.err, HasSubstr("bad spec"));

  CommandResult help = RunTds({"anchor", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--type"));
}

}  // namespace
}  // namespace tds::testing
