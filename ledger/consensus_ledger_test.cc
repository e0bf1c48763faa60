// Four ledgers running consensus in one process, wired by an in-memory network that can drop a
// validator: the integration of core, replica, safety record and speculative execution (the
// protocol itself is explored by tests/consensus_sim_test.cc; real processes by
// tests/bft_localnet_test.sh).

#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "ledger/checkpoint.h"
#include "ledger/consensus/safety_store.h"
#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "ledger/test_util.h"
#include "proto/consensus.pb.h"
#include "spdlog/spdlog.h"

namespace tds::ledger {
namespace {

using testing::KeyFromByte;
using testing::MakeTx;
using testing::TempDir;

constexpr int kValidators = 4;

GenesisInfo FourValidators() {
  std::vector<std::string> specs;
  for (int i = 0; i < kValidators; ++i) {
    specs.push_back(absl::StrCat("v", i, ":validator:", KeyFromByte(10 + i)->public_key().hex()));
  }
  specs.push_back(absl::StrCat("bank:consumer:", KeyFromByte(2)->public_key().hex()));
  auto json = BuildGenesisJson("tds.test/bft", specs);
  EXPECT_TRUE(json.ok()) << json.status();
  return std::move(GenesisInfo::Parse(*json, "bft-genesis")).value();
}

// Delivers every message at once on the sender's thread; a "down" validator neither sends nor
// receives.
class Network {
 public:
  void Attach(int i, Ledger* l) {
    std::lock_guard<std::mutex> g(mu_);
    ledgers_[i] = l;
  }
  void SetDown(int i, bool down) { down_[i] = down; }
  void Send(int from, int to, const tds::ConsensusMessage& m) {
    if (down_[from]) return;
    for (int i = 0; i < kValidators; ++i) {
      if (i == from || (to >= 0 && i != to) || down_[i]) continue;
      std::lock_guard<std::mutex> g(mu_);
      if (ledgers_[i] != nullptr) ledgers_[i]->DeliverConsensus(static_cast<size_t>(from), m);
    }
  }

 private:
  std::mutex mu_;
  Ledger* ledgers_[kValidators] = {};
  std::atomic<bool> down_[kValidators] = {};
};

class ConsensusLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getenv("TDS_DEBUG") != nullptr) spdlog::set_level(spdlog::level::debug);
    app_.Register("test.put", std::make_unique<testing::PutHandler>());
    for (int i = 0; i < kValidators; ++i) Open(i);
  }
  void TearDown() override {
    for (int i = 0; i < kValidators; ++i) Close(i);
  }

  void Open(int i) {
    LedgerOptions o;
    o.data_dir = dir_.Sub(absl::StrCat("v", i));
    o.sync = false;
    o.consensus_timeout_ms = 200;
    o.send = [this, i](int to, const tds::ConsensusMessage& m) { net_.Send(i, to, m); };
    auto l = Ledger::Open(o, FourValidators(), KeyFromByte(10 + i), &app_);
    ASSERT_TRUE(l.ok()) << l.status();
    ledgers_[i] = std::move(*l);
    net_.Attach(i, ledgers_[i].get());
  }
  void Close(int i) {
    net_.Attach(i, nullptr);
    ledgers_[i].reset();
  }

  absl::StatusOr<SubmitAck> Put(int via, const std::string& body) {
    return ledgers_[via]->SubmitAndWait(
        MakeTx(*KeyFromByte(2), "bank", "test.put", body, ++nonce_));
  }

  void ExpectAllAgree(uint64_t height) {
    for (int i = 0; i < kValidators; ++i) {
      if (ledgers_[i] == nullptr) continue;
      ASSERT_GE(ledgers_[i]->WaitForHeight(height, 30000), height) << "validator v" << i;
    }
    const LedgerStatus first = ledgers_[0]->Status();
    for (int i = 1; i < kValidators; ++i) {
      if (ledgers_[i] == nullptr) continue;
      auto a = ledgers_[0]->GetBlock(height);
      auto b = ledgers_[i]->GetBlock(height);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(a->header(), b->header()) << "v0 and v" << i << " differ at height " << height;
    }
    (void)first;
  }

  TempDir dir_;
  Application app_;
  Network net_;
  std::unique_ptr<Ledger> ledgers_[kValidators];
  uint64_t nonce_ = 0;
};

TEST_F(ConsensusLedgerTest, CommitsThroughAnyValidatorWithAQuorumCertificate) {
  auto a = Put(1, "a=1");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Put(3, "b=2");
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectAllAgree(b->height);
  for (int i = 0; i < kValidators; ++i) {
    auto v = ledgers_[i]->GetState("b");
    ASSERT_TRUE(v.ok() && v->has_value()) << "v" << i;
    EXPECT_EQ(**v, "2");
  }
  // The receipt's checkpoint is the QC: 3 of the 4 genesis validators, verified offline.
  auto receipt = ledgers_[2]->GetReceipt(b->txid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  auto note = ParseSignedNote(receipt->checkpoint());
  ASSERT_TRUE(note.ok());
  EXPECT_GE(note->signatures.size(), 3u);
  EXPECT_TRUE(VerifyCheckpoint(receipt->checkpoint(), ledgers_[0]->genesis()).ok());
  EXPECT_TRUE(VerifyReceipt(*receipt, ledgers_[0]->genesis()).ok());
}

TEST_F(ConsensusLedgerTest, LeaderDownIsReplacedAndItCatchesUpAfterRestart) {
  ASSERT_TRUE(Put(0, "before=1").ok());
  const uint64_t view_before = ledgers_[1]->consensus_status().view;
  // v0 leads view 0: take it down; the others time out and elect v1.
  net_.SetDown(0, true);
  Close(0);
  auto during = Put(2, "during=1");
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_GT(ledgers_[1]->consensus_status().view, view_before);
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(Put(1, absl::StrCat("k", k, "=v")).ok());
  // Back: it restores its safety record and fetches what it missed.
  net_.SetDown(0, false);
  Open(0);
  auto after = Put(3, "after=1");
  ASSERT_TRUE(after.ok()) << after.status();
  ExpectAllAgree(after->height);
  EXPECT_EQ(ledgers_[0]->Status().state_digest, ledgers_[3]->Status().state_digest);
}

TEST_F(ConsensusLedgerTest, TwoValidatorsDownStopsCommitsUntilOneReturns) {
  ASSERT_TRUE(Put(0, "x=1").ok());
  const uint64_t height = ledgers_[0]->Status().height;
  net_.SetDown(2, true);
  net_.SetDown(3, true);
  // Outlives the test body: the ledger answers at close if it never commits.
  struct Answer {
    std::atomic<bool> done{false};
    absl::StatusOr<SubmitAck> ack = absl::UnknownError("not yet");
  };
  auto answer = std::make_shared<Answer>();
  ledgers_[0]->Submit(MakeTx(*KeyFromByte(2), "bank", "test.put", "y=2", ++nonce_),
                      [answer](absl::StatusOr<SubmitAck> r) {
                        answer->ack = std::move(r);
                        answer->done = true;
                      });
  // No quorum: nothing may commit (two validators cannot certify anything).
  EXPECT_EQ(ledgers_[0]->WaitForHeight(height + 1, 1500), height);
  EXPECT_EQ(ledgers_[1]->Status().height, height);
  EXPECT_FALSE(answer->done);
  net_.SetDown(3, false);  // three again: the transaction commits
  ASSERT_GE(ledgers_[0]->WaitForHeight(height + 1, 30000), height + 1);
  for (int i = 0; i < 300 && !answer->done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(answer->done);
  EXPECT_TRUE(answer->ack.ok()) << answer->ack.status();
}

TEST(SafetyStoreTest, RoundTripsAndRefusesATornOrAlteredRecord) {
  TempDir dir;
  consensus::SafetyStore store(dir.Sub("safety"));
  auto empty = store.Load();
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->highest_vote_round(), 0u);
  tds::SafetyState s;
  s.set_highest_vote_round(42);
  s.set_view(7);
  ASSERT_TRUE(store.Save(s).ok());
  auto back = store.Load();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->highest_vote_round(), 42u);
  EXPECT_EQ(back->view(), 7u);

  std::string raw = *ReadFile(dir.Sub("safety"));
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("safety"), raw.substr(0, raw.size() - 5)).ok());
  EXPECT_EQ(store.Load().status().code(), absl::StatusCode::kDataLoss);
  raw[raw.size() / 2] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("safety"), raw).ok());
  auto altered = store.Load();
  EXPECT_EQ(altered.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(altered.status().message()), ::testing::HasSubstr("vote twice"));
}

}  // namespace
}  // namespace tds::ledger
