// Tampering with any part of a receipt makes `tds verify` fail and name the failed check.
// One node produces a genuine receipt; each test changes one thing in a copy of it.

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/envelope.pb.h"
#include "tests/test_util.h"

namespace tds::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

class TamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string error = MakeReceipt();
    if (!error.empty()) setup_error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete setup_error_;
    dir_ = nullptr;
    setup_error_ = nullptr;
  }

  // Anchors three documents (so every inclusion proof is non-empty) and keeps the receipt of
  // the second; the node is stopped before any verification.
  static std::string MakeReceipt() {
    absl::StatusOr<std::string> genesis = MakeGenesis(
        dir_->path(), "tamper.tds.test", {{"node-1", "validator"}, {"bank", "consumer"}});
    if (!genesis.ok()) return genesis.status().ToString();
    Node::Options o{dir_->File("data"), *genesis, dir_->File("node-1.key"), dir_->path(), {}};
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(o);
    if (!node.ok()) return node.status().ToString();

    std::vector<std::string> args = {"--node",
                                     (*node)->address(),
                                     "--insecure-dev",
                                     "--key",
                                     dir_->File("bank.key"),
                                     "anchor",
                                     "--type",
                                     "log"};
    for (const char* name : {"a.log", "b.log", "c.log"}) {
      std::ofstream(dir_->File(name)) << "audit line for " << name << "\n";
      args.push_back(dir_->File(name));
    }
    CommandResult a = RunTds(args);
    if (a.exit_code != 0 || a.out.size() < 2 * 66) return "anchor: " + a.Describe();
    const std::string second_txid = a.out.substr(a.out.find('\n') + 1, 64);
    CommandResult r = RunTds({"--node", (*node)->address(), "--insecure-dev", "receipt",
                              second_txid, "--out", dir_->File("receipt.json")});
    if (r.exit_code != 0) return "receipt: " + r.Describe();
    if (!(*node)->Shutdown()) return "tdsd did not stop cleanly:\n" + (*node)->Log();
    return "";
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    absl::StatusOr<std::string> text = ReadFile(dir_->File("receipt.json"));
    ASSERT_TRUE(text.ok()) << text.status();
    receipt_ = json::parse(*text);
    ASSERT_TRUE(receipt_.contains("entry")) << *text;
    ASSERT_TRUE(receipt_.contains("inclusion_proof")) << *text;
    ASSERT_TRUE(receipt_.contains("checkpoint")) << *text;
    ASSERT_GE(receipt_["inclusion_proof"].size(), 1u) << *text;
  }

  // Writes `receipt` and runs `tds verify` on it.
  CommandResult Verify(const json& receipt) {
    const std::string path = dir_->File(
        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".json");
    std::ofstream(path) << receipt.dump(2) << "\n";
    return RunTds({"verify", path, "--genesis", dir_->File("genesis.json")});
  }

  static void ExpectFailed(const CommandResult& r, const std::vector<std::string>& checks) {
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_EQ(r.out, "") << r.Describe();
    bool named = false;
    for (const std::string& c : checks) named |= r.err.rfind("FAILED: " + c + ":", 0) == 0;
    EXPECT_TRUE(named) << "stderr should start with FAILED: <one of the expected checks>:\n"
                       << r.Describe();
  }

  std::string Entry() const { return *Base64Decode(receipt_["entry"].get<std::string>()); }
  void SetEntry(const std::string& entry) { receipt_["entry"] = Base64Encode(entry); }

  // The checkpoint note split into lines (without the newlines).
  std::vector<std::string> NoteLines() const {
    std::vector<std::string> lines;
    std::string note = receipt_["checkpoint"].get<std::string>();
    size_t start = 0;
    for (size_t nl; (nl = note.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.push_back(note.substr(start, nl - start));
    }
    return lines;
  }
  void SetNoteLines(const std::vector<std::string>& lines) {
    std::string note;
    for (const std::string& l : lines) note += l + "\n";
    receipt_["checkpoint"] = note;
  }

  static TempDir* dir_;
  static std::string* setup_error_;
  json receipt_;
};

TempDir* TamperTest::dir_ = nullptr;
std::string* TamperTest::setup_error_ = nullptr;

TEST_F(TamperTest, UnmodifiedReceiptVerifies) {
  CommandResult r = Verify(receipt_);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, StartsWith("OK: tx "));
  // Against the committing block's checkpoint: the tree holds index 1 and, if batched with it, 2.
  EXPECT_THAT(r.out, ::testing::ContainsRegex(" by bank at index 1 in tree of [23] "));
}

TEST_F(TamperTest, TransactionByteChanged) {
  std::string entry = Entry();
  tds::Envelope env;
  ASSERT_TRUE(env.ParseFromString(entry));
  size_t at = entry.find(env.payload());
  ASSERT_NE(at, std::string::npos);
  entry[at + env.payload().size() / 2] ^= 0x01;  // a byte inside the signed transaction
  SetEntry(entry);
  ExpectFailed(Verify(receipt_), {"envelope"});
}

TEST_F(TamperTest, EnvelopeSignatureChanged) {
  std::string entry = Entry();
  tds::Envelope env;
  ASSERT_TRUE(env.ParseFromString(entry));
  size_t at = entry.rfind(env.signature());
  ASSERT_NE(at, std::string::npos);
  entry[at + 7] ^= 0x80;
  SetEntry(entry);
  ExpectFailed(Verify(receipt_), {"envelope"});
}

TEST_F(TamperTest, ProofHashChanged) {
  std::string h = receipt_["inclusion_proof"][0].get<std::string>();
  h[10] = h[10] == '0' ? '1' : '0';
  receipt_["inclusion_proof"][0] = h;
  ExpectFailed(Verify(receipt_), {"inclusion"});
}

TEST_F(TamperTest, ProofHashDropped) {
  receipt_["inclusion_proof"].erase(receipt_["inclusion_proof"].size() - 1);
  ExpectFailed(Verify(receipt_), {"inclusion"});
}

TEST_F(TamperTest, IndexChanged) {
  receipt_["index"] = receipt_["index"].get<uint64_t>() + 1;
  ExpectFailed(Verify(receipt_), {"inclusion"});
}

TEST_F(TamperTest, CheckpointRootChanged) {
  std::vector<std::string> lines = NoteLines();
  ASSERT_GE(lines.size(), 3u);
  absl::StatusOr<std::string> root = Base64Decode(lines[2]);
  ASSERT_TRUE(root.ok()) << lines[2];
  (*root)[0] ^= 0x01;
  lines[2] = Base64Encode(*root);
  SetNoteLines(lines);
  // The proof no longer leads to the stated root (or, were it checked first, the signature
  // no longer covers the body): either way the receipt fails and says why.
  ExpectFailed(Verify(receipt_), {"inclusion", "checkpoint"});
}

TEST_F(TamperTest, CheckpointSignatureChanged) {
  std::vector<std::string> lines = NoteLines();
  ASSERT_FALSE(lines.empty());
  std::string& sig_line = lines.back();  // "— node-1 base64(key_id || signature)"
  size_t space = sig_line.rfind(' ');
  ASSERT_NE(space, std::string::npos) << sig_line;
  absl::StatusOr<std::string> blob = Base64Decode(sig_line.substr(space + 1));
  ASSERT_TRUE(blob.ok()) << sig_line;
  ASSERT_EQ(blob->size(), 4u + 64u) << sig_line;
  (*blob)[4 + 20] ^= 0x01;  // inside the signature, key id untouched
  sig_line = sig_line.substr(0, space + 1) + Base64Encode(*blob);
  SetNoteLines(lines);
  ExpectFailed(Verify(receipt_), {"checkpoint"});
}

TEST_F(TamperTest, CheckpointSignatureRemoved) {
  std::vector<std::string> lines = NoteLines();
  ASSERT_GE(lines.size(), 5u);
  lines.pop_back();
  SetNoteLines(lines);
  ExpectFailed(Verify(receipt_), {"checkpoint"});
}

TEST_F(TamperTest, NotAReceipt) {
  CommandResult r = Verify(json{{"version", 1}, {"entry", 42}});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.err, AnyOf(StartsWith("FAILED: receipt:"), StartsWith("error: ")));
}

}  // namespace
}  // namespace tds::testing
