#include "evidence/evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/sha256.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"
#include "proto/evidence.pb.h"

namespace tds::evidence {
namespace {

using ledger::testing::KeyFromByte;
using ::testing::HasSubstr;

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Register(app_);
    ledger::LedgerOptions opts;
    opts.data_dir = dir_.Sub("ledger");
    ledger_ = std::move(
        *ledger::Ledger::Open(opts, ledger::testing::TestGenesis(), KeyFromByte(1), &app_));
  }
  absl::StatusOr<ledger::SubmitAck> Anchor(const std::string& body, uint64_t nonce) {
    return ledger_->SubmitAndWait(
        ledger::testing::MakeTx(*KeyFromByte(2), "bank", std::string(kAnchorTxType), body, nonce));
  }

  ledger::testing::TempDir dir_;
  ledger::Application app_;
  std::unique_ptr<ledger::Ledger> ledger_;
};

TEST_F(EvidenceTest, AnchorRecordsSubmitterTypeAndBlock) {
  const Hash digest = Sha256("loan contract #42");
  auto body = MakeAnchorBody(digest, "contract", {{"file", "loan-42.pdf"}});
  ASSERT_TRUE(body.ok());
  auto ack = Anchor(*body, 1);
  ASSERT_TRUE(ack.ok()) << ack.status();
  std::string key = "evidence/" + std::string(AsBytes(digest));
  PutFixed64BE(&key, ack->index);
  auto raw = ledger_->GetState(key);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  tds::EvidenceRecord rec;
  ASSERT_TRUE(rec.ParseFromString(**raw));
  EXPECT_EQ(rec.submitter(), "bank");
  EXPECT_EQ(rec.doc_type(), "contract");
  EXPECT_EQ(rec.height(), ack->height);
  EXPECT_EQ(rec.txid(), std::string(AsBytes(ack->txid)));
}

TEST_F(EvidenceTest, MakeAnchorBodyIsDeterministic) {
  std::map<std::string, std::string> meta;
  for (int i = 0; i < 20; ++i) meta["k" + std::to_string(i)] = "v";
  EXPECT_EQ(*MakeAnchorBody(Sha256("x"), "log", meta), *MakeAnchorBody(Sha256("x"), "log", meta));
}

TEST_F(EvidenceTest, InvalidAnchorsAreRejectedAndNotLogged) {
  EXPECT_THAT(std::string(MakeAnchorBody(Sha256("x"), "Bad Type", {}).status().message()),
              HasSubstr("doc_type"));
  std::map<std::string, std::string> many;
  for (int i = 0; i < 40; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_THAT(std::string(MakeAnchorBody(Sha256("x"), "log", many).status().message()),
              HasSubstr("metadata"));
  tds::EvidenceAnchor short_digest;
  short_digest.set_digest("abc");
  short_digest.set_doc_type("log");
  auto r = Anchor(short_digest.SerializeAsString(), 2);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("digest must be 32 bytes"));
  EXPECT_FALSE(Anchor("\xff\xff\xff", 3).ok());
  EXPECT_EQ(ledger_->Status().log_size, 0u);
}

}  // namespace
}  // namespace tds::evidence
