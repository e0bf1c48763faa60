#include "ledger/receipt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"

namespace tds::ledger {
namespace {

using ::testing::HasSubstr;
using testing::KeyFromByte;
using ::testing::StartsWith;

class ReceiptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_.Register("test.put", std::make_unique<testing::PutHandler>());
    LedgerOptions opts;
    opts.data_dir = dir_.Sub("ledger");
    ledger_ = std::move(*Ledger::Open(opts, testing::TestGenesis(), KeyFromByte(1), &app_));
    for (int i = 0; i < 6; ++i) {
      auto ack = ledger_->SubmitAndWait(
          testing::MakeTx(*KeyFromByte(2), "bank", "test.put", "k=" + std::to_string(i), i));
      ASSERT_TRUE(ack.ok());
      last_ = ack->txid;
    }
    receipt_ = *ledger_->GetReceipt(last_);
  }

  std::string Failure(const tds::Receipt& r) {
    auto v = VerifyReceipt(r, ledger_->genesis());
    return v.ok() ? "OK" : std::string(v.status().message());
  }

  testing::TempDir dir_;
  Application app_;
  std::unique_ptr<Ledger> ledger_;
  Hash last_{};
  tds::Receipt receipt_;
};

TEST_F(ReceiptTest, JsonRoundTripKeepsEveryVerifiedField) {
  const std::string json = ReceiptToJson(receipt_);
  EXPECT_THAT(json, HasSubstr(HexEncode(last_)));
  auto back = ReceiptFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), receipt_.SerializeAsString());
  EXPECT_EQ(Failure(*back), "OK");
}

TEST_F(ReceiptTest, ChangedTransactionByteFailsEnvelope) {
  tds::Receipt r = receipt_;
  std::string entry = r.entry();
  entry[entry.size() - 70] ^= 0x01;  // inside the payload, before the signature
  r.set_entry(entry);
  EXPECT_THAT(Failure(r), StartsWith("envelope"));
}

TEST_F(ReceiptTest, ChangedProofHashFailsInclusion) {
  tds::Receipt r = receipt_;
  std::string h = r.inclusion_proof(0);
  h[0] ^= 0x80;
  r.set_inclusion_proof(0, h);
  EXPECT_THAT(Failure(r), StartsWith("inclusion"));
  tds::Receipt shorter = receipt_;
  shorter.mutable_inclusion_proof()->RemoveLast();
  EXPECT_THAT(Failure(shorter), StartsWith("inclusion"));
  tds::Receipt moved = receipt_;
  moved.set_index(moved.index() - 1);
  EXPECT_THAT(Failure(moved), StartsWith("inclusion"));
}

TEST_F(ReceiptTest, ChangedCheckpointRootOrSignatureFailsCheckpoint) {
  auto note = ParseSignedNote(receipt_.checkpoint());
  ASSERT_TRUE(note.ok());
  const std::string root_b64 = Base64Encode(AsBytes(note->checkpoint.root));
  Hash other = note->checkpoint.root;
  other[5] ^= 1;
  tds::Receipt r = receipt_;
  std::string text = r.checkpoint();
  text.replace(text.find(root_b64), root_b64.size(), Base64Encode(AsBytes(other)));
  r.set_checkpoint(text);
  EXPECT_THAT(Failure(r), StartsWith("checkpoint"));

  tds::Receipt s = receipt_;
  text = s.checkpoint();
  const size_t sig = text.rfind(' ') + 10;  // inside the base64 signature
  text[sig] = text[sig] == 'A' ? 'B' : 'A';
  s.set_checkpoint(text);
  EXPECT_THAT(Failure(s), StartsWith("checkpoint"));
}

TEST_F(ReceiptTest, OtherGenesisFailsMembershipOrCheckpoint) {
  auto other = testing::TestGenesis("another/space");
  auto v = VerifyReceipt(receipt_, other);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), StartsWith("checkpoint: origin"));
}

TEST_F(ReceiptTest, MalformedJsonRefusedWithTheField) {
  EXPECT_THAT(std::string(ReceiptFromJson("{").status().message()), HasSubstr("not valid JSON"));
  EXPECT_THAT(std::string(ReceiptFromJson(R"({"version":1})").status().message()),
              HasSubstr("missing field 'index'"));
  std::string json = ReceiptToJson(receipt_);
  json.replace(json.find("\"entry\": \""), 10, "\"entry\": \"!");
  EXPECT_THAT(std::string(ReceiptFromJson(json).status().message()), HasSubstr("entry"));
}

}  // namespace
}  // namespace tds::ledger
