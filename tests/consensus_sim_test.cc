// The consensus core under the seeded simulator (tests/consensus_sim.h): a thousand random
// seeds of chaos, crashes and Byzantine replicas, plus focused scenarios.
//
// A failing seed prints its reproduction line; TDS_SIM_SEED=<seed> runs just that seed (with
// the batch's options) and traces every step to stderr.

#include "tests/consensus_sim.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/consensus.pb.h"

namespace tds::consensus::sim {
namespace {

constexpr uint64_t kSeedsPerShard = 100;
constexpr int kShards = 10;

// Shorter than the benchmark's scenario, so a thousand seeds fit the test budget.
SimOptions BatchOptions() {
  SimOptions o;
  o.chaos_ms = 8000;
  o.chaos_txs = 12;
  o.final_txs = 4;
  return o;
}

std::string Reproduce(uint64_t seed) {
  return absl::StrCat("reproduce: TDS_SIM_SEED=", seed,
                      " build/tests/consensus_sim_test --gtest_filter=ConsensusSim.EnvSeed");
}

uint64_t EnvSeed() {
  const char* s = std::getenv("TDS_SIM_SEED");
  return s == nullptr ? 0 : std::strtoull(s, nullptr, 10);
}

// Waits until every replica in `rs` committed every tx in `txs`.
std::function<bool()> Committed(const Simulation& sim, std::vector<int> rs,
                                std::vector<std::string> txs) {
  return [&sim, rs, txs] {
    for (int r : rs) {
      for (const std::string& tx : txs) {
        if (!sim.HasCommitted(r, tx)) return false;
      }
    }
    return true;
  };
}

// Why RunUntil returned false.
std::string Why(const Simulation& sim) {
  return sim.ok() ? absl::StrCat("not reached by t=", sim.now_ms(), " ms") : sim.failure();
}

std::vector<std::string> Txs(const std::string& prefix, int count) {
  std::vector<std::string> txs;
  for (int i = 0; i < count; ++i) txs.push_back(absl::StrCat(prefix, i));
  return txs;
}

SimOptions Calm(int n) {
  SimOptions o;
  o.n = n;
  o.byzantine = 0;
  o.chaos = false;
  o.crashes = false;
  return o;
}

// ---- random seeds -------------------------------------------------------------------------

class SeedShard : public ::testing::TestWithParam<int> {};

TEST_P(SeedShard, HoldsSafetyAndLiveness) {
  if (EnvSeed() != 0) GTEST_SKIP() << "TDS_SIM_SEED is set: only ConsensusSim.EnvSeed runs it";
  const SimOptions options = BatchOptions();
  const uint64_t first = 1 + GetParam() * kSeedsPerShard;
  uint64_t commits = 0, view_changes = 0, crashes = 0, crafted = 0;
  int failures = 0;
  for (uint64_t seed = first; seed < first + kSeedsPerShard; ++seed) {
    const SimResult r = RunSeed(seed, options);
    commits += r.commits;
    view_changes += r.view_changes;
    crashes += r.crashes;
    crafted += r.crafted;
    if (r.ok) continue;
    // The first failures in full; then one line each.
    if (++failures <= 2) {
      ADD_FAILURE() << r.failure << "\n" << Reproduce(seed);
    } else {
      ADD_FAILURE() << r.failure.substr(0, r.failure.find('\n')) << "\n" << Reproduce(seed);
    }
  }
  // The seeds exercised what they should.
  EXPECT_GT(commits, 10 * kSeedsPerShard);
  EXPECT_GT(view_changes, kSeedsPerShard);
  EXPECT_GT(crashes, kSeedsPerShard / 2);
  EXPECT_GT(crafted, kSeedsPerShard);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SeedShard, ::testing::Range(0, kShards));

TEST(ConsensusSim, EnvSeed) {
  const uint64_t seed = EnvSeed();
  if (seed == 0) GTEST_SKIP() << "set TDS_SIM_SEED=<seed> to replay one seed with a trace";
  SimOptions options = BatchOptions();
  options.verbose = true;
  const SimResult r = RunSeed(seed, options);
  EXPECT_TRUE(r.ok) << r.failure;
  std::fprintf(stderr, "seed %llu: n=%d byzantine=%d commits=%llu view_changes=%llu steps=%llu\n",
               static_cast<unsigned long long>(seed), r.n, r.byzantine,
               static_cast<unsigned long long>(r.commits),
               static_cast<unsigned long long>(r.view_changes),
               static_cast<unsigned long long>(r.steps));
}

TEST(ConsensusSim, SameSeedSameRun) {
  for (uint64_t seed : {3u, 17u, 4242u}) {
    const SimResult a = RunSeed(seed, BatchOptions());
    const SimResult b = RunSeed(seed, BatchOptions());
    EXPECT_EQ(a.failure, b.failure);
    EXPECT_GT(a.steps, 100u);
    EXPECT_EQ(a.steps, b.steps);
    EXPECT_EQ(a.messages, b.messages);
    EXPECT_EQ(a.commits, b.commits);
    EXPECT_EQ(a.sim_ms, b.sim_ms);
  }
}

// ---- focused scenarios ----------------------------------------------------------------------

TEST(ConsensusSim, SingleReplicaCommitsAlone) {
  Simulation sim(1, Calm(1));
  const std::vector<std::string> txs = Txs("solo", 20);
  for (const std::string& tx : txs) sim.InjectTx(tx);
  ASSERT_TRUE(sim.RunUntil(10'000, Committed(sim, {0}, txs))) << Why(sim);
  for (const std::string& tx : txs) EXPECT_TRUE(sim.HasCommitted(0, tx)) << tx;
  EXPECT_EQ(sim.status(0).view, 0u);
  EXPECT_GE(sim.committed(0).size(), 3u);  // 20 txs, at most 8 per block
}

TEST(ConsensusSim, HappyPathCommitsEveryTransactionOnce) {
  Simulation sim(2, Calm(4));
  const std::vector<std::string> txs = Txs("happy", 30);
  for (size_t i = 0; i < txs.size(); ++i) {
    sim.InjectTx(txs[i]);
    ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 37)) << Why(sim);
  }
  ASSERT_TRUE(sim.RunUntil(60'000, Committed(sim, {0, 1, 2, 3}, txs))) << Why(sim);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(sim.status(r).view, 0u) << "a calm network needs no view change";
    EXPECT_EQ(sim.refused(r), 0u);
  }
  // Every replica committed the same chain (one may lag by the last blocks).
  const std::vector<Hash> chain = sim.committed(0);
  for (int r = 1; r < 4; ++r) {
    const std::vector<Hash> other = sim.committed(r);
    const size_t common = std::min(chain.size(), other.size());
    EXPECT_TRUE(std::equal(chain.begin(), chain.begin() + common, other.begin())) << r;
  }
}

TEST(ConsensusSim, EquivocatingLeaderNeverCausesConflictingCommits) {
  uint64_t equivocations = 0, crafted = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimOptions o = BatchOptions();
    o.n = seed % 4 == 0 ? 7 : 4;
    o.byzantine_ids = o.n == 7 ? std::vector<int>{0, 3} : std::vector<int>{0};
    o.attacks = kEquivocate | kDoubleVote;
    o.chaos = seed % 2 == 0;
    o.crashes = false;  // the batch mixes crashes in
    const SimResult r = RunSeed(seed, o);
    ASSERT_TRUE(r.ok) << r.failure;
    equivocations += r.equivocations;
    crafted += r.crafted;
  }
  EXPECT_GT(equivocations, 20u);
  EXPECT_GT(crafted, equivocations);  // double votes and forks too
}

// A replica that crashes between persisting its timeout and sending it restarts unable to vote
// in the view it gave up (its persisted highest_vote_round covers the whole view); the
// simulator's double-vote and vote-after-timeout checks run throughout.
TEST(ConsensusSim, RestartMidViewChangeDoesNotDoubleVote) {
  Simulation sim(3, Calm(4));
  sim.InjectTx("before");
  ASSERT_TRUE(sim.RunUntil(5'000, Committed(sim, {0, 1, 2, 3}, {"before"}))) << Why(sim);
  const uint64_t view = sim.status(1).view;

  sim.Partition({0});  // the leader of view 0 is cut off: the others time out
  sim.CrashAfter(1, [](const Action& a) {
    const auto* p = std::get_if<PersistAction>(&a);
    return p != nullptr && p->state.highest_vote_round() == LastRound(p->state.view());
  });
  sim.InjectTx("during", {1, 2, 3});
  ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 30'000, [&] { return !sim.up(1); })) << Why(sim);
  ASSERT_FALSE(sim.up(1)) << "replica 1 never timed out";
  EXPECT_GE(sim.persisted(1).highest_vote_round(), LastRound(view));
  const int64_t crashed_at = sim.now_ms();

  ASSERT_TRUE(sim.RunUntil(crashed_at + 200)) << Why(sim);
  sim.Restart(1);
  EXPECT_GE(sim.status(1).highest_vote_round, LastRound(view));
  sim.Heal();
  sim.InjectTx("after");
  ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 120'000,
                           Committed(sim, {0, 1, 2, 3}, {"before", "during", "after"})))
      << Why(sim);
  EXPECT_GT(sim.status(1).view, view);
}

// Crashing right after persisting a vote, before sending it, and restarting: the replica does
// not vote again at that round.
TEST(ConsensusSim, RestartAfterPersistingAVoteDoesNotVoteAgain) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SimOptions o = Calm(4);
    o.byzantine_ids = {0};  // an equivocating leader offers a second block at each round
    o.attacks = kEquivocate;
    Simulation sim(seed, o);
    for (int r = 1; r <= 2; ++r) {
      sim.CrashAfter(r, [](const Action& a) {
        const auto* p = std::get_if<PersistAction>(&a);
        return p != nullptr && p->state.highest_vote_round() != LastRound(p->state.view());
      });
    }
    const std::vector<std::string> txs = Txs("v", 12);
    for (const std::string& tx : txs) sim.InjectTx(tx);
    ASSERT_TRUE(sim.RunUntil(300, [&] { return !sim.up(1) && !sim.up(2); })) << Why(sim);
    ASSERT_FALSE(sim.up(1));
    ASSERT_FALSE(sim.up(2));
    for (int r = 1; r <= 2; ++r) {
      EXPECT_GT(sim.persisted(r).highest_vote_round(), 0u);
      sim.Restart(r);
    }
    for (const std::string& tx : txs) sim.InjectTx(tx, {1, 2});  // their mempools were lost
    ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 120'000, Committed(sim, {1, 2, 3}, txs))) << Why(sim);
  }
}

TEST(ConsensusSim, RefusesBadSignaturesMalformedAndOversizedMessages) {
  // Random seeds with a Byzantine replica that forges signatures, oversizes proposals and
  // sends garbage: the simulator fails any seed where an honest core accepts one of them.
  uint64_t must_refuse = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimOptions o = BatchOptions();
    o.n = 4;
    o.byzantine = 1;
    o.attacks = kBadSignature | kMalformed | kOversized;
    o.crashes = false;
    const SimResult r = RunSeed(seed, o);
    ASSERT_TRUE(r.ok) << r.failure;
    must_refuse += r.must_refuse;
    refused += r.refused;
  }
  EXPECT_GT(must_refuse, 20u);
  EXPECT_GE(refused, must_refuse);

  // Scripted: raw bytes at honest replicas, while they commit as usual.
  Simulation sim(5, Calm(4));
  const std::vector<std::string> txs = Txs("r", 10);
  for (const std::string& tx : txs) sim.InjectTx(tx);
  sim.SendRaw(3, 1, "", /*must_refuse=*/true);          // no kind
  sim.SendRaw(3, 2, std::string("\x32\x00", 2), true);  // an empty TxBatch: not the core's
  sim.SendRaw(3, 1, std::string("\x0a\x04\x0a\x02\x08\x05", 6), true);  // v3 proposes r=5
  sim.SendRaw(3, 2, "\xff\xff\xff\xff", false);                         // does not parse: dropped
  ASSERT_TRUE(sim.RunUntil(60'000, Committed(sim, {0, 1, 2, 3}, txs))) << Why(sim);
  EXPECT_EQ(sim.refused(1), 2u);
  EXPECT_EQ(sim.refused(2), 1u);
  EXPECT_EQ(sim.refused(0), 0u);
  EXPECT_EQ(sim.committed(1), sim.committed(0));
  EXPECT_EQ(sim.committed(2), sim.committed(0));
}

// A Byzantine leader that proposes only empty blocks keeps every QC coming; its view must still
// time out (empty blocks while transactions wait are no progress) so that the next leader
// orders them.
TEST(ConsensusSim, CensoringLeaderIsReplaced) {
  SimOptions o = Calm(4);
  o.byzantine_ids = {0};  // leads view 0
  o.attacks = kCensor;
  o.chaos_ms = 2000;
  o.chaos_txs = 2;
  o.liveness_ms = 30'000;
  const SimResult r = RunSeed(1, o);
  EXPECT_TRUE(r.ok) << r.failure.substr(0, r.failure.find('\n'));
  EXPECT_GT(r.crafted, 0u);
}

// The checks themselves fail when they should.
TEST(ConsensusSim, ReportsAcceptedMustRefuseMessagesAndLivenessFailures) {
  Simulation sim(8, Calm(4));
  tds::ConsensusMessage m;
  m.mutable_block_request()->set_id(std::string(32, 'x'));  // a fine request
  sim.SendRaw(3, 1, m.SerializeAsString(), /*must_refuse=*/true);
  EXPECT_FALSE(sim.RunUntil(1'000));
  EXPECT_NE(sim.failure().find("accepted a message it must refuse"), std::string::npos) << Why(sim);

  SimOptions o = BatchOptions();
  o.liveness_ms = 1;  // no time to commit anything after the heal
  const SimResult r = RunSeed(8, o);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("LIVENESS"), std::string::npos) << r.failure;
  EXPECT_NE(r.failure.find("trace lines"), std::string::npos) << r.failure;
}

TEST(ConsensusSim, LivenessAfterPartitionHeals) {
  Simulation sim(6, Calm(4));
  sim.Partition({0, 1});  // neither side holds a quorum of 3
  const std::vector<std::string> txs = Txs("p", 6);
  for (const std::string& tx : txs) sim.InjectTx(tx);
  ASSERT_TRUE(sim.RunUntil(20'000)) << Why(sim);
  for (int r = 0; r < 4; ++r) EXPECT_TRUE(sim.committed(r).empty()) << r;
  sim.Heal();
  ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 120'000, Committed(sim, {0, 1, 2, 3}, txs))) << Why(sim);
}

TEST(ConsensusSim, LaggingReplicaCatchesUpByFetchingBlocks) {
  Simulation sim(7, Calm(4));
  sim.Partition({3});
  const std::vector<std::string> txs = Txs("lag", 40);
  for (const std::string& tx : txs) {
    sim.InjectTx(tx, {0, 1, 2});
    ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 50)) << Why(sim);
  }
  ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 60'000, Committed(sim, {0, 1, 2}, txs))) << Why(sim);
  EXPECT_TRUE(sim.committed(3).empty());
  const uint64_t requests_before = sim.result().block_requests;
  sim.Heal();
  sim.InjectTx("wake", {0, 1, 2});
  std::vector<std::string> all = txs;
  all.push_back("wake");
  ASSERT_TRUE(sim.RunUntil(sim.now_ms() + 60'000, Committed(sim, {0, 1, 2, 3}, all))) << Why(sim);
  EXPECT_GT(sim.result().block_requests, requests_before);
  const std::vector<Hash> lagger = sim.committed(3);
  const std::vector<Hash> leader = sim.committed(0);
  ASSERT_LE(lagger.size(), leader.size());
  EXPECT_TRUE(std::equal(lagger.begin(), lagger.end(), leader.begin()));
}

}  // namespace
}  // namespace tds::consensus::sim
