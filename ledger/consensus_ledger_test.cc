// Four ledgers running consensus in one process, wired by an in-memory network that can drop a
// validator: the integration of core, replica, safety record and speculative execution (the
// protocol itself is explored by tests/consensus_sim_test.cc; real processes by
// tests/bft_localnet_test.sh). A fifth member, v4, joins the validators by governance in the
// reconfiguration test.

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "governance/governance.h"
#include "ledger/checkpoint.h"
#include "ledger/consensus/safety_store.h"
#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "ledger/test_network.h"
#include "ledger/test_util.h"
#include "proto/consensus.pb.h"
#include "spdlog/spdlog.h"

namespace tds::ledger {
namespace {

using testing::KeyFromByte;
using testing::MakeTx;
using testing::MemoryNetwork;
using testing::TempDir;

constexpr int kValidators = 4;
constexpr int kReplicas = 5;  // v4: a provider that governance can make a validator

GenesisInfo FourValidators() {
  std::vector<std::string> specs;
  for (int i = 0; i < kValidators; ++i) {
    specs.push_back(absl::StrCat("v", i, ":validator:", KeyFromByte(10 + i)->public_key().hex()));
  }
  specs.push_back(absl::StrCat("v4:provider:", KeyFromByte(14)->public_key().hex()));
  specs.push_back(absl::StrCat("bank:consumer:", KeyFromByte(2)->public_key().hex()));
  auto json = BuildGenesisJson("tds.test/bft", specs);
  EXPECT_TRUE(json.ok()) << json.status();
  // A state root every 4 blocks: snapshots come within reach of a short test.
  json->insert(json->find('{') + 1, "\"snapshot_interval\": 4, ");
  return std::move(GenesisInfo::Parse(*json, "bft-genesis")).value();
}

class ConsensusLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getenv("TDS_DEBUG") != nullptr) spdlog::set_level(spdlog::level::debug);
    app_.Register("test.put", std::make_unique<testing::PutHandler>());
    governance::Register(app_);
    for (int i = 0; i < kValidators; ++i) Open(i);
  }
  void TearDown() override {
    for (int i = 0; i < kReplicas; ++i) Close(i);
  }

  static std::string Id(int i) { return absl::StrCat("v", i); }

  void Open(int i) {
    LedgerOptions o;
    o.data_dir = dir_.Sub(absl::StrCat("v", i));
    o.sync = false;
    o.consensus_timeout_ms = 200;
    // The genesis validators start together; v4 joins later, from a snapshot if there is one.
    o.state_sync = i == 4;
    o.send = net_.SenderFor(Id(i));
    auto l = Ledger::Open(o, FourValidators(), KeyFromByte(10 + i), &app_);
    ASSERT_TRUE(l.ok()) << l.status();
    ledgers_[i] = std::move(*l);
    net_.Attach(Id(i), ledgers_[i].get());
  }
  void Close(int i) {
    net_.Attach(Id(i), nullptr);
    ledgers_[i].reset();
  }

  absl::StatusOr<SubmitAck> Put(int via, const std::string& body) {
    return ledgers_[via]->SubmitAndWait(
        MakeTx(*KeyFromByte(2), "bank", "test.put", body, ++nonce_));
  }

  void ExpectAllAgree(uint64_t height) {
    for (int i = 0; i < kReplicas; ++i) {
      if (ledgers_[i] == nullptr) continue;
      ASSERT_GE(ledgers_[i]->WaitForHeight(height, 30000), height) << "validator v" << i;
    }
    const LedgerStatus first = ledgers_[0]->Status();
    for (int i = 1; i < kReplicas; ++i) {
      if (ledgers_[i] == nullptr) continue;
      auto a = ledgers_[0]->GetBlock(height);
      auto b = ledgers_[i]->GetBlock(height);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(a->header(), b->header()) << "v0 and v" << i << " differ at height " << height;
    }
    (void)first;
  }

  // Proposes `body` as v<proposer> and has `voters` (member id, key byte) approve it; returns
  // the height of the block where it passed (0 on failure, reported).
  uint64_t Govern(const tds::ProposeBody& body, int proposer,
                  const std::vector<std::pair<std::string, uint8_t>>& voters) {
    auto p = ledgers_[proposer]->SubmitAndWait(MakeTx(*KeyFromByte(10 + proposer),
                                                      absl::StrCat("v", proposer), "gov.propose",
                                                      body.SerializeAsString(), ++nonce_));
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return 0;
    uint64_t height = 0;
    for (const auto& [member, key] : voters) {
      tds::VoteBody v;
      v.set_proposal_id(std::stoull(p->result));
      v.set_approve(true);
      auto r = ledgers_[proposer]->SubmitAndWait(
          MakeTx(*KeyFromByte(key), member, "gov.vote", v.SerializeAsString(), ++nonce_));
      EXPECT_TRUE(r.ok()) << member << ": " << r.status();
      if (!r.ok()) return 0;
      if (r->result == "PROPOSAL_PASSED") height = r->height;
    }
    EXPECT_GT(height, 0u) << "the proposal did not pass";
    return height;
  }

  void WaitForEpoch(uint64_t epoch, const std::vector<int>& replicas) {
    for (int i : replicas) {
      for (int k = 0; k < 3000 && ledgers_[i]->consensus_status().epoch < epoch; ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ASSERT_EQ(ledgers_[i]->consensus_status().epoch, epoch) << "v" << i;
    }
  }

  TempDir dir_;
  Application app_;
  MemoryNetwork net_;
  std::unique_ptr<Ledger> ledgers_[kReplicas];
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
  net_.SetDown("v0", true);
  Close(0);
  auto during = Put(2, "during=1");
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_GT(ledgers_[1]->consensus_status().view, view_before);
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(Put(1, absl::StrCat("k", k, "=v")).ok());
  // Back: it restores its safety record and fetches what it missed.
  net_.SetDown("v0", false);
  Open(0);
  auto after = Put(3, "after=1");
  ASSERT_TRUE(after.ok()) << after.status();
  ExpectAllAgree(after->height);
  EXPECT_EQ(ledgers_[0]->Status().state_digest, ledgers_[3]->Status().state_digest);
}

TEST_F(ConsensusLedgerTest, TwoValidatorsDownStopsCommitsUntilOneReturns) {
  ASSERT_TRUE(Put(0, "x=1").ok());
  const uint64_t height = ledgers_[0]->Status().height;
  net_.SetDown("v2", true);
  net_.SetDown("v3", true);
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
  net_.SetDown("v3", false);  // three again: the transaction commits
  ASSERT_GE(ledgers_[0]->WaitForHeight(height + 1, 30000), height + 1);
  for (int i = 0; i < 300 && !answer->done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(answer->done);
  EXPECT_TRUE(answer->ack.ok()) << answer->ack.status();
}

// Governance changes the validators twice: v4 (a provider that followed without voting) gets
// the validator role, then v1 is removed. Each change ends an epoch at the block that passed
// it; the next epoch's quorum signs from then on, and receipts from every epoch still verify
// from the genesis file alone. A validator that was down across a change catches up through
// it; one restarted after the changes resumes in the right epoch.
TEST_F(ConsensusLedgerTest, GovernanceChangesTheValidatorsAndReceiptsVerifyAcrossEpochs) {
  Open(4);  // not a validator yet: it follows
  auto before = Put(0, "epoch0=1");
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_GE(ledgers_[4]->WaitForHeight(before->height, 30000), before->height);
  EXPECT_FALSE(ledgers_[4]->consensus_status().voting);
  EXPECT_EQ(ledgers_[4]->consensus_status().validators, 4u);

  // 6 members: a proposal passes with 5 approvals (the proposer's and 4 votes).
  tds::ProposeBody add;
  add.mutable_set_roles()->set_member_id("v4");
  add.mutable_set_roles()->add_roles("provider");
  add.mutable_set_roles()->add_roles("validator");
  const uint64_t changed_at = Govern(add, 0, {{"v1", 11}, {"v2", 12}, {"v3", 13}, {"bank", 2}});
  ASSERT_GT(changed_at, 0u);
  WaitForEpoch(1, {0, 1, 2, 3, 4});
  for (int i : {0, 4}) {
    const ConsensusStatus c = ledgers_[i]->consensus_status();
    EXPECT_EQ(c.validators, 5u) << "v" << i;
    EXPECT_TRUE(c.voting) << "v" << i;
  }
  auto during = Put(4, "epoch1=1");
  ASSERT_TRUE(during.ok()) << during.status();
  ExpectAllAgree(during->height);
  {
    // Signed by epoch 1's quorum (4 of 5), which the genesis validators alone cannot be.
    auto receipt = ledgers_[4]->GetReceipt(during->txid);
    ASSERT_TRUE(receipt.ok()) << receipt.status();
    ASSERT_EQ(receipt->epoch_changes_size(), 1);
    EXPECT_TRUE(VerifyReceipt(*receipt, ledgers_[0]->genesis()).ok());
    auto note = ParseSignedNote(receipt->checkpoint());
    ASSERT_TRUE(note.ok());
    EXPECT_GE(note->signatures.size(), 4u);
    // Refusals: without the change, or with the change's header altered.
    tds::Receipt dropped = *receipt;
    dropped.clear_epoch_changes();
    auto no_change = VerifyReceipt(dropped, ledgers_[0]->genesis());
    ASSERT_FALSE(no_change.ok());
    EXPECT_THAT(std::string(no_change.status().message()),
                ::testing::HasSubstr("checkpoint is of validator epoch 1"));
    tds::Receipt forged = *receipt;
    tds::BlockHeader h;
    ASSERT_TRUE(h.ParseFromString(forged.epoch_changes(0).header()));
    h.mutable_next_validators(0)->set_id("mallory");
    forged.mutable_epoch_changes(0)->set_header(h.SerializeAsString());
    auto bad = VerifyReceipt(forged, ledgers_[0]->genesis());
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("epoch 0 change"));
  }
  // The epoch-ending block's successors in its epoch carried no transactions: the next block
  // is epoch 1's and is signed by its validators.
  {
    auto ending = ledgers_[0]->GetBlock(changed_at);
    ASSERT_TRUE(ending.ok());
    tds::BlockHeader h;
    ASSERT_TRUE(h.ParseFromString(ending->header()));
    EXPECT_EQ(h.epoch(), 0u);
    EXPECT_EQ(h.next_validators_size(), 5);
    auto next = ledgers_[0]->GetBlock(changed_at + 1);
    ASSERT_TRUE(next.ok());
    ASSERT_TRUE(h.ParseFromString(next->header()));
    EXPECT_EQ(h.epoch(), 1u);
  }

  // v3 misses the next change: it comes back in epoch 1 and must catch up through it.
  net_.SetDown("v3", true);
  tds::ProposeBody remove;
  remove.set_remove_member("v1");
  ASSERT_GT(Govern(remove, 0, {{"v2", 12}, {"v4", 14}, {"bank", 2}, {"v1", 11}}), 0u);
  WaitForEpoch(2, {0, 2, 4});
  EXPECT_EQ(ledgers_[0]->consensus_status().validators, 4u);
  EXPECT_FALSE(ledgers_[1]->consensus_status().voting);
  auto after = Put(2, "epoch2=1");
  ASSERT_TRUE(after.ok()) << after.status();
  net_.SetDown("v3", false);
  WaitForEpoch(2, {3});
  auto last = Put(3, "epoch2=2");
  ASSERT_TRUE(last.ok()) << last.status();
  ExpectAllAgree(last->height);
  EXPECT_EQ(ledgers_[3]->Status().state_digest, ledgers_[0]->Status().state_digest);

  // A restart resumes in epoch 2, and the removed v1 still follows.
  Close(2);
  Open(2);
  EXPECT_EQ(ledgers_[2]->consensus_status().epoch, 2u);
  auto resumed = Put(2, "epoch2=3");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ExpectAllAgree(resumed->height);

  // Receipts of every epoch verify from the genesis file.
  for (const auto& ack : {*before, *during, *after, *resumed}) {
    auto receipt = ledgers_[1]->GetReceipt(ack.txid);
    ASSERT_TRUE(receipt.ok()) << receipt.status();
    auto verified = VerifyReceipt(*receipt, ledgers_[0]->genesis());
    EXPECT_TRUE(verified.ok()) << "height " << ack.height << ": " << verified.status();
    auto json = ReceiptFromJson(ReceiptToJson(*receipt));
    ASSERT_TRUE(json.ok());
    EXPECT_TRUE(VerifyReceipt(*json, ledgers_[0]->genesis()).ok());
  }
}

// A replica with an empty store starts from the latest snapshot a validator offers (block 8)
// instead of replaying the chain: it has the state written before the snapshot, not the old
// blocks, and follows from there like any other.
TEST_F(ConsensusLedgerTest, NewReplicaStartsFromAStateSnapshot) {
  std::vector<SubmitAck> acks;
  for (int k = 0; k < 9; ++k) {
    auto a = Put(k % kValidators, absl::StrCat("s", k, "=", k));
    ASSERT_TRUE(a.ok()) << a.status();
    acks.push_back(*a);
  }
  const uint64_t height = ledgers_[0]->Status().height;
  ASSERT_GE(height, 8u);
  Open(4);
  ASSERT_GE(ledgers_[4]->WaitForHeight(height, 30000), height);
  auto old = ledgers_[4]->GetBlock(2);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kNotFound) << "replayed instead of syncing";
  auto early = ledgers_[4]->GetState("s0");
  ASSERT_TRUE(early.ok() && early->has_value()) << "state from before the snapshot is missing";
  EXPECT_EQ(**early, "0");
  auto next = Put(1, "after=1");
  ASSERT_TRUE(next.ok()) << next.status();
  ExpectAllAgree(next->height);
  EXPECT_EQ(ledgers_[4]->Status().state_digest, ledgers_[0]->Status().state_digest);
  // Its own receipts start at the snapshot; those before come from the others.
  EXPECT_TRUE(ledgers_[4]->GetReceipt(next->txid).ok());
}

// Tampered snapshot data is refused (its state root does not match), and the replica replays
// the chain instead.
TEST_F(ConsensusLedgerTest, TamperedSnapshotIsRefusedAndTheChainReplayed) {
  for (int k = 0; k < 8; ++k) ASSERT_TRUE(Put(k % kValidators, absl::StrCat("t", k, "=1")).ok());
  const uint64_t height = ledgers_[0]->Status().height;
  net_.SetTamper([](const std::string&, tds::ConsensusMessage* m) {
    if (m->has_snapshot_chunk() && m->snapshot_chunk().values_size() > 0) {
      m->mutable_snapshot_chunk()->set_values(0, "forged");
    }
  });
  Open(4);
  ASSERT_GE(ledgers_[4]->WaitForHeight(height, 30000), height);
  EXPECT_TRUE(ledgers_[4]->GetBlock(2).ok()) << "a forged snapshot was installed";
  EXPECT_EQ(ledgers_[4]->Status().state_digest, ledgers_[0]->Status().state_digest);
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
