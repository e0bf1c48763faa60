#include "tests/consensus_sim.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/ledger.pb.h"

namespace tds::consensus::sim {
namespace {

constexpr char kOrigin[] = "sim.tds";

// Byzantine garbage makes protobuf log parse errors (invalid UTF-8) by the thousand; the
// simulator counts refusals instead. Installed before main, as SetLogHandler is not thread-safe.
void IgnoreProtobufLog(google::protobuf::LogLevel, const char*, int, const std::string&) {}
[[maybe_unused]] const bool kQuietProtobuf =
    (google::protobuf::SetLogHandler(&IgnoreProtobufLog), true);

constexpr size_t kMaxReplicas = 7;
constexpr size_t kMaxTxsPerBlock = 8;

// ---- determinism ----------------------------------------------------------------------------

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// xoshiro256**, seeded through splitmix64: the only source of randomness in a run.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = SplitMix64(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  uint64_t Uniform(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Uniform(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(v.size())];
  }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Uniform(i)]);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// ---- blocks ---------------------------------------------------------------------------------

const Hash& GenesisId() {
  static const Hash id = Sha256("sim-genesis");
  return id;
}
const Hash& GenesisDigest() {
  static const Hash d = Sha256("sim-genesis-state");
  return d;
}

// Validator keys from fixed seeds: the same in every run, so only the scenario varies.
const SigningKey& Key(size_t i) {
  static const std::vector<std::unique_ptr<SigningKey>> keys = [] {
    std::vector<std::unique_ptr<SigningKey>> k;
    for (size_t j = 0; j < kMaxReplicas; ++j) {
      const Hash seed = Sha256(absl::StrCat("tds-sim-validator-", j));
      k.push_back(*SigningKey::FromSeed(AsBytes(seed)));
    }
    return k;
  }();
  return *keys[i];
}

std::string Short(const Hash& id) { return HexEncode(id).substr(0, 8); }
std::string RoundText(uint64_t round) {
  return absl::StrCat(ViewOf(round), ".", round & 0xffffffffu);
}

// The toy application's block description (BlockApp::DescribeHeader): any replica, and the
// checker, computes the same id and vote body from the header alone.
absl::StatusOr<BlockInfo> ToyDescribe(const tds::BlockRef& ref) {
  tds::BlockHeader h;
  if (!h.ParseFromString(ref.header())) return absl::InvalidArgumentError("unparsable header");
  if (h.round() != ref.round() || h.parent_id() != ref.parent()) {
    return absl::InvalidArgumentError("header's round or parent differs from the block's");
  }
  BlockInfo info;
  info.id = Sha256(ref.header());
  info.vote_body = absl::StrCat(kOrigin, "\ntoy ", Base64Encode(AsBytes(info.id)), "\n");
  return info;
}

// Any block ref, as the core describes it (genesis, empty, or through the toy app).
absl::StatusOr<BlockInfo> Describe(const tds::BlockRef& ref) {
  if (ref.round() == 0) {
    if (!ref.parent().empty() || !ref.header().empty()) {
      return absl::InvalidArgumentError("round-0 block other than genesis");
    }
    return BlockInfo{GenesisId(), ""};
  }
  auto parent = HashFromBytes(ref.parent(), "parent");
  if (!parent.ok()) return parent.status();
  if (ref.header().empty()) return EmptyBlockInfo(kOrigin, ref.round(), *parent);
  return ToyDescribe(ref);
}

// The toy execution result: SHA-256(parent digest || (len64 || entry)*).
Hash DigestOver(const Hash& parent, const std::vector<std::string>& entries) {
  if (entries.empty()) return parent;
  Sha256Hasher h;
  h.Update(AsBytes(parent));
  for (const std::string& e : entries) {
    std::string len;
    PutFixed64BE(&len, e.size());
    h.Update(len).Update(e);
  }
  return h.Finish();
}

// A block with transactions over `parent`, as the toy app builds it.
tds::BlockRef ToyRef(uint64_t round, const Hash& parent, const Hash& parent_digest,
                     const std::vector<std::string>& txs, const std::string& proposer) {
  tds::BlockHeader h;
  h.set_round(round);
  h.set_parent_id(std::string(AsBytes(parent)));
  h.set_tx_count(static_cast<uint32_t>(txs.size()));
  const Hash digest = DigestOver(parent_digest, txs);
  h.set_state_digest(std::string(AsBytes(digest)));
  h.set_proposer(proposer);
  tds::BlockRef ref;
  ref.set_round(round);
  ref.set_parent(std::string(AsBytes(parent)));
  ref.set_header(h.SerializeAsString());
  return ref;
}

struct Committed {
  Hash id{};
  tds::BlockProposal block;
  tds::QuorumCert qc;
  Hash digest{};
};

// ---- the toy application --------------------------------------------------------------------

// Transactions are strings; a block's result is a digest chained over its parent's. Restores
// itself from the replica's durable committed chain, and serves it to lagging peers. Records the
// first breach of the BlockApp contract by the core (violation()).
class ToyApp final : public BlockApp {
 public:
  // `chain` (the replica's durable committed chain) must outlive the app.
  ToyApp(std::string proposer, const std::vector<Committed>& chain)
      : proposer_(std::move(proposer)), chain_(chain) {
    root_id_ = chain.empty() ? GenesisId() : chain.back().id;
    executed_[root_id_] = Exec{Hash{}, chain.empty() ? GenesisDigest() : chain.back().digest, {}};
    for (const Committed& c : chain) {
      committed_ids_.insert(c.id);
      for (const std::string& e : c.block.entries()) committed_txs_.insert(e);
    }
  }

  absl::StatusOr<BlockInfo> DescribeHeader(const tds::BlockRef& ref) const override {
    return ToyDescribe(ref);
  }

  bool HasWork() const override { return !mempool_.empty(); }

  absl::Status Build(tds::BlockProposal* p) override {
    // A core that keeps proposing within one event never returns to its driver.
    if (++builds_this_event_ > kMaxBuildsPerEvent) {
      return Breach(absl::StrCat("more than ", kMaxBuildsPerEvent,
                                 " Build calls within one event: the core proposes without end"));
    }
    auto parent = HashFromBytes(p->block().parent(), "parent");
    if (!parent.ok()) return Breach(absl::StrCat("Build on a malformed parent"));
    auto pe = executed_.find(*parent);
    if (pe == executed_.end()) {
      return Breach(absl::StrCat("Build on parent ", Short(*parent), " never executed"));
    }
    auto used = ChainTxs(*parent);
    if (!used.ok()) return Breach(std::string(used.status().message()));
    std::vector<std::string> txs;
    for (const std::string& tx : mempool_) {
      if (txs.size() == kMaxTxsPerBlock) break;
      if (used->count(tx) == 0 && committed_txs_.count(tx) == 0) txs.push_back(tx);
    }
    if (txs.empty()) return absl::OkStatus();
    *p->mutable_block() = ToyRef(p->block().round(), *parent, pe->second.digest, txs, proposer_);
    for (const std::string& tx : txs) p->add_entries(tx);
    const Hash id = Sha256(p->block().header());
    executed_[id] = Exec{*parent, DigestOver(pe->second.digest, txs), txs};
    built_.insert(id);
    return absl::OkStatus();
  }

  absl::Status Execute(const Hash& id, const tds::BlockProposal& p) override {
    auto info = Describe(p.block());
    if (!info.ok() || info->id != id) {
      return Breach(absl::StrCat("Execute(", Short(id), ") of a block with another id"));
    }
    if (id == root_id_ || (executed_.count(id) > 0 && built_.count(id) == 0)) {
      return Breach(absl::StrCat("Execute(", Short(id), ") twice without Forget"));
    }
    auto parent = HashFromBytes(p.block().parent(), "parent");
    if (!parent.ok()) return Breach("Execute of a block with a malformed parent");
    auto pe = executed_.find(*parent);
    if (pe == executed_.end()) {
      return Breach(absl::StrCat("Execute(", Short(id), ") before its parent ", Short(*parent)));
    }
    std::vector<std::string> entries(p.entries().begin(), p.entries().end());
    if (p.block().header().empty()) {
      if (!entries.empty()) return absl::InvalidArgumentError("empty block with entries");
    } else {
      tds::BlockHeader h;
      if (!h.ParseFromString(p.block().header())) {
        return absl::InvalidArgumentError("unparsable header");
      }
      if (h.tx_count() != entries.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tx_count ", h.tx_count(), " but ", entries.size(), " entries"));
      }
      auto used = ChainTxs(*parent);
      if (!used.ok()) return Breach(std::string(used.status().message()));
      std::set<std::string> here;
      for (const std::string& e : entries) {
        if (!here.insert(e).second || used->count(e) > 0 || committed_txs_.count(e) > 0) {
          return absl::InvalidArgumentError(absl::StrCat("duplicate transaction ", e));
        }
      }
      const Hash digest = DigestOver(pe->second.digest, entries);
      if (h.state_digest() != AsBytes(digest)) {
        return absl::InvalidArgumentError("state digest differs from this replica's result");
      }
    }
    executed_[id] = Exec{*parent, DigestOver(pe->second.digest, entries), std::move(entries)};
    return absl::OkStatus();
  }

  std::vector<tds::BlockProposal> CommittedAfter(const Hash& id, size_t max) const override {
    size_t from = 0;  // the index of the first block after `id`
    if (id != GenesisId()) {
      auto it = std::find_if(chain_.rbegin(), chain_.rend(),
                             [&](const Committed& c) { return c.id == id; });
      if (it == chain_.rend()) return {};
      from = chain_.rend() - it;
    }
    std::vector<tds::BlockProposal> blocks;
    for (size_t i = from; i < chain_.size() && blocks.size() < max; ++i) {
      blocks.push_back(chain_[i].block);
    }
    return blocks;
  }

  void Forget(const Hash& id) override {
    if (committed_ids_.count(id) > 0 || id == root_id_) {
      (void)Breach(absl::StrCat("Forget(", Short(id), ") of a committed block"));
      return;
    }
    executed_.erase(id);
    built_.erase(id);
  }

  // ---- driver side
  void BeginEvent() { builds_this_event_ = 0; }
  void AddTx(const std::string& tx) {
    if (committed_txs_.count(tx) > 0 || in_mempool_.count(tx) > 0) return;
    mempool_.push_back(tx);
    in_mempool_.insert(tx);
  }
  void OnCommit(const Hash& id, const tds::BlockProposal& p) {
    committed_ids_.insert(id);
    for (const std::string& e : p.entries()) {
      committed_txs_.insert(e);
      in_mempool_.erase(e);
    }
    std::erase_if(mempool_, [&](const std::string& tx) { return in_mempool_.count(tx) == 0; });
  }
  std::optional<Hash> DigestOf(const Hash& id) const {
    auto it = executed_.find(id);
    if (it == executed_.end()) return std::nullopt;
    return it->second.digest;
  }
  size_t mempool_size() const { return mempool_.size(); }
  const std::string& violation() const { return violation_; }

 private:
  struct Exec {
    Hash parent{};
    Hash digest{};
    std::vector<std::string> entries;
  };

  absl::Status Breach(std::string what) {
    if (violation_.empty()) violation_ = what;
    return absl::FailedPreconditionError(what);
  }

  // Transactions in the uncommitted ancestors of `id` (inclusive).
  absl::StatusOr<std::set<std::string>> ChainTxs(Hash id) const {
    std::set<std::string> txs;
    while (id != root_id_ && committed_ids_.count(id) == 0) {
      auto it = executed_.find(id);
      if (it == executed_.end()) {
        return absl::FailedPreconditionError(
            absl::StrCat("ancestor ", Short(id), " was never executed"));
      }
      txs.insert(it->second.entries.begin(), it->second.entries.end());
      id = it->second.parent;
    }
    return txs;
  }

  std::string proposer_;
  const std::vector<Committed>& chain_;
  Hash root_id_{};
  std::map<Hash, Exec> executed_;
  std::set<Hash> built_;
  std::set<Hash> committed_ids_;
  std::set<std::string> committed_txs_;
  std::vector<std::string> mempool_;
  std::set<std::string> in_mempool_;
  std::string violation_;
  int builds_this_event_ = 0;
  static constexpr int kMaxBuildsPerEvent = 64;
};

// When a message a Byzantine sender crafted must be refused by an honest core.
enum class Refuse {
  kNo,
  kAlways,
  kUnlessStale,  // a vote: unless its round is already certified or committed there
};

}  // namespace

std::string ReproduceCommand(uint64_t seed) {
  return absl::StrCat("deploy/bench.sh consensus-sim --seed ", seed);
}

// ---- the simulation ---------------------------------------------------------------------------

class Simulation::Impl {
 public:
  Impl(uint64_t seed, const SimOptions& options)
      : seed_(seed), opt_(options), rng_(seed), set_(MakeSet(ChooseN())) {
    const int n = static_cast<int>(set_.size());
    const int f = (n - 1) / 3;
    std::vector<int> byz = opt_.byzantine_ids;
    if (byz.empty()) {
      int count =
          opt_.byzantine >= 0 ? std::min(opt_.byzantine, f) : static_cast<int>(rng_.Uniform(f + 1));
      std::vector<int> all;
      for (int i = 0; i < n; ++i) all.push_back(i);
      rng_.Shuffle(all);
      byz.assign(all.begin(), all.begin() + count);
    }
    replicas_.resize(n);
    group_.assign(n, 0);
    for (int i = 0; i < n; ++i) replicas_[i].index = i;
    for (int b : byz) {
      Replica& r = replicas_.at(b);
      r.byz = true;
      while (r.attacks == 0 && opt_.attacks != 0) {
        r.attacks = static_cast<uint32_t>(rng_.Next()) & opt_.attacks;
      }
    }
    Trace(absl::StrCat("seed ", seed_, ": n=", n, " byzantine=[", ByzText(), "]"));
    for (int i = 0; i < n; ++i) Boot(i, /*restart=*/false);
  }

  // ---- scripting
  void SetNetwork(const NetworkOptions& net) { net_ = net; }
  void Partition(const std::vector<int>& side) {
    std::fill(group_.begin(), group_.end(), 0);
    for (int r : side) group_.at(r) = 1;
    Trace(absl::StrCat("partition [", absl::StrJoin(side, ","), "] from the rest"));
  }
  void Heal() {
    std::fill(group_.begin(), group_.end(), 0);
    Trace("partition healed");
  }
  void Crash(int r) {
    Replica& rep = replicas_.at(r);
    if (!rep.up) return;
    rep.refused_before += rep.core->status().refused;
    rep.core.reset();
    rep.app.reset();
    rep.up = false;
    rep.crash_when = nullptr;
    rep.crash_mid_list = false;
    ++rep.timer_gen;
    ++result_.crashes;
    Trace(absl::StrCat("v", r, " crashes"));
  }
  void CrashAfter(int r, std::function<bool(const Action&)> when) {
    replicas_.at(r).crash_when = std::move(when);
  }
  void Restart(int r) {
    if (replicas_.at(r).up) return;
    Trace(absl::StrCat("v", r, " restarts"));
    Boot(r, /*restart=*/true);
  }
  void InjectTx(const std::string& tx, const std::vector<int>& to) {
    std::vector<int> targets = to;
    if (targets.empty()) {
      for (int i = 0; i < n(); ++i) targets.push_back(i);
    }
    Trace(absl::StrCat("tx ", tx, " to [", absl::StrJoin(targets, ","), "]"));
    for (int r : targets) {
      Replica& rep = replicas_.at(r);
      if (!rep.up || !ok()) continue;
      rep.app->AddTx(tx);
      Call(r, [&] { return rep.core->OnWork(); });
      AfterStep(r);
    }
  }
  void SendRaw(int from, int to, std::string bytes, bool must_refuse, int64_t delay_ms) {
    Push(now_ + delay_ms,
         MessageEvent(from, to, std::move(bytes), must_refuse ? Refuse::kAlways : Refuse::kNo));
  }

  bool RunUntil(int64_t until_ms, const std::function<bool()>& done) {
    while (ok()) {
      if (done && done()) return true;
      if (queue_.empty() || queue_.begin()->first.first > until_ms) {
        now_ = std::max(now_, until_ms);
        return ok() && (!done || done());
      }
      auto it = queue_.begin();
      Event e = std::move(it->second);
      now_ = it->first.first;
      queue_.erase(it);
      if (++result_.steps > opt_.max_steps) {
        Fail(absl::StrCat("no end after ", opt_.max_steps, " steps"));
        break;
      }
      Handle(e);
    }
    return ok();
  }

  SimResult RunScenario();

  // ---- observation
  int n() const { return static_cast<int>(replicas_.size()); }
  bool byzantine(int r) const { return replicas_.at(r).byz; }
  uint64_t seed() const { return seed_; }
  int64_t now_ms() const { return now_; }
  bool ok() const { return failure_.empty(); }
  const std::string& failure() const { return failure_; }
  bool up(int r) const { return replicas_.at(r).up; }
  CoreStatus status(int r) const { return replicas_.at(r).core->status(); }
  uint64_t refused(int r) const {
    const Replica& rep = replicas_.at(r);
    return rep.refused_before + (rep.up ? rep.core->status().refused : 0);
  }
  const tds::SafetyState& persisted(int r) const { return replicas_.at(r).disk; }
  std::vector<Hash> committed(int r) const {
    std::vector<Hash> ids;
    for (const Committed& c : replicas_.at(r).chain) ids.push_back(c.id);
    return ids;
  }
  bool HasCommitted(int r, const std::string& tx) const {
    return replicas_.at(r).committed_txs.count(tx) > 0;
  }
  bool AllHonestCommitted(const std::vector<std::string>& txs) const {
    for (const Replica& rep : replicas_) {
      if (rep.byz) continue;
      for (const std::string& tx : txs) {
        if (rep.committed_txs.count(tx) == 0) return false;
      }
    }
    return true;
  }
  SimResult result() const {
    SimResult r = result_;
    r.ok = ok();
    r.failure = failure_;
    r.sim_ms = now_;
    r.n = n();
    r.byzantine = 0;
    r.refused = 0;
    for (int i = 0; i < n(); ++i) {
      if (replicas_[i].byz) {
        ++r.byzantine;
      } else {
        r.refused += refused(i);
      }
    }
    return r;
  }

 private:
  enum class EventKind { kMessage, kTimer, kControl };
  struct Event {
    EventKind kind = EventKind::kMessage;
    int from = -1;
    int to = -1;
    std::string bytes;
    Refuse refuse = Refuse::kNo;
    uint64_t gen = 0;
    uint64_t view = 0;
    std::function<void()> control;
  };

  // What a Byzantine replica knows beyond its honest core.
  struct Alt {  // a block only this replica proposed
    tds::BlockRef ref;
    BlockInfo info;
    std::optional<Hash> digest;            // its toy result, when known
    std::map<uint32_t, std::string> sigs;  // votes collected for it
    bool certified = false;
  };
  struct Shadow {
    std::deque<tds::QuorumCert> qcs;  // valid certificates seen or assembled
    std::map<Hash, Alt> alts;
    std::deque<std::string> seen;  // recent messages it received, for replays
    uint64_t counter = 0;
  };

  struct Replica {
    int index = 0;
    bool byz = false;
    uint32_t attacks = 0;
    bool up = false;
    std::unique_ptr<ToyApp> app;
    std::unique_ptr<Core> core;
    // Durable: what survives a crash.
    tds::SafetyState disk;
    std::vector<Committed> chain;
    std::set<std::string> committed_txs;
    // Volatile.
    uint64_t timer_gen = 0;
    uint64_t incarnation = 0;
    std::function<bool(const Action&)> crash_when;
    bool crash_mid_list = false;  // crash after a random prefix of the next action list
    // Accounting and checks across incarnations.
    uint64_t refused_before = 0;
    uint64_t gave_up_round = 0;  // LastRound(v) of the highest view it sent a timeout for
    Shadow shadow;
  };

  // ---- setup

  int ChooseN() {
    if (opt_.n > 0) return std::min<int>(opt_.n, kMaxReplicas);
    const uint64_t roll = rng_.Uniform(100);
    return roll < 8 ? 1 : roll < 20 ? 7 : 4;
  }
  static ValidatorSet MakeSet(int n) {
    std::vector<std::string> ids;
    std::vector<PublicKey> keys;
    for (int i = 0; i < n; ++i) {
      ids.push_back(absl::StrCat("v", i));
      keys.push_back(Key(i).public_key());
    }
    return ValidatorSet(kOrigin, GenesisId(), std::move(ids), std::move(keys));
  }
  std::string ByzText() const {
    std::vector<std::string> parts;
    for (const Replica& r : replicas_) {
      if (r.byz) parts.push_back(absl::StrCat(r.index, ":", r.attacks));
    }
    return absl::StrJoin(parts, ",");
  }

  void Boot(int r, bool restart) {
    Replica& rep = replicas_[r];
    rep.app = std::make_unique<ToyApp>(set_.id(r), rep.chain);
    rep.core = std::make_unique<Core>(&set_, r, &Key(r), rep.app.get(), opt_.core);
    rep.up = true;
    ++rep.incarnation;
    Root root = GenesisRoot();
    if (!rep.chain.empty()) root = Root{rep.chain.back().block, rep.chain.back().qc};
    if (restart) {
      Trace(absl::StrCat("v", r,
                         " starts: persisted hvr=", RoundText(rep.disk.highest_vote_round()),
                         " view=", rep.disk.view(), " committed=", rep.chain.size()));
    }
    Call(r, [&] { return rep.core->Start(rep.disk, root); });
    AfterStep(r);
  }

  // ---- events

  static Event MessageEvent(int from, int to, std::string bytes, Refuse refuse) {
    Event e;
    e.from = from;
    e.to = to;
    e.bytes = std::move(bytes);
    e.refuse = refuse;
    return e;
  }
  void Push(int64_t at, Event e) { queue_.emplace(std::make_pair(at, next_seq_++), std::move(e)); }
  void At(int64_t at, std::function<void()> f) {
    Event e;
    e.kind = EventKind::kControl;
    e.control = std::move(f);
    Push(at, std::move(e));
  }

  void Handle(Event& e) {
    switch (e.kind) {
      case EventKind::kControl:
        e.control();
        return;
      case EventKind::kTimer: {
        Replica& rep = replicas_[e.to];
        if (!rep.up || e.gen != rep.timer_gen) return;
        Trace(absl::StrCat("v", e.to, " timer view ", e.view));
        Call(e.to, [&] { return rep.core->OnTimer(e.view); });
        AfterStep(e.to);
        return;
      }
      case EventKind::kMessage:
        Deliver(e);
        return;
    }
  }

  void Deliver(const Event& e) {
    Replica& rep = replicas_[e.to];
    if (!rep.up || group_[e.from] != group_[e.to]) return;
    tds::ConsensusMessage m;
    if (!m.ParseFromString(e.bytes)) {
      Trace(absl::StrCat("v", e.from, "->v", e.to, " unparsable (", e.bytes.size(), " bytes)"));
      return;
    }
    ++result_.messages;
    const CoreStatus before = rep.core->status();
    if (rep.byz) Observe(e.to, e.from, m, e.bytes);
    std::optional<Actions> actions = Invoke(e.to, [&] { return rep.core->OnMessage(e.from, m); });
    if (!actions) return;
    const absl::Status& refusal = rep.core->last_refusal();
    Trace(absl::StrCat("v", e.from, "->v", e.to, " ", Summary(m),
                       refusal.ok() ? "" : absl::StrCat(" REFUSED: ", refusal.message())));
    if (!rep.byz && e.refuse != Refuse::kNo) {
      bool must = e.refuse == Refuse::kAlways;
      if (e.refuse == Refuse::kUnlessStale && m.has_vote()) {
        const uint64_t round = m.vote().block().round();
        must = round > before.high_qc_round && round > before.committed_round;
      }
      if (must && refusal.ok()) {
        return Fail(absl::StrCat("v", e.to, " accepted a message it must refuse: ", Summary(m)));
      }
      if (must) ++result_.must_refuse;
      if (must && rep.core->status().refused != before.refused + 1) {
        return Fail(absl::StrCat("v", e.to, " refused without counting it"));
      }
    }
    Carry(e.to, std::move(*actions));
    AfterStep(e.to);
  }

  // ---- the driver: carry out a core's actions in order

  // One event at replica r's core. A core that throws fails the run (it would take its node
  // down with it).
  template <typename F>
  std::optional<Actions> Invoke(int r, F event) {
    replicas_[r].app->BeginEvent();
    try {
      return event();
    } catch (const std::exception& e) {
      Fail(absl::StrCat("v", r, "'s core threw: ", e.what()));
      return std::nullopt;
    }
  }
  template <typename F>
  void Call(int r, F event) {
    if (std::optional<Actions> actions = Invoke(r, event)) Carry(r, std::move(*actions));
  }

  void Carry(int r, Actions actions) {
    Replica& rep = replicas_[r];
    CheckApp(r);
    size_t crash_at = actions.size();
    if (rep.crash_mid_list && !actions.empty()) {
      crash_at = rng_.Uniform(actions.size());
      rep.crash_mid_list = false;
    }
    for (size_t i = 0; i < actions.size() && ok(); ++i) {
      if (i == crash_at) {
        Trace(absl::StrCat("v", r, " crashes after ", i, " of ", actions.size(), " actions"));
        return Crash(r);
      }
      std::visit([&](auto& a) { Do(r, a); }, actions[i]);
      if (rep.up && rep.crash_when && rep.crash_when(actions[i])) {
        Trace(absl::StrCat("v", r, " crashes after ", i + 1, " of ", actions.size(), " actions"));
        return Crash(r);
      }
    }
  }

  void Do(int r, PersistAction& a) {
    Replica& rep = replicas_[r];
    const tds::SafetyState& s = a.state;
    if (!rep.byz) {
      if (s.highest_vote_round() < rep.disk.highest_vote_round()) {
        return Fail(absl::StrCat("v", r, " persists highest_vote_round ",
                                 RoundText(s.highest_vote_round()), " below the persisted ",
                                 RoundText(rep.disk.highest_vote_round())));
      }
      if (s.view() < rep.disk.view()) {
        return Fail(absl::StrCat("v", r, " persists view ", s.view(), " below ", rep.disk.view()));
      }
      if (s.high_qc().block().round() < rep.disk.high_qc().block().round()) {
        return Fail(absl::StrCat("v", r, " persists a lower high QC"));
      }
      if (s.has_high_qc()) CheckQC(r, s.high_qc(), "persisted high QC");
    }
    Trace(absl::StrCat("v", r, " persist hvr=", RoundText(s.highest_vote_round()),
                       " view=", s.view(), " high_qc=", RoundText(s.high_qc().block().round())));
    rep.disk = s;
  }

  void Do(int r, TimerAction& a) {
    Replica& rep = replicas_[r];
    if (a.after_ms <= 0) return Fail(absl::StrCat("v", r, " sets a timer of ", a.after_ms, " ms"));
    Event e;
    e.kind = EventKind::kTimer;
    e.to = r;
    e.gen = ++rep.timer_gen;
    e.view = a.view;
    Push(now_ + a.after_ms, std::move(e));
  }

  void Do(int r, SendAction& a) {
    Replica& rep = replicas_[r];
    if (a.to != -1 && (a.to < 0 || a.to >= n() || a.to == r)) {
      return Fail(absl::StrCat("v", r, " sends to ", a.to));
    }
    std::vector<int> targets;
    for (int i = 0; i < n(); ++i) {
      if (i != r && (a.to == -1 || a.to == i)) targets.push_back(i);
    }
    Register(a.msg);
    if (rep.byz) return ByzantineSend(r, a.msg, targets);
    CheckOutgoing(r, a.msg);
    if (!ok()) return;
    const std::string bytes = a.msg.SerializeAsString();
    for (int to : targets) NetSend(r, to, bytes, Refuse::kNo);
  }

  void Do(int r, CommitAction& c) {
    Replica& rep = replicas_[r];
    const tds::BlockRef& ref = c.block.block();
    auto info = Describe(ref);
    if (rep.byz) {
      if (info.ok()) rep.app->OnCommit(c.id, c.block);
      return;
    }
    const std::string who =
        absl::StrCat("v", r, " commits ", Short(c.id), " (round ", RoundText(ref.round()), ")");
    if (!info.ok())
      return Fail(absl::StrCat(who, ": undescribable block: ", info.status().message()));
    if (info->id != c.id) return Fail(absl::StrCat(who, ": its block's id is ", Short(info->id)));
    if (c.qc.block().SerializeAsString() != ref.SerializeAsString()) {
      return Fail(absl::StrCat(who, ": the QC certifies another block (round ",
                               RoundText(c.qc.block().round()), ")"));
    }
    if (ref.round() == 0) return Fail(absl::StrCat(who, ": a round-0 block"));
    if (!VerifiedQC(c.qc, info->vote_body)) {
      return Fail(absl::StrCat(who, ": invalid QC: ", last_qc_error_));
    }
    const Hash tip = rep.chain.empty() ? GenesisId() : rep.chain.back().id;
    if (ref.parent() != AsBytes(tip)) {
      return Fail(absl::StrCat(who, ": does not extend its committed chain (tip ", Short(tip), ", ",
                               rep.chain.size(), " blocks)"));
    }
    if (!rep.chain.empty() && ref.round() <= rep.chain.back().block.block().round()) {
      return Fail(absl::StrCat(who, ": round not above its tip's"));
    }
    auto digest = rep.app->DigestOf(c.id);
    if (!digest) return Fail(absl::StrCat(who, ": never executed"));
    parent_of_.emplace(c.id, tip);
    const auto height = Height(c.id);
    if (!height) return Fail(absl::StrCat(who, ": ancestry unknown"));
    if (*height != rep.chain.size() + 1) {
      return Fail(
          absl::StrCat(who, ": at height ", *height, " but chain position ", rep.chain.size() + 1));
    }
    auto [it, fresh] = by_height_.emplace(*height, HeightRecord{c.id, *digest, r});
    if (!fresh && it->second.id != c.id) {
      return Fail(absl::StrCat("CONFLICT at height ", *height, ": v", it->second.replica,
                               " committed ", Short(it->second.id), ", ", who));
    }
    if (!fresh && it->second.digest != *digest) {
      return Fail(absl::StrCat(who, ": execution result differs from v", it->second.replica));
    }
    rep.chain.push_back(Committed{c.id, c.block, c.qc, *digest});
    rep.committed_txs.insert(c.block.entries().begin(), c.block.entries().end());
    rep.app->OnCommit(c.id, c.block);
    ++result_.commits;
    Trace(absl::StrCat(who, " at height ", *height, " with ", c.block.entries_size(), " txs"));
  }

  // After a whole event at replica r: its core's committed root is the tip it committed.
  void AfterStep(int r) {
    Replica& rep = replicas_[r];
    if (!ok() || !rep.up) return;
    CheckApp(r);
    if (rep.byz) return;
    const CoreStatus s = rep.core->status();
    const Hash tip = rep.chain.empty() ? GenesisId() : rep.chain.back().id;
    if (s.committed_id != tip) {
      return Fail(absl::StrCat("v", r, "'s core reports committed root ", Short(s.committed_id),
                               " but its durable chain ends at ", Short(tip)));
    }
    result_.view_changes = std::max(result_.view_changes, s.view);
  }

  void CheckApp(int r) {
    const Replica& rep = replicas_[r];
    if (ok() && rep.up && !rep.app->violation().empty()) {
      Fail(absl::StrCat("v", r, "'s core broke the BlockApp contract: ", rep.app->violation()));
    }
  }

  // ---- checks on what honest replicas send

  void CheckOutgoing(int r, const tds::ConsensusMessage& m) {
    Replica& rep = replicas_[r];
    switch (m.kind_case()) {
      case tds::ConsensusMessage::kVote: {
        const tds::BlockVote& v = m.vote();
        const uint64_t round = v.block().round();
        auto info = Describe(v.block());
        if (!info.ok()) return Fail(absl::StrCat("v", r, " votes for an undescribable block"));
        if (v.sig().signer() != static_cast<uint32_t>(r) ||
            !set_.key(r).Verify(info->vote_body, v.sig().signature())) {
          return Fail(absl::StrCat("v", r, " sends a vote that does not verify"));
        }
        if (rep.disk.highest_vote_round() < round) {
          return Fail(absl::StrCat("v", r, " votes at round ", RoundText(round),
                                   " before persisting it (persisted hvr ",
                                   RoundText(rep.disk.highest_vote_round()), ")"));
        }
        if (round <= rep.gave_up_round) {
          return Fail(absl::StrCat("v", r, " votes at round ", RoundText(round),
                                   " after timing out view ", ViewOf(rep.gave_up_round)));
        }
        return RecordVote(r, round, info->id, "its vote");
      }
      case tds::ConsensusMessage::kTimeout: {
        const tds::Timeout& t = m.timeout();
        const uint64_t view = t.vote().view();
        if (rep.disk.highest_vote_round() < LastRound(view)) {
          return Fail(absl::StrCat("v", r, " times out view ", view,
                                   " before persisting highest_vote_round ",
                                   RoundText(LastRound(view)), " (persisted ",
                                   RoundText(rep.disk.highest_vote_round()), ")"));
        }
        if (rep.disk.high_qc().block().round() < t.vote().high_qc_round()) {
          return Fail(absl::StrCat("v", r, " times out with a high QC it has not persisted"));
        }
        if (t.high_qc().block().round() != t.vote().high_qc_round()) {
          return Fail(absl::StrCat("v", r, " sends a timeout whose QC is not the round it signs"));
        }
        if (!set_.key(r).Verify(TimeoutBody(kOrigin, view, t.vote().high_qc_round()),
                                t.vote().sig().signature())) {
          return Fail(absl::StrCat("v", r, " sends a timeout that does not verify"));
        }
        rep.gave_up_round = std::max(rep.gave_up_round, LastRound(view));
        CheckQC(r, t.high_qc(), "timeout's high QC");
        if (t.last_tc().votes_size() > 0) CheckTC(r, t.last_tc());
        return;
      }
      case tds::ConsensusMessage::kProposal: {
        const tds::BlockProposal& p = m.proposal();
        const uint64_t round = p.block().round();
        if (set_.LeaderOf(ViewOf(round)) != static_cast<size_t>(r)) {
          return Fail(absl::StrCat("v", r, " proposes at round ", RoundText(round),
                                   " in a view it does not lead"));
        }
        auto info = Describe(p.block());
        if (!info.ok()) return Fail(absl::StrCat("v", r, " proposes an undescribable block"));
        // Within one incarnation a leader proposes one block per round. (A leader that crashed
        // between sending a proposal and persisting its own vote may propose again: harmless,
        // as its first vote never left.)
        auto [it, fresh] = proposed_.emplace(round, std::make_pair(info->id, rep.incarnation));
        if (!fresh && it->second.first != info->id) {
          if (it->second.second == rep.incarnation) {
            return Fail(absl::StrCat("v", r, " proposes two blocks at round ", RoundText(round)));
          }
          Trace(absl::StrCat("v", r, " proposes again at round ", RoundText(round),
                             " after a restart"));
          it->second = {info->id, rep.incarnation};
        }
        if (static_cast<size_t>(p.entries_size()) > opt_.core.max_entries) {
          return Fail(absl::StrCat("v", r, " proposes ", p.entries_size(), " entries"));
        }
        CheckQC(r, p.justify(), "justify");
        if (p.tc().votes_size() > 0) CheckTC(r, p.tc());
        return;
      }
      case tds::ConsensusMessage::kBlockResponse:
        for (const tds::BlockProposal& p : m.block_response().blocks()) {
          CheckQC(r, p.justify(), "fetched block's justify");
        }
        return;
      case tds::ConsensusMessage::kBlockRequest:
        ++result_.block_requests;
        return;
      default:
        return Fail(absl::StrCat("v", r, " sends a message of kind ", m.kind_case()));
    }
  }

  // A signature by honest validator `signer` for block `id` at `round`.
  void RecordVote(int signer, uint64_t round, const Hash& id, const std::string& where) {
    auto [it, fresh] = votes_.emplace(std::make_pair(signer, round), id);
    if (!fresh && it->second != id) {
      Fail(absl::StrCat("DOUBLE VOTE: v", signer, " signed ", Short(it->second), " and ", Short(id),
                        " at round ", RoundText(round), " (seen in ", where, ")"));
    }
  }

  // A QC honest replica r sends or persists must verify; its honest signatures are recorded.
  void CheckQC(int r, const tds::QuorumCert& qc, const std::string& what) {
    if (qc.block().round() == 0) {
      if (qc.votes_size() > 0 || !qc.block().parent().empty()) {
        Fail(absl::StrCat("v", r, " sends a malformed genesis QC as ", what));
      }
      return;
    }
    auto info = Describe(qc.block());
    if (!info.ok()) return Fail(absl::StrCat("v", r, " sends an undescribable QC as ", what));
    const Hash key = Sha256(qc.SerializeAsString());
    if (recorded_qcs_.count(key) > 0) return;
    if (!VerifiedQC(qc, info->vote_body)) {
      return Fail(absl::StrCat("v", r, " sends an invalid QC as ", what, ": ", last_qc_error_));
    }
    recorded_qcs_.insert(key);
    RegisterRef(qc.block());
    for (const tds::ValidatorSignature& s : qc.votes()) {
      if (!replicas_[s.signer()].byz) {
        RecordVote(static_cast<int>(s.signer()), qc.block().round(), info->id, what);
      }
    }
  }

  void CheckTC(int r, const tds::TimeoutCert& tc) {
    const Hash key = Sha256(tc.SerializeAsString());
    if (verified_tcs_.count(key) > 0) return;
    auto high = VerifyTimeoutCert(set_, tc);
    if (!high.ok()) {
      return Fail(absl::StrCat("v", r, " sends an invalid TC: ", high.status().message()));
    }
    verified_tcs_.insert(key);
  }

  bool VerifiedQC(const tds::QuorumCert& qc, const std::string& body) {
    const Hash key = Sha256(qc.SerializeAsString());
    if (verified_qcs_.count(key) > 0) return true;
    absl::Status s = VerifyQuorum(set_, body, qc.votes(), "QC");
    if (!s.ok()) {
      last_qc_error_ = std::string(s.message());
      return false;
    }
    verified_qcs_.insert(key);
    return true;
  }

  // ---- the block registry: id -> parent of every block seen, for heights

  void Register(const tds::ConsensusMessage& m) {
    if (m.has_proposal()) {
      RegisterRef(m.proposal().block());
      RegisterRef(m.proposal().justify().block());
    }
    for (const tds::BlockProposal& p : m.block_response().blocks()) RegisterRef(p.block());
  }
  void RegisterRef(const tds::BlockRef& ref) {
    if (ref.round() == 0) return;
    auto info = Describe(ref);
    auto parent = HashFromBytes(ref.parent());
    if (info.ok() && parent.ok()) parent_of_.emplace(info->id, *parent);
  }
  std::optional<uint64_t> Height(const Hash& id) {
    std::vector<Hash> path;
    Hash at = id;
    while (at != GenesisId() && height_.count(at) == 0) {
      auto it = parent_of_.find(at);
      if (it == parent_of_.end() || path.size() > parent_of_.size()) return std::nullopt;
      path.push_back(at);
      at = it->second;
    }
    uint64_t h = at == GenesisId() ? 0 : height_[at];
    for (auto p = path.rbegin(); p != path.rend(); ++p) height_[*p] = ++h;
    return h;
  }

  // ---- network

  void NetSend(int from, int to, const std::string& bytes, Refuse refuse) {
    if (net_.loss > 0 && rng_.Chance(net_.loss)) return;
    const int copies = net_.duplicate > 0 && rng_.Chance(net_.duplicate) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      int64_t delay = rng_.Range(net_.min_delay_ms, net_.max_delay_ms);
      if (net_.reorder > 0 && rng_.Chance(net_.reorder)) delay += rng_.Range(0, net_.reorder_ms);
      Push(now_ + delay, MessageEvent(from, to, bytes, refuse));
    }
  }

  // ---- Byzantine behaviour

  void Observe(int b, int from, const tds::ConsensusMessage& m, const std::string& bytes) {
    Shadow& sh = replicas_[b].shadow;
    sh.seen.push_back(bytes);
    if (sh.seen.size() > 32) sh.seen.pop_front();
    if (m.has_proposal()) Learn(b, m.proposal().justify());
    if (m.has_timeout()) Learn(b, m.timeout().high_qc());
    if (!m.has_vote()) return;
    auto info = Describe(m.vote().block());
    if (!info.ok()) return;
    auto it = sh.alts.find(info->id);
    if (it == sh.alts.end() || it->second.certified) return;
    const tds::ValidatorSignature& sig = m.vote().sig();
    if (sig.signer() != static_cast<uint32_t>(from) ||
        !set_.key(from).Verify(info->vote_body, sig.signature())) {
      return;
    }
    Alt& alt = it->second;
    alt.sigs[sig.signer()] = sig.signature();
    if (alt.sigs.size() < set_.quorum()) return;
    alt.certified = true;
    tds::QuorumCert qc;
    *qc.mutable_block() = alt.ref;
    for (const auto& [signer, s] : alt.sigs) {
      tds::ValidatorSignature* v = qc.add_votes();
      v->set_signer(signer);
      v->set_signature(s);
    }
    Trace(absl::StrCat("v", b, " (byzantine) certifies its other block ", Short(info->id)));
    Learn(b, qc);
    if (replicas_[b].attacks & kEquivocate) Fork(b, qc, alt.digest);
  }

  void Learn(int b, const tds::QuorumCert& qc) {
    if (qc.votes_size() == 0) return;
    auto info = Describe(qc.block());
    if (!info.ok() || !VerifiedQC(qc, info->vote_body)) return;
    Shadow& sh = replicas_[b].shadow;
    sh.qcs.push_back(qc);
    if (sh.qcs.size() > 16) sh.qcs.pop_front();
  }

  // Proposes, outside its core, a child of the block `qc` certifies (whose toy result is
  // `digest`) at the next round, if it leads that round's view.
  void Fork(int b, const tds::QuorumCert& qc, std::optional<Hash> digest) {
    const uint64_t round = qc.block().round() + 1;
    if (set_.LeaderOf(ViewOf(round)) != static_cast<size_t>(b)) return;
    auto parent = Describe(qc.block());
    if (!parent.ok()) return;
    tds::BlockProposal p;
    *p.mutable_justify() = qc;
    // An empty child keeps its parent's result.
    if (digest && rng_.Chance(0.5)) {
      const std::string tx = absl::StrCat("byz", b, "-", replicas_[b].shadow.counter++);
      *p.mutable_block() = ToyRef(round, parent->id, *digest, {tx}, set_.id(b));
      p.add_entries(tx);
      digest = DigestOver(*digest, {tx});
    } else {
      p.mutable_block()->set_round(round);
      p.mutable_block()->set_parent(std::string(AsBytes(parent->id)));
    }
    if (!AddAlt(b, p.block(), digest)) return;
    tds::ConsensusMessage m;
    *m.mutable_proposal() = p;
    Register(m);
    Trace(absl::StrCat("v", b, " (byzantine) forks: ", Summary(m)));
    ++result_.crafted;
    const std::string bytes = m.SerializeAsString();
    for (int i = 0; i < n(); ++i) {
      if (i != b) NetSend(b, i, bytes, Refuse::kNo);
    }
  }

  bool AddAlt(int b, const tds::BlockRef& ref, std::optional<Hash> digest) {
    auto info = Describe(ref);
    if (!info.ok()) return false;
    Shadow& sh = replicas_[b].shadow;
    if (sh.alts.size() > 64) sh.alts.erase(sh.alts.begin());
    Alt& alt = sh.alts[info->id];
    alt.ref = ref;
    alt.info = *info;
    alt.digest = digest;
    alt.sigs[b] = Key(b).Sign(info->vote_body);
    return true;
  }

  tds::ConsensusMessage SignedVote(int b, const tds::BlockRef& ref) {
    tds::ConsensusMessage m;
    *m.mutable_vote()->mutable_block() = ref;
    m.mutable_vote()->mutable_sig()->set_signer(b);
    auto info = Describe(ref);
    m.mutable_vote()->mutable_sig()->set_signature(Key(b).Sign(info.ok() ? info->vote_body : ""));
    return m;
  }

  static void FlipSignatureByte(std::string* sig, Rng& rng) {
    if (sig->empty()) return;
    (*sig)[rng.Uniform(sig->size())] ^= static_cast<char>(1 + rng.Uniform(255));
  }

  std::string Malformed(const std::string& real) {
    switch (rng_.Uniform(3)) {
      case 0: {
        std::string junk(rng_.Uniform(200), '\0');
        for (char& c : junk) c = static_cast<char>(rng_.Next());
        return junk;
      }
      case 1:
        return real.substr(0, rng_.Uniform(real.size() + 1));
      default: {
        std::string flipped = real;
        if (!flipped.empty()) flipped[rng_.Uniform(flipped.size())] ^= 1 << rng_.Uniform(8);
        return flipped;
      }
    }
  }

  // The Byzantine replica b's core wants to send `m` to `targets`; b does as its attacks say.
  void ByzantineSend(int b, const tds::ConsensusMessage& m, std::vector<int> targets) {
    Replica& rep = replicas_[b];
    const uint32_t at = rep.attacks;
    if (targets.empty()) return;
    if ((at & kSilent) && rng_.Chance(0.3)) {
      Trace(absl::StrCat("v", b, " (byzantine) withholds ", Summary(m)));
      return;
    }
    std::string bytes = m.SerializeAsString();
    auto craft = [&](int to, const tds::ConsensusMessage& x, Refuse refuse,
                     const std::string& why) {
      ++result_.crafted;
      Register(x);
      Trace(absl::StrCat("v", b, " (byzantine) ", why, " to v", to, ": ", Summary(x)));
      NetSend(b, to, x.SerializeAsString(), refuse);
    };
    if ((at & kMalformed) && rng_.Chance(0.15)) {
      ++result_.crafted;
      NetSend(b, rng_.Pick(targets), Malformed(bytes), Refuse::kNo);
    }
    if ((at & kStaleFuture) && rng_.Chance(0.1) && !rep.shadow.seen.empty()) {
      ++result_.crafted;
      NetSend(b, rng_.Pick(targets), rep.shadow.seen[rng_.Uniform(rep.shadow.seen.size())],
              Refuse::kNo);
    }
    switch (m.kind_case()) {
      case tds::ConsensusMessage::kProposal: {
        const tds::BlockProposal& p = m.proposal();
        if ((at & kCensor) && !p.block().header().empty()) {
          // Keeps the chain moving without anyone's transactions.
          tds::ConsensusMessage empty = m;
          empty.mutable_proposal()->mutable_block()->clear_header();
          empty.mutable_proposal()->clear_entries();
          for (int to : targets) craft(to, empty, Refuse::kNo, "censors");
          return;
        }
        if ((at & kOversized) && rng_.Chance(0.2)) {
          tds::ConsensusMessage big = m;
          for (size_t i = big.proposal().entries_size(); i <= opt_.core.max_entries; ++i) {
            big.mutable_proposal()->add_entries(absl::StrCat("pad", i));
          }
          craft(rng_.Pick(targets), big, Refuse::kAlways, "oversized proposal");
        }
        if ((at & kBadSignature) && rng_.Chance(0.2) && p.justify().votes_size() > 0) {
          tds::ConsensusMessage bad = m;
          FlipSignatureByte(
              bad.mutable_proposal()->mutable_justify()->mutable_votes(0)->mutable_signature(),
              rng_);
          craft(rng_.Pick(targets), bad, Refuse::kAlways, "justify with a bad signature");
        }
        if ((at & kEquivocate) && targets.size() >= 2 && rng_.Chance(0.7)) {
          std::optional<tds::ConsensusMessage> other = Alternative(b, p);
          if (other) {
            ++result_.equivocations;
            rng_.Shuffle(targets);
            const size_t half = 1 + rng_.Uniform(targets.size() - 1);
            for (size_t i = 0; i < targets.size(); ++i) {
              if (i < half) {
                NetSend(b, targets[i], bytes, Refuse::kNo);
              } else {
                craft(targets[i], *other, Refuse::kNo, "equivocates");
              }
            }
            return;
          }
        }
        break;
      }
      case tds::ConsensusMessage::kVote: {
        const tds::BlockVote& v = m.vote();
        if ((at & kDoubleVote) && rng_.Chance(0.6)) {
          craft(targets[0], SignedVote(b, ConflictingRef(b, v.block())), Refuse::kNo,
                "double-votes");
        }
        if ((at & kBadSignature) && rng_.Chance(0.2)) {
          tds::ConsensusMessage bad = m;
          FlipSignatureByte(bad.mutable_vote()->mutable_sig()->mutable_signature(), rng_);
          craft(targets[0], bad, Refuse::kUnlessStale, "vote with a bad signature");
          return;
        }
        if ((at & kStaleFuture) && rng_.Chance(0.1)) {
          tds::BlockRef far;
          far.set_round(v.block().round() + (uint64_t{1} << 20));
          far.set_parent(v.block().parent());
          craft(targets[0], SignedVote(b, far), Refuse::kNo, "votes far ahead");
        }
        break;
      }
      case tds::ConsensusMessage::kTimeout: {
        if ((at & kBadSignature) && rng_.Chance(0.2)) {
          tds::ConsensusMessage bad = m;
          FlipSignatureByte(
              bad.mutable_timeout()->mutable_vote()->mutable_sig()->mutable_signature(), rng_);
          const int to = rng_.Pick(targets);
          craft(to, bad, Refuse::kAlways, "timeout with a bad signature");
          std::erase(targets, to);
        }
        if ((at & kStaleFuture) && rng_.Chance(0.2)) {
          tds::ConsensusMessage future = m;
          tds::TimeoutVote* tv = future.mutable_timeout()->mutable_vote();
          tv->set_view(tv->view() + 1 + rng_.Uniform(rng_.Chance(0.5) ? 3 : 1u << 20));
          tv->mutable_sig()->set_signature(
              Key(b).Sign(TimeoutBody(kOrigin, tv->view(), tv->high_qc_round())));
          craft(rng_.Pick(targets), future, Refuse::kNo, "times out a future view");
        }
        break;
      }
      default:
        break;
    }
    for (int to : targets) NetSend(b, to, bytes, Refuse::kNo);
  }

  // A second proposal for p's round: the empty block where p has transactions, else a block
  // with an invented transaction. Its vote is pre-signed for the Byzantine collector.
  std::optional<tds::ConsensusMessage> Alternative(int b, const tds::BlockProposal& p) {
    tds::ConsensusMessage m;
    tds::BlockProposal* alt = m.mutable_proposal();
    *alt = p;
    alt->clear_entries();
    auto parent = HashFromBytes(p.block().parent());
    if (!parent.ok()) return std::nullopt;
    std::optional<Hash> parent_digest = replicas_[b].app->DigestOf(*parent);
    if (auto it = replicas_[b].shadow.alts.find(*parent);
        !parent_digest && it != replicas_[b].shadow.alts.end()) {
      parent_digest = it->second.digest;
    }
    if (!parent_digest) return std::nullopt;
    Hash digest = *parent_digest;
    if (!p.block().header().empty()) {
      alt->mutable_block()->clear_header();
    } else {
      const std::string tx = absl::StrCat("byz", b, "-", replicas_[b].shadow.counter++);
      *alt->mutable_block() = ToyRef(p.block().round(), *parent, digest, {tx}, set_.id(b));
      alt->add_entries(tx);
      digest = DigestOver(digest, {tx});
    }
    if (!AddAlt(b, alt->block(), digest)) return std::nullopt;
    return m;
  }

  // Another block at ref's round: one of b's alternatives, or an empty block on a phantom parent.
  tds::BlockRef ConflictingRef(int b, const tds::BlockRef& ref) {
    auto voted = Describe(ref);
    for (const auto& [id, alt] : replicas_[b].shadow.alts) {
      if (alt.ref.round() == ref.round() && (!voted.ok() || id != voted->id)) return alt.ref;
    }
    tds::BlockRef phantom;
    phantom.set_round(ref.round());
    phantom.set_parent(std::string(
        AsBytes(Sha256(absl::StrCat("phantom", b, "-", replicas_[b].shadow.counter++)))));
    return phantom;
  }

  // Unprompted misbehaviour, on a timer of its own.
  void ByzantineTick(int b) {
    Replica& rep = replicas_[b];
    const uint32_t at = rep.attacks;
    std::vector<int> others;
    for (int i = 0; i < n(); ++i) {
      if (i != b) others.push_back(i);
    }
    if (others.empty()) return;
    const int to = rng_.Pick(others);
    switch (rng_.Uniform(3)) {
      case 0:
        if ((at & kMalformed) && !rep.shadow.seen.empty()) {
          ++result_.crafted;
          NetSend(b, to, Malformed(rep.shadow.seen.back()), Refuse::kNo);
        }
        break;
      case 1:
        if ((at & kStaleFuture) && !rep.shadow.seen.empty()) {
          ++result_.crafted;
          NetSend(b, to, rep.shadow.seen[rng_.Uniform(rep.shadow.seen.size())], Refuse::kNo);
        }
        break;
      default:
        // A fork from any certificate it knows (often stale): refused or ignored, never voted.
        if ((at & kEquivocate) && !rep.shadow.qcs.empty()) {
          const tds::QuorumCert qc = rep.shadow.qcs[rng_.Uniform(rep.shadow.qcs.size())];
          auto info = Describe(qc.block());
          if (!info.ok()) break;
          std::optional<Hash> digest = rep.app->DigestOf(info->id);
          if (auto it = rep.shadow.alts.find(info->id); !digest && it != rep.shadow.alts.end()) {
            digest = it->second.digest;
          }
          Fork(b, qc, digest);
        }
        break;
    }
  }

  // ---- reporting

  std::string Summary(const tds::ConsensusMessage& m) const {
    auto id = [](const tds::BlockRef& ref) {
      auto info = Describe(ref);
      return info.ok() ? Short(info->id) : std::string("?");
    };
    switch (m.kind_case()) {
      case tds::ConsensusMessage::kProposal: {
        const tds::BlockProposal& p = m.proposal();
        return absl::StrCat("proposal r=", RoundText(p.block().round()), " id=", id(p.block()),
                            " parent=", HexEncode(p.block().parent()).substr(0, 8),
                            " qc=", RoundText(p.justify().block().round()),
                            p.tc().votes_size() > 0 ? absl::StrCat(" tc=", p.tc().view()) : "",
                            " txs=", p.entries_size());
      }
      case tds::ConsensusMessage::kVote:
        return absl::StrCat("vote r=", RoundText(m.vote().block().round()),
                            " id=", id(m.vote().block()), " by v", m.vote().sig().signer());
      case tds::ConsensusMessage::kTimeout:
        return absl::StrCat("timeout view=", m.timeout().vote().view(),
                            " hqc=", RoundText(m.timeout().vote().high_qc_round()));
      case tds::ConsensusMessage::kBlockRequest:
        return absl::StrCat("block_request ", HexEncode(m.block_request().id()).substr(0, 8),
                            " max=", m.block_request().max_blocks());
      case tds::ConsensusMessage::kBlockResponse: {
        const auto& blocks = m.block_response().blocks();
        return absl::StrCat("block_response ", blocks.size(), " blocks",
                            blocks.empty() ? "" : absl::StrCat(" from ", id(blocks[0].block())));
      }
      case tds::ConsensusMessage::kTxs:
        return absl::StrCat("txs ", m.txs().entries_size());
      default:
        return "empty message";
    }
  }

  void Trace(std::string line) {
    line = absl::StrCat("t=", now_, " ", line);
    if (opt_.verbose) std::fprintf(stderr, "%s\n", line.c_str());
    trace_.push_back(std::move(line));
    if (trace_.size() > opt_.trace_tail) trace_.pop_front();
  }

 public:
  void Fail(std::string what) {
    if (!ok()) return;
    Trace(absl::StrCat("FAILURE: ", what));
    failure_ = absl::StrCat("seed ", seed_, " (n=", n(), ", byzantine=[", ByzText(),
                            "]) at t=", now_, " ms: ", what, "\nlast ", trace_.size(),
                            " trace lines:\n", absl::StrJoin(trace_, "\n"));
  }

  std::string StatusText() const {
    std::vector<std::string> parts;
    for (const Replica& rep : replicas_) {
      if (!rep.up) {
        parts.push_back(absl::StrCat("v", rep.index, " down"));
        continue;
      }
      const CoreStatus s = rep.core->status();
      parts.push_back(absl::StrCat(
          "v", rep.index, rep.byz ? "(byz)" : "", " view=", s.view, " round=", RoundText(s.round),
          " hvr=", RoundText(s.highest_vote_round), " hqc=", RoundText(s.high_qc_round),
          " committed=", RoundText(s.committed_round), "/", rep.chain.size(), " blocks=", s.blocks,
          " mempool=", rep.app->mempool_size()));
    }
    return absl::StrJoin(parts, "; ");
  }

 private:
  struct HeightRecord {
    Hash id{};
    Hash digest{};
    int replica = 0;
  };

  const uint64_t seed_;
  const SimOptions opt_;
  Rng rng_;
  const ValidatorSet set_;
  std::vector<Replica> replicas_;
  NetworkOptions net_;
  std::vector<int> group_;  // partition side per replica; messages cross no side boundary

  std::map<std::pair<int64_t, uint64_t>, Event> queue_;  // (time, seq) -> event
  uint64_t next_seq_ = 0;
  int64_t now_ = 0;

  std::map<Hash, Hash> parent_of_;
  std::map<Hash, uint64_t> height_;
  std::map<uint64_t, HeightRecord> by_height_;
  std::map<std::pair<int, uint64_t>, Hash> votes_;          // (honest signer, round) -> block
  std::map<uint64_t, std::pair<Hash, uint64_t>> proposed_;  // round -> (block, incarnation)
  std::set<Hash> verified_qcs_, recorded_qcs_, verified_tcs_;
  std::string last_qc_error_;

  SimResult result_;
  std::deque<std::string> trace_;
  std::string failure_;

  void ScheduleTick(int b, int64_t at) {
    At(at, [this, b] {
      ByzantineTick(b);
      ScheduleTick(b, now_ + rng_.Range(100, 600));
    });
  }
  void ScheduleChaos(std::vector<std::string>* final_txs, bool* healed);
};

void Simulation::Impl::ScheduleChaos(std::vector<std::string>* final_txs, bool* healed) {
  const int64_t end = opt_.chaos_ms;
  NetworkOptions calm;  // the healed network: no loss, bounded delay
  calm.max_delay_ms = 50;
  if (opt_.chaos) {
    NetworkOptions wild;
    const std::vector<int64_t> delays = {5, 20, 100, 400, 1500};
    const std::vector<double> losses = {0, 0.01, 0.05, 0.2};
    const std::vector<double> dups = {0, 0.05, 0.2};
    const std::vector<double> reorders = {0, 0.1, 0.3};
    wild.max_delay_ms = rng_.Pick(delays);
    wild.loss = rng_.Pick(losses);
    wild.duplicate = rng_.Pick(dups);
    wild.reorder = rng_.Pick(reorders);
    wild.reorder_ms = rng_.Range(100, 3000);
    net_ = wild;
    Trace(absl::StrCat("chaos: delay<=", wild.max_delay_ms, "ms loss=", wild.loss,
                       " dup=", wild.duplicate, " reorder=", wild.reorder));
    // Partitions, one after another.
    int64_t t = rng_.Range(0, end / 2);
    for (uint64_t k = rng_.Uniform(4); k > 0 && t < end && n() > 1; --k) {
      std::vector<int> side;
      while (side.empty() || static_cast<int>(side.size()) == n()) {
        side.clear();
        for (int i = 0; i < n(); ++i) {
          if (rng_.Chance(0.4)) side.push_back(i);
        }
      }
      const int64_t heal = std::min(end, t + rng_.Range(200, 6000));
      At(t, [this, side, healed] {
        if (!*healed) Partition(side);
      });
      At(heal, [this, healed] {
        if (!*healed) Heal();
      });
      t = heal + rng_.Range(0, end / 4);
    }
  } else {
    net_ = calm;
  }
  if (opt_.crashes) {
    for (uint64_t k = rng_.Uniform(5); k > 0; --k) {
      const int64_t t = rng_.Range(0, end);
      const int r = static_cast<int>(rng_.Uniform(n()));
      if (replicas_[r].byz) continue;
      const bool mid_list = rng_.Chance(0.5);
      At(t, [this, r, mid_list, healed] {
        if (*healed || !replicas_[r].up) return;
        if (mid_list) {
          replicas_[r].crash_mid_list = true;
        } else {
          Crash(r);
        }
      });
      // A crash still pending after 300 ms happens anyway.
      At(t + 300, [this, r, healed] {
        if (!*healed && replicas_[r].up && replicas_[r].crash_mid_list) Crash(r);
      });
      At(t + rng_.Range(100, 6000), [this, r] { Restart(r); });
    }
  }
  for (int k = 0; k < opt_.chaos_txs; ++k) {
    const int64_t t = rng_.Range(0, end);
    std::vector<int> to;
    if (rng_.Chance(0.5)) {
      for (int i = 0; i < n(); ++i) {
        if (rng_.Chance(0.5)) to.push_back(i);
      }
      if (to.empty()) to.push_back(static_cast<int>(rng_.Uniform(n())));
    }
    At(t, [this, k, to] { InjectTx(absl::StrCat("tx", k), to); });
  }
  for (const Replica& rep : replicas_) {
    if (!rep.byz) continue;
    ScheduleTick(rep.index, rng_.Range(0, 600));
  }
  At(end, [this, calm, final_txs, healed] {
    *healed = true;
    net_ = calm;
    Heal();
    for (Replica& rep : replicas_) {
      rep.crash_mid_list = false;
      rep.crash_when = nullptr;
      if (!rep.up) Restart(rep.index);
    }
    Trace(absl::StrCat("heal: ", StatusText()));
    std::vector<int> honest;
    for (const Replica& rep : replicas_) {
      if (!rep.byz) honest.push_back(rep.index);
    }
    for (int k = 0; k < opt_.final_txs; ++k) {
      final_txs->push_back(absl::StrCat("final", k));
      InjectTx(final_txs->back(), honest);
    }
  });
}

SimResult Simulation::Impl::RunScenario() {
  std::vector<std::string> final_txs;
  bool healed = false;
  ScheduleChaos(&final_txs, &healed);
  // The Byzantine tick reschedules itself forever: stop at the liveness deadline.
  const int64_t deadline = opt_.chaos_ms + opt_.liveness_ms;
  RunUntil(deadline, [&] { return healed && AllHonestCommitted(final_txs); });
  if (ok() && !(healed && AllHonestCommitted(final_txs))) {
    std::vector<std::string> missing;
    for (const Replica& rep : replicas_) {
      if (rep.byz) continue;
      size_t have = 0;
      for (const std::string& tx : final_txs) have += rep.committed_txs.count(tx);
      missing.push_back(absl::StrCat("v", rep.index, " ", have, "/", final_txs.size()));
    }
    Fail(absl::StrCat("LIVENESS: ", opt_.liveness_ms / 1000,
                      " s after the heal the fresh transactions are not committed everywhere (",
                      absl::StrJoin(missing, ", "), "); ", StatusText()));
  }
  return result();
}

// ---- Simulation -------------------------------------------------------------------------------

Simulation::Simulation(uint64_t seed, const SimOptions& options)
    : impl_(std::make_unique<Impl>(seed, options)) {}
Simulation::~Simulation() = default;
int Simulation::n() const { return impl_->n(); }
bool Simulation::byzantine(int r) const { return impl_->byzantine(r); }
uint64_t Simulation::seed() const { return impl_->seed(); }
void Simulation::SetNetwork(const NetworkOptions& net) { impl_->SetNetwork(net); }
void Simulation::Partition(const std::vector<int>& side) { impl_->Partition(side); }
void Simulation::Heal() { impl_->Heal(); }
void Simulation::Crash(int r) { impl_->Crash(r); }
void Simulation::CrashAfter(int r, std::function<bool(const Action&)> when) {
  impl_->CrashAfter(r, std::move(when));
}
void Simulation::Restart(int r) { impl_->Restart(r); }
void Simulation::InjectTx(const std::string& tx, const std::vector<int>& to) {
  impl_->InjectTx(tx, to);
}
void Simulation::SendRaw(int from, int to, std::string bytes, bool must_refuse, int64_t delay_ms) {
  impl_->SendRaw(from, to, std::move(bytes), must_refuse, delay_ms);
}
bool Simulation::RunUntil(int64_t until_ms, const std::function<bool()>& done) {
  return impl_->RunUntil(until_ms, done);
}
SimResult Simulation::RunScenario() { return impl_->RunScenario(); }
int64_t Simulation::now_ms() const { return impl_->now_ms(); }
bool Simulation::ok() const { return impl_->ok(); }
const std::string& Simulation::failure() const { return impl_->failure(); }
bool Simulation::up(int r) const { return impl_->up(r); }
CoreStatus Simulation::status(int r) const { return impl_->status(r); }
uint64_t Simulation::refused(int r) const { return impl_->refused(r); }
const tds::SafetyState& Simulation::persisted(int r) const { return impl_->persisted(r); }
std::vector<Hash> Simulation::committed(int r) const { return impl_->committed(r); }
bool Simulation::HasCommitted(int r, const std::string& tx) const {
  return impl_->HasCommitted(r, tx);
}
bool Simulation::AllHonestCommitted(const std::vector<std::string>& txs) const {
  return impl_->AllHonestCommitted(txs);
}
SimResult Simulation::result() const { return impl_->result(); }

SimResult RunSeed(uint64_t seed, const SimOptions& options) {
  return Simulation(seed, options).RunScenario();
}

}  // namespace tds::consensus::sim
