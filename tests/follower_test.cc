// A data space with one validator and a follower node, as real tdsd processes: the follower
// keeps a verified replica, forwards its members' transactions (answering once the block is
// applied locally), serves receipts that verify offline, and catches up after a restart.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "gtest/gtest.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "sdk/client.h"
#include "tests/test_util.h"

namespace tds::testing {
namespace {

std::unique_ptr<sdk::LedgerClient> Connect(const std::string& address) {
  sdk::ClientOptions o;
  o.address = address;
  o.insecure_dev = true;
  o.timeout_ms = 20000;
  auto c = sdk::LedgerClient::Connect(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto genesis =
        MakeGenesis(dir_.path(), "follower.tds.test",
                    {{"validator-1", "validator"}, {"bureau", "provider"}, {"bank", "consumer"}});
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    genesis_ = *genesis;
    auto key = SigningKey::LoadFromFile(dir_.File("bank.key"));
    ASSERT_TRUE(key.ok());
    bank_key_ = std::move(*key);
    StartValidator();
    StartFollower();
  }

  void StartValidator() {
    Node::Options o;
    o.data_dir = dir_.File("validator-data");
    o.genesis = genesis_;
    o.key = dir_.File("validator-1.key");
    o.work_dir = dir_.File("validator-work");
    std::filesystem::create_directories(o.work_dir);
    auto n = Node::Start(o);
    ASSERT_TRUE(n.ok()) << n.status();
    validator_ = std::move(*n);
  }

  void StartFollower() {
    Node::Options o;
    o.data_dir = dir_.File("follower-data");
    o.genesis = genesis_;
    o.key = dir_.File("bureau.key");
    o.work_dir = dir_.File("follower-work");
    std::filesystem::create_directories(o.work_dir);
    o.extra_flags = {"--validator", validator_->address()};
    auto n = Node::Start(o);
    ASSERT_TRUE(n.ok()) << n.status();
    follower_ = std::move(*n);
  }

  std::string Anchor(const std::string& label) {
    auto body = evidence::MakeAnchorBody(Sha256(label), "log", {});
    return sdk::BuildTransaction(*bank_key_, "bank", std::string(evidence::kAnchorTxType), *body);
  }

  // Polls until the follower reports the validator's height and root.
  void ExpectCaughtUp() {
    auto v = Connect(validator_->address());
    auto f = Connect(follower_->address());
    tds::GetStatusResponse vs, fs;
    for (int i = 0; i < 200; ++i) {
      vs = *v->GetStatus();
      fs = *f->GetStatus();
      if (fs.height() == vs.height()) break;
      usleep(50 * 1000);
    }
    EXPECT_EQ(fs.height(), vs.height()) << follower_->Log();
    EXPECT_EQ(fs.log_root(), vs.log_root());
    EXPECT_EQ(fs.state_digest(), vs.state_digest());
    EXPECT_EQ(fs.last_block_hash(), vs.last_block_hash());
  }

  TempDir dir_;
  std::string genesis_;
  std::unique_ptr<SigningKey> bank_key_;
  std::unique_ptr<Node> validator_;
  std::unique_ptr<Node> follower_;
};

TEST_F(FollowerTest, SubmissionThroughTheFollowerIsCommittedAndReadableThere) {
  auto follower = Connect(follower_->address());
  auto ack = follower->Submit(Anchor("through the follower"));
  ASSERT_TRUE(ack.ok()) << ack.status() << "\n" << follower_->Log();
  auto txid = HashFromBytes(ack->txid());
  ASSERT_TRUE(txid.ok());
  // Read-your-writes: answered only once the block is applied on the follower.
  auto tx = follower->GetTransaction(*txid);
  ASSERT_TRUE(tx.ok()) << tx.status();
  auto receipt = follower->GetReceipt(*txid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  auto genesis = ledger::GenesisInfo::Load(genesis_);
  ASSERT_TRUE(genesis.ok());
  EXPECT_TRUE(ledger::VerifyReceipt(*receipt, *genesis).ok());
  ExpectCaughtUp();
}

TEST_F(FollowerTest, RefusalsFromTheValidatorReachTheCaller) {
  auto follower = Connect(follower_->address());
  const std::string tx = Anchor("twice");
  ASSERT_TRUE(follower->Submit(tx).ok());
  auto again = follower->Submit(tx);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
}

TEST_F(FollowerTest, RestartedFollowerCatchesUp) {
  auto validator = Connect(validator_->address());
  ASSERT_TRUE(validator->Submit(Anchor("before")).ok());
  ExpectCaughtUp();
  follower_->Kill();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(validator->Submit(Anchor("while down " + std::to_string(i))).ok());
  StartFollower();
  ExpectCaughtUp();
  // And it keeps following new blocks.
  ASSERT_TRUE(validator->Submit(Anchor("after")).ok());
  ExpectCaughtUp();
}

}  // namespace
}  // namespace tds::testing
