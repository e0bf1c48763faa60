#include "ledger/ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>

#include "common/sha256.h"
#include "ledger/checkpoint.h"
#include "ledger/membership.h"
#include "ledger/merkle.h"
#include "ledger/receipt.h"
#include "ledger/test_util.h"
#include "proto/envelope.pb.h"

namespace tds::ledger {
namespace {

using ::testing::HasSubstr;
using testing::KeyFromByte;
using testing::MakeTx;

class LedgerTest : public ::testing::Test {
 protected:
  LedgerTest() { app_.Register("test.put", std::make_unique<testing::PutHandler>()); }

  std::unique_ptr<Ledger> Open(const std::string& dir, GenesisInfo genesis, uint8_t key = 1) {
    LedgerOptions opts;
    opts.data_dir = dir;
    opts.clock = [this] { return clock_ms_.load(); };
    auto l = Ledger::Open(opts, std::move(genesis), KeyFromByte(key), &app_);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? std::move(*l) : nullptr;
  }
  std::unique_ptr<Ledger> Open() { return Open(dir_.Sub("ledger"), testing::TestGenesis()); }

  std::string BankTx(const std::string& body, uint64_t nonce) {
    return MakeTx(*KeyFromByte(2), "bank", "test.put", body, nonce);
  }

  testing::TempDir dir_;
  Application app_;
  std::atomic<int64_t> clock_ms_{1'800'000'000'000};
};

TEST_F(LedgerTest, AcknowledgesWithIndexHeightAndResult) {
  auto ledger = Open();
  auto ack = ledger->SubmitAndWait(BankTx("a=1", 1));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->index, 0u);
  EXPECT_EQ(ack->height, 1u);
  EXPECT_EQ(ack->result, "ok@0");
  auto state = ledger->GetState("a");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->value_or(""), "1");
  auto rec = ledger->GetTransaction(ack->txid);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->entry, BankTx("a=1", 1).size() > 0 ? rec->entry : "");
  EXPECT_EQ(ledger->Status().log_size, 1u);
}

TEST_F(LedgerTest, ReceiptOfEveryTransactionVerifiesOffline) {
  auto ledger = Open();
  std::vector<Hash> ids;
  for (int i = 0; i < 20; ++i) {
    auto ack = ledger->SubmitAndWait(BankTx("k" + std::to_string(i) + "=v", i));
    ASSERT_TRUE(ack.ok());
    ids.push_back(ack->txid);
  }
  for (const Hash& id : ids) {
    auto receipt = ledger->GetReceipt(id);
    ASSERT_TRUE(receipt.ok()) << receipt.status();
    auto v = VerifyReceipt(*receipt, ledger->genesis());
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->txid, id);
    EXPECT_EQ(v->submitter, "bank");
    EXPECT_EQ(v->tree_size, v->index + 1);  // one transaction per block here
    EXPECT_EQ(v->height, v->index + 1);
  }
}

TEST_F(LedgerTest, ConcurrentSubmissionsShareBlocks) {
  auto ledger = Open();
  constexpr int kTxs = 2000;
  std::vector<std::promise<absl::StatusOr<SubmitAck>>> done(kTxs);
  for (int i = 0; i < kTxs; ++i) {
    ledger->Submit(BankTx("k=" + std::to_string(i), i),
                   [&done, i](absl::StatusOr<SubmitAck> r) { done[i].set_value(std::move(r)); });
  }
  std::set<uint64_t> indices;
  for (auto& d : done) {
    auto r = d.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    indices.insert(r->index);
  }
  EXPECT_EQ(indices.size(), static_cast<size_t>(kTxs));
  EXPECT_EQ(*indices.rbegin(), kTxs - 1u);
  EXPECT_LT(ledger->Status().height, static_cast<uint64_t>(kTxs)) << "group commit made no batches";
}

// Submissions are admitted in batches whose signatures are verified together: a bad signature
// among many good ones is refused alone, with the same error as when it comes by itself.
TEST_F(LedgerTest, BadSignaturesInABatchAreRefusedAloneAndTheRestCommit) {
  auto ledger = Open();
  constexpr int kTxs = 300;
  std::vector<std::promise<absl::StatusOr<SubmitAck>>> done(kTxs);
  const auto bad = [](int i) { return i % 17 == 5; };
  for (int i = 0; i < kTxs; ++i) {
    std::string tx = BankTx("k" + std::to_string(i) + "=v", i);
    if (bad(i)) {
      tds::Envelope env;
      ASSERT_TRUE(env.ParseFromString(tx));
      env.mutable_signature()->at(i % 64) ^= 0x10;
      tx = env.SerializeAsString();
    }
    ledger->Submit(std::move(tx),
                   [&done, i](absl::StatusOr<SubmitAck> r) { done[i].set_value(std::move(r)); });
  }
  uint64_t committed = 0;
  for (int i = 0; i < kTxs; ++i) {
    auto r = done[i].get_future().get();
    if (bad(i)) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << i;
      EXPECT_THAT(std::string(r.status().message()), HasSubstr("signature: does not verify"));
    } else {
      ASSERT_TRUE(r.ok()) << i << ": " << r.status();
      ++committed;
    }
  }
  EXPECT_EQ(ledger->Status().log_size, committed);
  EXPECT_EQ(committed, static_cast<uint64_t>(kTxs - 18));
}

TEST_F(LedgerTest, RefusesNonMemberAndForeignSignature) {
  auto ledger = Open();
  auto stranger = ledger->SubmitAndWait(MakeTx(*KeyFromByte(77), "mallory", "test.put", "a=1", 1));
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(stranger.status().message()),
              HasSubstr("(claiming to be 'mallory') is not a current member"));
  // Claims to be bank but is signed by the node's key.
  auto impostor = ledger->SubmitAndWait(MakeTx(*KeyFromByte(1), "bank", "test.put", "a=1", 1));
  EXPECT_EQ(impostor.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(impostor.status().message()),
              HasSubstr("not signed by the key of member 'bank'"));
  EXPECT_EQ(ledger->Status().log_size, 0u);
}

TEST_F(LedgerTest, RefusesTamperedEnvelopeAndOversizedEntry) {
  auto ledger = Open();
  std::string tx = BankTx("a=1", 1);
  tx[tx.size() / 2] ^= 1;
  EXPECT_FALSE(ledger->SubmitAndWait(tx).ok());
  auto big = ledger->SubmitAndWait(BankTx("a=" + std::string(70000, 'x'), 2));
  EXPECT_THAT(std::string(big.status().message()), HasSubstr("limit"));
  EXPECT_FALSE(ledger->SubmitAndWait("not an envelope").ok());
  EXPECT_EQ(ledger->Status().log_size, 0u);
}

TEST_F(LedgerTest, RefusesDuplicateTransaction) {
  auto ledger = Open();
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=1", 1)).ok());
  auto again = ledger->SubmitAndWait(BankTx("a=1", 1));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger->Status().log_size, 1u);
}

TEST_F(LedgerTest, RejectedTransactionLeavesNoTraceAndOthersInTheBlockCommit) {
  auto ledger = Open();
  std::promise<absl::StatusOr<SubmitAck>> a, b, c;
  ledger->Submit(BankTx("x=1", 1), [&](auto r) { a.set_value(std::move(r)); });
  ledger->Submit(BankTx("reject", 2), [&](auto r) { b.set_value(std::move(r)); });
  ledger->Submit(MakeTx(*KeyFromByte(2), "bank", "no.such.type", "", 3),
                 [&](auto r) { c.set_value(std::move(r)); });
  EXPECT_TRUE(a.get_future().get().ok());
  auto rb = b.get_future().get();
  EXPECT_EQ(rb.status().code(), absl::StatusCode::kFailedPrecondition);
  auto rc = c.get_future().get();
  EXPECT_THAT(std::string(rc.status().message()), HasSubstr("'no.such.type' is not registered"));
  EXPECT_EQ(ledger->Status().log_size, 1u);
  EXPECT_FALSE(ledger->GetState("rejected-write")->has_value());
}

TEST_F(LedgerTest, RestartRecoversEverythingAndContinues) {
  LedgerStatus before;
  std::vector<Hash> ids;
  {
    auto ledger = Open();
    for (int i = 0; i < 10; ++i)
      ids.push_back(ledger->SubmitAndWait(BankTx("k=" + std::to_string(i), i))->txid);
    before = ledger->Status();
  }
  auto ledger = Open();
  const LedgerStatus after = ledger->Status();
  EXPECT_EQ(after.height, before.height);
  EXPECT_EQ(after.log_size, before.log_size);
  EXPECT_EQ(after.log_root, before.log_root);
  EXPECT_EQ(after.state_digest, before.state_digest);
  EXPECT_EQ(after.last_block_hash, before.last_block_hash);
  for (const Hash& id : ids) {
    auto receipt = ledger->GetReceipt(id);
    ASSERT_TRUE(receipt.ok());
    EXPECT_TRUE(VerifyReceipt(*receipt, ledger->genesis()).ok());
  }
  auto ack = ledger->SubmitAndWait(BankTx("k=new", 100));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->index, 10u);
  EXPECT_EQ(ack->height, before.height + 1);
  EXPECT_EQ(ledger->GetState("k")->value_or(""), "new");
}

TEST_F(LedgerTest, RefusesDataDirectoryOfAnotherGenesis) {
  { auto ledger = Open(); }
  LedgerOptions opts;
  opts.data_dir = dir_.Sub("ledger");
  auto other = Ledger::Open(opts, testing::TestGenesis("another/space"), KeyFromByte(1), &app_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("refusing to mix ledgers"));
}

TEST_F(LedgerTest, RefusesNodeKeyThatIsNotAValidator) {
  LedgerOptions opts;
  opts.data_dir = dir_.Sub("ledger");
  auto l = Ledger::Open(opts, testing::TestGenesis(), KeyFromByte(2), &app_);  // bank: consumer
  EXPECT_THAT(std::string(l.status().message()), HasSubstr("not the key of a validator"));
}

TEST_F(LedgerTest, BlocksChainToGenesisAndCarryTheirCheckpoint) {
  auto ledger = Open();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(ledger->SubmitAndWait(BankTx("k=" + std::to_string(i), i)).ok());
  Hash prev = ledger->genesis().digest();
  uint64_t size = 0;
  for (uint64_t h = 1; h <= ledger->Status().height; ++h) {
    auto block = ledger->GetBlock(h);
    ASSERT_TRUE(block.ok());
    tds::BlockHeader header;
    ASSERT_TRUE(header.ParseFromString(block->header()));
    EXPECT_EQ(header.height(), h);
    EXPECT_EQ(header.prev_block_hash(), std::string(AsBytes(prev)));
    EXPECT_EQ(header.proposer(), "node");
    EXPECT_EQ(static_cast<size_t>(block->entries_size()), header.tx_count());
    size += header.tx_count();
    EXPECT_EQ(header.log_size(), size);
    auto cp = VerifyCheckpoint(block->checkpoint(), ledger->genesis());
    ASSERT_TRUE(cp.ok()) << cp.status();
    EXPECT_EQ(cp->height, h);
    EXPECT_EQ(cp->block_hash, Sha256(block->header()));
    EXPECT_EQ(std::string(AsBytes(cp->root)), header.log_root());
    prev = Sha256(block->header());
  }
  EXPECT_EQ(ledger->GetBlock(99).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LedgerTest, ConsistencyProofLinksOldAndNewCheckpoints) {
  auto ledger = Open();
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=1", 1)).ok());
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=2", 2)).ok());
  auto old_cp = VerifyCheckpoint(ledger->LatestCheckpoint(), ledger->genesis());
  for (int i = 3; i < 12; ++i)
    ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=" + std::to_string(i), i)).ok());
  auto new_cp = VerifyCheckpoint(ledger->LatestCheckpoint(), ledger->genesis());
  ASSERT_TRUE(old_cp.ok() && new_cp.ok());
  auto proof = ledger->ConsistencyProof(old_cp->size, new_cp->size);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(
      merkle::VerifyConsistency(old_cp->size, new_cp->size, *proof, old_cp->root, new_cp->root)
          .ok());
  EXPECT_EQ(ledger->ConsistencyProof(1, 1000).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(LedgerTest, SameTransactionsGiveSameRootsAndStateDigest) {
  auto run = [&](const std::string& dir) {
    auto ledger = Open(dir, testing::TestGenesis());
    for (int i = 0; i < 5; ++i)
      EXPECT_TRUE(
          ledger->SubmitAndWait(BankTx("k" + std::to_string(i % 2) + "=" + std::to_string(i), i))
              .ok());
    return ledger->Status();
  };
  const LedgerStatus a = run(dir_.Sub("a"));
  const LedgerStatus b = run(dir_.Sub("b"));
  EXPECT_EQ(a.log_root, b.log_root);
  EXPECT_EQ(a.state_digest, b.state_digest);
  EXPECT_EQ(a.last_block_hash, b.last_block_hash);
}

// "test.member": body "+id:keyhex" admits a consumer, "-id" removes a member — the way
// governance changes membership, without its voting.
class MemberHandler : public TxHandler {
 public:
  absl::StatusOr<std::string> Apply(const TxContext&, std::string_view body,
                                    StateWriter& state) const override {
    if (body.empty()) return absl::InvalidArgumentError("empty");
    const std::string rest(body.substr(1));
    if (body[0] == '-') {
      state.Delete(MemberStateKey(rest));
      return std::string();
    }
    const size_t colon = rest.find(':');
    tds::Member m;
    m.set_id(rest.substr(0, colon));
    m.add_roles("consumer");
    m.set_public_key(rest.substr(colon + 1));
    state.Put(MemberStateKey(m.id()), m.SerializeAsString());
    return std::string();
  }
};

class MembershipTest : public LedgerTest {
 protected:
  MembershipTest() { app_.Register("test.member", std::make_unique<MemberHandler>()); }
  std::string NodeTx(const std::string& body, uint64_t nonce) {
    return MakeTx(*KeyFromByte(1), "node", "test.member", body, nonce);
  }
};

TEST_F(MembershipTest, GenesisMembersAreSeededIntoStateAtBlockOne) {
  auto ledger = Open();
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=1", 1)).ok());
  auto bank = ReadMember(ledger->state(), "bank");
  ASSERT_TRUE(bank.ok() && bank->has_value());
  EXPECT_EQ((*bank)->public_key(), KeyFromByte(2)->public_key().hex());
  EXPECT_TRUE(RequireRole(ledger->state(), "node", "validator").ok());
  EXPECT_THAT(std::string(RequireRole(ledger->state(), "bank", "provider").status().message()),
              HasSubstr("member 'bank' lacks role 'provider'"));
  EXPECT_THAT(std::string(RequireRole(ledger->state(), "eve", "consumer").status().message()),
              HasSubstr("'eve' is not a current member"));
}

TEST_F(MembershipTest, AdmittedMemberMaySubmitAndRemovedMemberMayNot) {
  auto ledger = Open();
  const std::string carol_key = KeyFromByte(3)->public_key().hex();
  auto before = ledger->SubmitAndWait(MakeTx(*KeyFromByte(3), "carol", "test.put", "c=1", 1));
  EXPECT_EQ(before.status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(ledger->SubmitAndWait(NodeTx("+carol:" + carol_key, 1)).ok());
  ASSERT_TRUE(ledger->SubmitAndWait(MakeTx(*KeyFromByte(3), "carol", "test.put", "c=1", 2)).ok());
  ASSERT_TRUE(ledger->SubmitAndWait(NodeTx("-carol", 2)).ok());
  auto after = ledger->SubmitAndWait(MakeTx(*KeyFromByte(3), "carol", "test.put", "c=2", 3));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kPermissionDenied);
  // The cache is rebuilt from state on restart.
  ledger.reset();
  ledger = Open();
  EXPECT_FALSE(ledger->SubmitAndWait(MakeTx(*KeyFromByte(3), "carol", "test.put", "c=3", 4)).ok());
  EXPECT_TRUE(ledger->SubmitAndWait(BankTx("b=1", 9)).ok());
}

TEST_F(MembershipTest, RemovalTakesEffectForLaterTransactionsOfTheSameBlock) {
  auto ledger = Open();
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=1", 1)).ok());
  std::promise<absl::StatusOr<SubmitAck>> removal, late;
  ledger->Submit(NodeTx("-bank", 5), [&](auto r) { removal.set_value(std::move(r)); });
  ledger->Submit(BankTx("a=2", 2), [&](auto r) { late.set_value(std::move(r)); });
  ASSERT_TRUE(removal.get_future().get().ok());
  auto r = late.get_future().get();
  // Either refused at admission (after the removal committed) or at apply (same block).
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("member"));
}

TEST_F(LedgerTest, ObserverSeesInitialStateThenEveryBlock) {
  auto ledger = Open();
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=1", 1)).ok());
  std::vector<std::string> seen;
  std::vector<uint64_t> heights;
  ledger->Observe([&](const StateReader& state) { seen.push_back(state.Get("a")->value_or("?")); },
                  [&](uint64_t height, int64_t, const Ledger::StateWrites& writes) {
                    heights.push_back(height);
                    auto it = writes.find("a");
                    if (it != writes.end()) seen.push_back(it->second.value_or("deleted"));
                  });
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=2", 2)).ok());
  ASSERT_TRUE(ledger->SubmitAndWait(BankTx("a=3", 3)).ok());
  EXPECT_THAT(seen, ::testing::ElementsAre("1", "2", "3"));
  EXPECT_THAT(heights, ::testing::ElementsAre(2, 3));
}

class FollowerTest : public MembershipTest {
 protected:
  std::unique_ptr<Ledger> OpenFollower(const std::string& dir, const Application* app) {
    LedgerOptions opts;
    opts.data_dir = dir;
    opts.follower = true;
    auto l = Ledger::Open(opts, testing::TestGenesis(), nullptr, app);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? std::move(*l) : nullptr;
  }
  // A validator history with several blocks, a membership change and a rejected transaction.
  std::unique_ptr<Ledger> ValidatorWithHistory() {
    auto v = Open();
    EXPECT_TRUE(v->SubmitAndWait(BankTx("a=1", 1)).ok());
    EXPECT_TRUE(v->SubmitAndWait(NodeTx("+carol:" + KeyFromByte(3)->public_key().hex(), 2)).ok());
    std::vector<std::promise<absl::StatusOr<SubmitAck>>> done(20);
    for (int i = 0; i < 20; ++i) {
      v->Submit(i == 7 ? BankTx("reject", 100 + i)
                       : MakeTx(*KeyFromByte(3), "carol", "test.put", "c=" + std::to_string(i), i),
                [&done, i](auto r) { done[i].set_value(std::move(r)); });
    }
    for (auto& d : done) d.get_future().get();
    return v;
  }
};

TEST_F(FollowerTest, ReplayingTheValidatorsBlocksReachesTheSameLedger) {
  auto validator = ValidatorWithHistory();
  auto follower = OpenFollower(dir_.Sub("follower"), &app_);
  for (uint64_t h = 1; h <= validator->Status().height; ++h) {
    auto block = validator->GetBlock(h);
    ASSERT_TRUE(block.ok());
    ASSERT_TRUE(follower->ApplyBlock(*block).ok()) << "height " << h;
  }
  const LedgerStatus a = validator->Status();
  const LedgerStatus b = follower->Status();
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.log_root, b.log_root);
  EXPECT_EQ(a.state_digest, b.state_digest);
  EXPECT_EQ(a.last_block_hash, b.last_block_hash);
  EXPECT_EQ(follower->GetState("c")->value_or(""), validator->GetState("c")->value_or("?"));
  auto ack = validator->SubmitAndWait(BankTx("z=1", 999));
  ASSERT_TRUE(ack.ok());
  ASSERT_TRUE(follower->ApplyBlock(*validator->GetBlock(ack->height)).ok());
  auto receipt = follower->GetReceipt(ack->txid);
  ASSERT_TRUE(receipt.ok());
  EXPECT_TRUE(VerifyReceipt(*receipt, follower->genesis()).ok());
  auto local = follower->SubmitAndWait(BankTx("y=1", 5));
  EXPECT_EQ(local.status().code(), absl::StatusCode::kFailedPrecondition);
  // Restart resumes at its height.
  follower.reset();
  follower = OpenFollower(dir_.Sub("follower"), &app_);
  EXPECT_EQ(follower->Status().height, validator->Status().height);
  EXPECT_EQ(follower->ApplyBlock(*validator->GetBlock(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(FollowerTest, TamperedOrMisplacedBlocksAreRefusedAndNothingIsStored) {
  auto validator = ValidatorWithHistory();
  auto follower = OpenFollower(dir_.Sub("follower"), &app_);
  ASSERT_TRUE(follower->ApplyBlock(*validator->GetBlock(1)).ok());
  const tds::Block next = *validator->GetBlock(2);

  auto expect_refused = [&](const tds::Block& b, const std::string& what) {
    auto s = follower->ApplyBlock(b);
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(std::string(s.message()), HasSubstr(what));
    EXPECT_EQ(follower->Status().height, 1u);
  };
  tds::Block skipped = *validator->GetBlock(3);
  expect_refused(skipped, "expected height 2");

  tds::Block entry = next;
  std::string e = entry.entries(0);
  e[e.size() - 70] ^= 1;
  entry.set_entries(0, e);
  expect_refused(entry, "entry 0");

  tds::Block header = next;
  tds::BlockHeader h;
  h.ParseFromString(header.header());
  h.set_timestamp_ms(h.timestamp_ms() + 1);
  header.set_header(h.SerializeAsString());
  expect_refused(header, "checkpoint does not match the header");

  tds::Block unsigned_block = next;
  unsigned_block.set_checkpoint(
      next.checkpoint().substr(0, next.checkpoint().find("\n\n") + 2) +
      SignNoteLine(next.checkpoint().substr(0, next.checkpoint().find("\n\n") + 1), "node",
                   *KeyFromByte(9)));
  expect_refused(unsigned_block, "checkpoint");

  ASSERT_TRUE(follower->ApplyBlock(next).ok());
  EXPECT_EQ(follower->Status().height, 2u);
}

TEST_F(FollowerTest, DivergentApplicationIsDetected) {
  auto validator = ValidatorWithHistory();
  Application other;  // lacks "test.member": carol's admission cannot be replayed
  other.Register("test.put", std::make_unique<testing::PutHandler>());
  auto follower = OpenFollower(dir_.Sub("follower"), &other);
  ASSERT_TRUE(follower->ApplyBlock(*validator->GetBlock(1)).ok());
  auto s = follower->ApplyBlock(*validator->GetBlock(2));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("diverges"));
  EXPECT_EQ(follower->Status().height, 1u);
}

}  // namespace
}  // namespace tds::ledger
