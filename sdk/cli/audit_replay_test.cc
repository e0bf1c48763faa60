// `tds audit replay` and `tds audit watch` against real in-process nodes (node/server.h, gRPC on
// 127.0.0.1): an honest ledger replays and is watched growing; tampered blocks (a flipped entry
// byte, a forged checkpoint signature, headers re-signed with the validator's own key over a
// wrong state digest or a badly signed entry) are reported at their height by the right check;
// a second ledger with the same genesis but other transactions is a conflicting history.

#include "sdk/cli/audit_replay.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/file.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "ledger/test_util.h"
#include "node/server.h"
#include "proto/envelope.pb.h"
#include "sdk/cli/audit_watch.h"
#include "sdk/client.h"

namespace tds::cli {
namespace {

using ledger::testing::KeyFromByte;
using ledger::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// "node" (validator, key 1) and "bank" (consumer, key 2).
std::string GenesisJson() {
  return *ledger::BuildGenesisJson("audit.tds.test",
                                   {"node:validator:" + KeyFromByte(1)->public_key().hex(),
                                    "bank:consumer:" + KeyFromByte(2)->public_key().hex()});
}

// A validator node in `dir`, serving plaintext on a free port.
class TestNode {
 public:
  TestNode(const TempDir& dir, const std::string& name) {
    const std::string home = dir.Sub(name);
    std::filesystem::create_directories(home);
    EXPECT_TRUE(WriteFileAtomic(home + "/genesis.json", GenesisJson()).ok());
    EXPECT_TRUE(KeyFromByte(1)->WriteToFile(home + "/node.key").ok());
    tds::NodeConfig config;
    config.set_data(home + "/data");
    config.set_genesis(home + "/genesis.json");
    config.set_key(home + "/node.key");
    config.set_listen("127.0.0.1:0");
    config.set_insecure_dev(true);
    EXPECT_TRUE(node::FinalizeConfig(&config).ok());
    auto server = node::Server::Start(config);
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    options_.address = server_->address();
    options_.insecure_dev = true;
    options_.timeout_ms = 20000;
    client_ = *sdk::LedgerClient::Connect(options_);
    source_ = *ConnectLedgerSource(options_);
  }

  // One block per call: Submit returns once its block is durable.
  void Anchor(const std::string& label) {
    auto body = evidence::MakeAnchorBody(Sha256(label), "log", {});
    ASSERT_TRUE(body.ok()) << body.status();
    auto ack = client_->Submit(sdk::BuildTransaction(*KeyFromByte(2), "bank",
                                                     std::string(evidence::kAnchorTxType), *body));
    ASSERT_TRUE(ack.ok()) << ack.status();
  }
  // Several entries in (usually) one block.
  void AnchorBatch(const std::string& label, int n) {
    std::vector<std::string> envelopes;
    for (int i = 0; i < n; ++i) {
      auto body = evidence::MakeAnchorBody(Sha256(label + std::to_string(i)), "log", {});
      envelopes.push_back(sdk::BuildTransaction(*KeyFromByte(2), "bank",
                                                std::string(evidence::kAnchorTxType), *body));
    }
    auto acks = client_->SubmitBatch(envelopes);
    ASSERT_TRUE(acks.ok()) << acks.status();
    for (const auto& item : acks->items()) ASSERT_EQ(item.code(), 0) << item.message();
  }

  LedgerSource& source() { return *source_; }
  tds::GetStatusResponse Status() { return *client_->GetStatus(); }
  const std::string& address() const { return server_->address(); }

 private:
  std::unique_ptr<node::Server> server_;
  sdk::ClientOptions options_;
  std::unique_ptr<sdk::LedgerClient> client_;
  std::unique_ptr<LedgerSource> source_;
};

// Passes the node's answers through `tamper_block` / `tamper_checkpoint`.
class TamperingSource : public LedgerSource {
 public:
  explicit TamperingSource(LedgerSource& inner) : inner_(inner) {}
  std::function<void(tds::Block*)> tamper_block = [](tds::Block*) {};
  std::function<void(std::string*)> tamper_checkpoint = [](std::string*) {};

  absl::Status Blocks(uint64_t from, uint64_t to,
                      const std::function<absl::Status(tds::Block)>& fn) override {
    return inner_.Blocks(from, to, [&](tds::Block b) {
      tamper_block(&b);
      return fn(std::move(b));
    });
  }
  absl::StatusOr<tds::Block> GetBlock(uint64_t height) override {
    auto b = inner_.GetBlock(height);
    if (b.ok()) tamper_block(&*b);
    return b;
  }
  absl::StatusOr<tds::Receipt> GetReceipt(const Hash& txid) override {
    return inner_.GetReceipt(txid);
  }
  absl::StatusOr<tds::GetLatestCheckpointResponse> GetLatestCheckpoint() override {
    auto r = inner_.GetLatestCheckpoint();
    if (r.ok()) tamper_checkpoint(r->mutable_checkpoint());
    return r;
  }
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t size1, uint64_t size2) override {
    return inner_.GetConsistencyProof(size1, size2);
  }
  absl::StatusOr<uint64_t> Height() override { return inner_.Height(); }

 private:
  LedgerSource& inner_;
};

// Flips one bit of the (single) signature of a signed note.
void FlipNoteSignature(std::string* note) {
  const size_t line = note->rfind("\n", note->size() - 2) + 1;  // the last signature line
  const size_t b64 = note->rfind(' ') + 1;
  ASSERT_GT(b64, line);
  std::string raw = *Base64Decode(note->substr(b64, note->size() - 1 - b64));
  raw.back() ^= 1;  // inside the signature, after the 4-byte key id
  *note = note->substr(0, b64) + Base64Encode(raw) + "\n";
}

class AuditReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    genesis_ = std::make_unique<ledger::GenesisInfo>(
        *ledger::GenesisInfo::Parse(GenesisJson(), "genesis.json"));
    node_ = std::make_unique<TestNode>(dir_, "a");
    // Blocks 1..4 of one entry each, then a block of several.
    for (int i = 0; i < 4; ++i) node_->Anchor("doc " + std::to_string(i));
    node_->AnchorBatch("batch", 5);
    node_->Anchor("last");
    height_ = node_->Status().height();
    ASSERT_GE(height_, 6u);
  }

  absl::StatusOr<ReplaySummary> Run(LedgerSource& source, uint64_t from = 1, bool execute = true) {
    ReplayOptions o;
    o.from = from;
    if (execute) {
      o.app = app_.get();
      o.scratch_dir = dir_.Sub("scratch-" + std::to_string(runs_++));
    }
    return Replay(source, *genesis_, o);
  }

  // Block `h` as a validator holding the key could rewrite it: `edit` changes its entries and
  // header fields, then the log root is recomputed (from the node's earlier blocks) and the
  // checkpoint re-signed with the validator's key — so only deeper checks can catch it.
  tds::Block Forge(uint64_t h, const std::function<void(tds::Block*, tds::BlockHeader*)>& edit) {
    ledger::merkle::MemoryNodeStore log;
    for (uint64_t i = 1; i < h; ++i) {
      const tds::Block earlier = *node_->source().GetBlock(i);
      for (const std::string& e : earlier.entries()) log.AppendLeaf(ledger::merkle::LeafHash(e));
    }
    tds::Block block = *node_->source().GetBlock(h);
    tds::BlockHeader header;
    EXPECT_TRUE(header.ParseFromString(block.header()));
    edit(&block, &header);
    for (const std::string& e : block.entries()) log.AppendLeaf(ledger::merkle::LeafHash(e));
    header.set_log_root(std::string(AsBytes(log.Root())));
    block.set_header(header.SerializeAsString());
    ledger::Checkpoint cp;
    cp.origin = genesis_->origin();
    cp.size = header.log_size();
    cp.root = log.Root();
    cp.height = h;
    cp.block_hash = Sha256(block.header());
    const std::string body = cp.Body();
    block.set_checkpoint(
        ledger::AssembleNote(body, {ledger::SignNoteLine(body, "node", *KeyFromByte(1))}));
    return block;
  }

  TempDir dir_;
  std::unique_ptr<ledger::GenesisInfo> genesis_;
  std::unique_ptr<ledger::Application> app_ = NodeApplication();
  std::unique_ptr<TestNode> node_;
  uint64_t height_ = 0;
  int runs_ = 0;
};

TEST_F(AuditReplayTest, HonestLedgerReplaysWithReExecution) {
  auto r = Run(node_->source());
  ASSERT_TRUE(r.ok()) << r.status();
  const tds::GetStatusResponse status = node_->Status();
  EXPECT_TRUE(r->executed);
  EXPECT_EQ(r->from, 1u);
  EXPECT_EQ(r->to, height_);
  EXPECT_EQ(r->blocks, height_);
  EXPECT_EQ(r->records, 10u);
  EXPECT_EQ(r->log_size, status.log_size());
  EXPECT_EQ(AsBytes(r->log_root), status.log_root());
  EXPECT_EQ(AsBytes(r->state_digest), status.state_digest());
  std::cerr << "replay rate: " << r->records / r->seconds << " records/s (" << r->records
            << " records, " << r->cpu_seconds << " s CPU)\n";
}

TEST_F(AuditReplayTest, HonestLedgerReplaysFromAMiddleBlockWithoutState) {
  for (uint64_t from : {2u, 3u, 5u, 6u}) {  // single-entry and batch predecessors
    auto r = Run(node_->source(), from);
    ASSERT_TRUE(r.ok()) << "from " << from << ": " << r.status();
    EXPECT_FALSE(r->executed);
    EXPECT_EQ(r->blocks, height_ - from + 1);
    EXPECT_EQ(AsBytes(r->log_root), node_->Status().log_root());
  }
}

TEST_F(AuditReplayTest, RefusesAnEmptyRange) {
  ReplayOptions o;
  o.from = height_ + 1;
  o.to = height_;
  auto r = Replay(node_->source(), *genesis_, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("nothing to replay"));
  o.from = 0;
  EXPECT_EQ(Replay(node_->source(), *genesis_, o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AuditReplayTest, FlippedEntryByteIsALogRootDivergenceAtItsBlock) {
  TamperingSource tampered(node_->source());
  tampered.tamper_block = [](tds::Block* b) {
    tds::BlockHeader h;
    h.ParseFromString(b->header());
    if (h.height() != 3) return;
    std::string e = b->entries(0);
    e[e.size() / 2] ^= 1;
    b->set_entries(0, e);
  };
  for (bool execute : {true, false}) {
    auto r = Run(tampered, 1, execute);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(r.status().message()), StartsWith("block 3: log root: log root is "));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(", recomputed "));
  }
  // Starting after it, the same block is caught the same way.
  auto r = Run(tampered, 3);
  EXPECT_THAT(std::string(r.status().message()), StartsWith("block 3: log root: "));
}

TEST_F(AuditReplayTest, ForgedCheckpointSignatureIsACheckpointDivergence) {
  TamperingSource tampered(node_->source());
  tampered.tamper_block = [](tds::Block* b) {
    tds::BlockHeader h;
    h.ParseFromString(b->header());
    if (h.height() == 2) FlipNoteSignature(b->mutable_checkpoint());
  };
  auto r = Run(tampered);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("block 2: checkpoint: checkpoint: signature of validator 'node' does not "
                         "verify"));
  // Bootstrapping from the forged block refuses it too.
  r = Run(tampered, 3);
  EXPECT_THAT(std::string(r.status().message()), StartsWith("block 2: checkpoint: "));
}

TEST_F(AuditReplayTest, ChangedHeaderNoLongerMatchesItsCheckpoint) {
  TamperingSource tampered(node_->source());
  tampered.tamper_block = [](tds::Block* b) {
    tds::BlockHeader h;
    h.ParseFromString(b->header());
    if (h.height() != 4) return;
    h.set_timestamp_ms(h.timestamp_ms() + 1);
    b->set_header(h.SerializeAsString());
  };
  auto r = Run(tampered);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("block 4: checkpoint: does not match the header: its block hash is "));
}

TEST_F(AuditReplayTest, ResignedWrongStateDigestIsCaughtByReExecutionOnly) {
  const tds::Block forged = Forge(3, [](tds::Block*, tds::BlockHeader* h) {
    std::string d = h->state_digest();
    d[0] ^= 1;
    h->set_state_digest(d);
  });
  TamperingSource tampered(node_->source());
  tampered.tamper_block = [&](tds::Block* b) {
    tds::BlockHeader h;
    h.ParseFromString(b->header());
    if (h.height() == 3) *b = forged;
  };
  auto r = Run(tampered);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), StartsWith("block 3: state: "));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("state digest"));
  // Without re-execution block 3 passes, and block 4 no longer links to it.
  r = Run(tampered, 1, /*execute=*/false);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("block 4: link: previous block hash is "));
}

TEST_F(AuditReplayTest, ResignedBadEnvelopeSignatureIsAnEnvelopeDivergence) {
  // The batch's block (the others hold one entry each).
  uint64_t h = 0, first_index = 0, log_size = 0;
  for (uint64_t i = 1; i <= height_ && h == 0; ++i) {
    const tds::Block b = *node_->source().GetBlock(i);
    if (b.entries_size() >= 3) {
      h = i;
      first_index = log_size;
    }
    log_size += static_cast<uint64_t>(b.entries_size());
  }
  ASSERT_NE(h, 0u) << "no block holds three entries";
  const tds::Block forged = Forge(h, [](tds::Block* b, tds::BlockHeader*) {
    tds::Envelope env;
    ASSERT_TRUE(env.ParseFromString(b->entries(2)));
    std::string sig = env.signature();
    sig[5] ^= 1;
    env.set_signature(sig);
    b->set_entries(2, env.SerializeAsString());
  });
  TamperingSource tampered(node_->source());
  tampered.tamper_block = [&](tds::Block* b) {
    tds::BlockHeader header;
    header.ParseFromString(b->header());
    if (header.height() == h) *b = forged;
  };
  auto r = Run(tampered, 1, /*execute=*/false);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith(absl::StrCat("block ", h, ": envelope: entry 2 (log index ",
                                      first_index + 2, "): ")));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("signature"));
}

// --- watch ---

class AuditWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    genesis_ = std::make_unique<ledger::GenesisInfo>(
        *ledger::GenesisInfo::Parse(GenesisJson(), "genesis.json"));
    state_ = dir_.Sub("seen.jsonl");
  }
  absl::StatusOr<WatchRound> Watch(TestNode& node) {
    return WatchOnce(node.source(), *genesis_, state_, node.address());
  }

  TempDir dir_;
  std::unique_ptr<ledger::GenesisInfo> genesis_;
  std::string state_;
};

TEST_F(AuditWatchTest, GrowthIsAcceptedAndEveryCheckpointKept) {
  TestNode a(dir_, "a");
  a.Anchor("one");
  auto r = Watch(a);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->alert, "");
  EXPECT_TRUE(r->recorded);
  EXPECT_EQ(r->compared, 0u);
  for (int round = 0; round < 3; ++round) {
    a.AnchorBatch("more" + std::to_string(round), 3);
    r = Watch(a);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->alert, "");
    EXPECT_EQ(r->compared, static_cast<size_t>(round + 1));
  }
  r = Watch(a);  // nothing new: checked, not kept twice
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->recorded);
  auto kept = LoadSeenCheckpoints(state_, *genesis_);
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->size(), 4u);
  EXPECT_EQ(kept->front().size, 1u);
  EXPECT_EQ(kept->back().size, 10u);
  EXPECT_EQ(kept->back().node, a.address());
}

TEST_F(AuditWatchTest, AnotherHistoryOfTheSameGenesisIsAConflict) {
  TestNode a(dir_, "a");
  TestNode b(dir_, "b");
  a.Anchor("honest");
  b.Anchor("rewritten");
  ASSERT_TRUE(Watch(a).ok());
  auto r = Watch(b);  // same size 1, another root
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->alert, StartsWith("conflicting checkpoints: "));
  EXPECT_THAT(r->alert, HasSubstr("size 1 root"));
  EXPECT_TRUE(r->recorded);  // kept as evidence: the next round alerts again
  r = Watch(a);
  EXPECT_THAT(r->alert, StartsWith("conflicting checkpoints: "));
}

TEST_F(AuditWatchTest, ALongerHistoryThatDoesNotExtendIsInconsistent) {
  TestNode a(dir_, "a");
  TestNode b(dir_, "b");
  a.Anchor("honest");
  ASSERT_TRUE(Watch(a).ok());
  b.Anchor("other");
  b.Anchor("and more");
  auto r = Watch(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->alert, StartsWith("inconsistent checkpoints: the node's latest, size 2"));
  EXPECT_THAT(r->alert, HasSubstr("does not extend one seen before, size 1"));
}

TEST_F(AuditWatchTest, AShorterOtherHistoryIsAWentBackAlert) {
  TestNode a(dir_, "a");
  TestNode b(dir_, "b");
  a.Anchor("one");
  a.Anchor("two");
  ASSERT_TRUE(Watch(a).ok());
  b.Anchor("other");
  auto r = Watch(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->alert, StartsWith("the node went back: "));
}

TEST_F(AuditWatchTest, ForgedLatestCheckpointIsAnAlertAndNotKept) {
  TestNode a(dir_, "a");
  a.Anchor("one");
  TamperingSource tampered(a.source());
  tampered.tamper_checkpoint = FlipNoteSignature;
  auto r = WatchOnce(tampered, *genesis_, state_, a.address());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->alert, HasSubstr("does not verify: checkpoint: signature of validator 'node'"));
  EXPECT_FALSE(r->recorded);
  EXPECT_FALSE(std::filesystem::exists(state_));
}

TEST_F(AuditWatchTest, StateFileSurvivesATornLineAndRefusesGarbage) {
  TestNode a(dir_, "a");
  a.Anchor("one");
  ASSERT_TRUE(Watch(a).ok());
  { std::ofstream(state_, std::ios::app) << "{\"size\": 7, \"checkp"; }  // a crash mid-append
  auto kept = LoadSeenCheckpoints(state_, *genesis_);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->size(), 1u);
  a.Anchor("two");
  auto r = Watch(a);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->alert, "");
  kept = LoadSeenCheckpoints(state_, *genesis_);
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->size(), 2u);  // the torn line was cut off by the append

  { std::ofstream(state_, std::ios::app) << "not json\n"; }
  kept = LoadSeenCheckpoints(state_, *genesis_);
  EXPECT_EQ(kept.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(kept.status().message()), HasSubstr("line 3"));
}

}  // namespace
}  // namespace tds::cli
