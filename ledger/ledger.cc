#include "ledger/ledger.h"

#include <leveldb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/batch_worker.h"
#include "common/envelope.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/wall_clock.h"
#include "ledger/checkpoint.h"
#include "ledger/consensus/replica.h"
#include "ledger/epochs.h"
#include "ledger/membership.h"
#include "ledger/merkle.h"
#include "ledger/signature_prepass.h"
#include "ledger/snapshot.h"
#include "ledger/state_overlay.h"
#include "ledger/store.h"
#include "proto/consensus.pb.h"
#include "proto/envelope.pb.h"

namespace tds::ledger {
namespace {

constexpr size_t kMaxPending = 200000;
constexpr size_t kMaxForwardBatch = 2048;
// Most submissions admitted (and batch-verified) at once.
constexpr size_t kMaxAdmitBatch = 1024;
// Blocks in one answer to a replica catching up from an ended epoch (as the core's fetches).
constexpr size_t kMaxServedBlocks = 64;
// State sync: how long a new replica looks for a snapshot, and the chunks it is sent in.
constexpr auto kSnapshotWait = std::chrono::seconds(5);
constexpr auto kSnapshotAskEvery = std::chrono::milliseconds(300);
constexpr auto kSnapshotChunkWait = std::chrono::seconds(2);
constexpr int kSnapshotChunkAttempts = 5;
constexpr size_t kSnapshotChunkEntries = 4096;
constexpr size_t kSnapshotChunkBytes = 1 << 20;
// A transaction submitted here and still not committed is passed on again after this long (the
// first time may have been lost, e.g. while this validator was cut off).
constexpr auto kReforwardAfter = std::chrono::seconds(3);
constexpr std::string_view kStateDigestTag = "tds-state-v1";

std::string TxIdHex(const Hash& h) { return HexEncode(h); }

// One block's contribution to the state digest:
//   digest' = SHA-256(tag || digest || *(be32 len(key) || key || 0x01 || be32 len(v) || v
//                                        | be32 len(key) || key || 0x00))   in key order
Hash ChainStateDigest(const Hash& prev, const StateOverlay& writes) {
  Sha256Hasher h;
  h.Update(kStateDigestTag).Update(AsBytes(prev));
  std::string buf;
  for (const auto& [k, v] : writes.writes()) {
    buf.clear();
    PutFixed32BE(&buf, static_cast<uint32_t>(k.size()));
    buf += k;
    buf.push_back(v.has_value() ? 1 : 0);
    if (v.has_value()) PutFixed32BE(&buf, static_cast<uint32_t>(v->size()));
    h.Update(buf);
    if (v.has_value()) h.Update(*v);
  }
  return h.Finish();
}

struct Pending {
  std::string entry;
  Hash txid{};
  std::string signer;  // raw key bytes
  tds::Transaction tx;
  Ledger::Done done;                                  // set for transactions submitted to this node
  std::chrono::steady_clock::time_point forwarded{};  // last passed on to the other validators

  // The transaction alone, for a block: whoever waits for it stays with the pooled original.
  Pending ForBlock() const {
    Pending p;
    p.entry = entry;
    p.txid = txid;
    p.signer = signer;
    p.tx = tx;
    return p;
  }
};

// A transaction waiting for admission: submitted to this node (done set) or forwarded by
// another validator (done empty).
struct Submission {
  std::string entry;
  Ledger::Done done;
};

struct Head {
  uint64_t height = 0;
  uint64_t log_size = 0;
  Hash log_root{};
  Hash state_digest{};
  Hash block_hash{};
  int64_t block_time_ms = 0;
  std::string checkpoint;
};

}  // namespace

class Ledger::Impl : public consensus::BlockApp {
 public:
  using CommitObserver = Ledger::CommitObserver;
  Impl(const LedgerOptions& options, GenesisInfo genesis, std::unique_ptr<SigningKey> key,
       std::string node_id, const Application* app, std::unique_ptr<Store> store)
      : options_(options),
        genesis_(std::move(genesis)),
        key_(std::move(key)),
        node_id_(std::move(node_id)),
        app_(app),
        store_(std::move(store)) {
    if (!options_.clock) options_.clock = WallClockMs;
    admitter_ = std::make_unique<BatchWorker<Submission>>(
        kMaxAdmitBatch, [this](std::vector<Submission>& batch) { AdmitSubmissions(batch); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    height_cv_.notify_all();
    admitter_.reset();  // refuses what is still queued: stopping_ is set
    sync_.cv.notify_all();
    if (sync_thread_.joinable()) sync_thread_.join();
    if (replica_ != nullptr) replica_->Stop();
    AbortWaiting(absl::UnavailableError("ledger closed before the transaction committed"));
  }

  // Answers every submission still waiting for its commit with `why`; the transactions stay
  // pooled and may still commit.
  void AbortWaiting(const absl::Status& why) {
    std::vector<Done> waiting;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& [id, p] : mempool_) {
        if (p.done) waiting.push_back(std::move(p.done));
        p.done = nullptr;
      }
    }
    for (Done& d : waiting) d(why);
  }

  absl::Status Recover() {
    TDS_ASSIGN_OR_RETURN(auto stored_genesis, store_->Get(MetaKey("genesis")));
    TDS_ASSIGN_OR_RETURN(auto stored_height, store_->Get(MetaKey("height")));
    if (!stored_genesis.has_value()) {
      if (stored_height.has_value()) return absl::DataLossError("storage: height without genesis");
      leveldb::WriteBatch wb;
      wb.Put(MetaKey("genesis"), std::string(AsBytes(genesis_.digest())));
      TDS_RETURN_IF_ERROR(store_->Write(&wb, true));
    } else if (*stored_genesis != AsBytes(genesis_.digest())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", options_.data_dir, " belongs to a ledger with genesis sha256 ",
          HexEncode(*stored_genesis), ", not this genesis (", HexEncode(genesis_.digest()),
          "); refusing to mix ledgers"));
    }
    Head head;  // published at the end: other threads may read head_ (a sync recovers late)
    head.block_hash = genesis_.digest();
    head.log_root = merkle::EmptyRoot();
    TDS_ASSIGN_OR_RETURN(auto cseq, store_->Get(MetaKey("cseq")));
    if (cseq.has_value() && cseq->size() == 8) commit_seq_ = DecodeFixed64BE(cseq->data());
    if (!stored_height.has_value()) {
      std::lock_guard<std::mutex> l(mu_);
      head_ = head;
      return absl::OkStatus();
    }
    if (stored_height->size() != 8) return absl::DataLossError("storage: corrupt height record");
    const uint64_t height = DecodeFixed64BE(stored_height->data());
    TDS_ASSIGN_OR_RETURN(tds::Block block, ReadBlockRecord(height));
    tds::BlockHeader header;
    if (!header.ParseFromString(block.header())) {
      return absl::DataLossError(absl::StrCat("storage: block ", height, " header is corrupt"));
    }
    TDS_ASSIGN_OR_RETURN(frontier_, merkle::Frontier::Load(store_->nodes(), header.log_size()));
    if (AsBytes(frontier_.Root()) != header.log_root()) {
      return absl::DataLossError(
          absl::StrCat("storage: Merkle nodes do not match the root of block ", height));
    }
    head.height = height;
    head.log_size = header.log_size();
    head.log_root = frontier_.Root();
    TDS_ASSIGN_OR_RETURN(head.state_digest, HashFromBytes(header.state_digest(), "state digest"));
    head.block_hash = Sha256(block.header());
    head.block_time_ms = header.timestamp_ms();
    head.checkpoint = block.checkpoint();
    std::lock_guard<std::mutex> l(mu_);
    head_ = head;
    return absl::OkStatus();
  }

  absl::Status RecoverAll() {
    TDS_RETURN_IF_ERROR(Recover());
    TDS_RETURN_IF_ERROR(LoadEpochs());
    return LoadMemberCache();
  }

  // The validator set of every epoch so far: genesis's, then each stored epoch change's
  // (verified again: the store is this node's, but a change is cheap to check).
  // Incremental: sets already loaded stay (other threads may hold the current one), so a
  // replica that installed a snapshot only adds the epochs it brought.
  absl::Status LoadEpochs() {
    if (sets_.empty()) sets_.push_back(MakeValidatorSet(genesis_));
    std::vector<Validator> current = ValidatorsOf(*sets_.back());
    for (uint64_t e = epochs_.size();; ++e) {
      TDS_ASSIGN_OR_RETURN(auto raw, store_->Get(EpochKey(e)));
      if (!raw.has_value()) break;
      tds::EpochRecord rec;
      if (!rec.ParseFromString(*raw)) {
        return absl::DataLossError(absl::StrCat("storage: epoch ", e, " record is corrupt"));
      }
      auto next = VerifyEpochChange(rec.change(), genesis_.origin(), e, current);
      if (!next.ok()) {
        return absl::DataLossError(absl::StrCat("storage: ", std::string(next.status().message())));
      }
      sets_.push_back(NewEpochSet(*next, e + 1, rec.change().header()));
      epochs_.push_back(std::move(rec));
      current = std::move(*next);
    }
    validators_.store(sets_.back().get());
    return absl::OkStatus();
  }

  std::unique_ptr<consensus::ValidatorSet> NewEpochSet(const std::vector<Validator>& validators,
                                                       uint64_t epoch,
                                                       const std::string& ending_header) const {
    tds::BlockHeader header;
    header.ParseFromString(ending_header);
    std::vector<std::string> ids;
    std::vector<PublicKey> keys;
    for (const Validator& v : validators) {
      ids.push_back(v.id);
      keys.push_back(v.key);
    }
    return std::make_unique<consensus::ValidatorSet>(
        genesis_.origin(), genesis_.digest(), std::move(ids), std::move(keys),
        consensus::EpochStart{epoch, Sha256(ending_header), header.round()});
  }

  static std::vector<Validator> ValidatorsOf(const consensus::ValidatorSet& set) {
    std::vector<Validator> out;
    for (size_t i = 0; i < set.size(); ++i) out.push_back(Validator{set.id(i), set.key(i)});
    return out;
  }

  size_t SelfIndex(const consensus::ValidatorSet& set) const {
    const int i = set.IndexOf(node_id_);
    return i < 0 ? consensus::kNotMember : static_cast<size_t>(i);
  }

  // Validators run consensus among the current epoch's validators (alone when there is one);
  // a node that is not one of them follows the same way without voting.
  absl::Status Start() {
    const consensus::ValidatorSet* set = validators_.load();
    const size_t self = SelfIndex(*set);
    if (!options_.send && (self == consensus::kNotMember || set->size() > 1)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "node '", node_id_, "': key ", key_->public_key().hex(), " is not the key of ",
          self == consensus::kNotMember ? "a validator" : "the only validator", " in epoch ",
          set->epoch(), " of ", genesis_.origin(), " (and no consensus peers are configured)"));
    }
    consensus::ReplicaHooks hooks;
    hooks.send = options_.send;
    hooks.commit = [this](const consensus::CommitAction& c) { Commit(c); };
    hooks.after_event = [this](const consensus::CoreStatus&) { ForwardFresh(); };
    hooks.serve_earlier = [this](uint64_t epoch, const tds::BlockRequest& r) {
      return ServeEarlier(epoch, r);
    };
    hooks.epoch_started = [this](uint64_t) { EpochStarted(); };
    consensus::CoreOptions core_options;
    core_options.base_timeout_ms = options_.consensus_timeout_ms;
    core_options.max_entries = options_.max_block_txs;
    replica_ = std::make_unique<consensus::Replica>(
        key_.get(), this, consensus::SafetyStore(options_.data_dir + "/consensus-safety"),
        options_.sync, std::move(hooks), core_options);
    if (head_.height == 0 && options_.send && options_.state_sync) {
      // A new replica among others: a snapshot spares it the replay (ledger/snapshot.h).
      syncing_ = true;
      sync_thread_ = std::thread([this] { SyncThenStart(); });
      return absl::OkStatus();
    }
    return StartReplica();
  }

  absl::Status StartReplica() {
    const consensus::ValidatorSet* set = validators_.load();
    committed_id_ = head_.block_hash;
    consensus::Root root;
    if (head_.height > 0) {
      TDS_ASSIGN_OR_RETURN(root, RootFromBlock(head_.height));
    }
    return replica_->Start(set, SelfIndex(*set), root);
  }

  // The last durable block as the consensus root: its proposal (ref, entries, justify) and
  // its certificate, rebuilt from the checkpoint note.
  absl::StatusOr<consensus::Root> RootFromBlock(uint64_t height) const {
    TDS_ASSIGN_OR_RETURN(tds::Block block, GetBlock(height));
    tds::BlockHeader header;
    header.ParseFromString(block.header());
    if (header.round() == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", options_.data_dir,
          " was written before BFT consensus (its blocks carry no round); start from a new one"));
    }
    consensus::Root root;
    tds::BlockRef* ref = root.block.mutable_block();
    ref->set_round(header.round());
    ref->set_parent(header.parent_id());
    ref->set_header(block.header());
    for (const std::string& e : block.entries()) root.block.add_entries(e);
    if (!root.block.mutable_justify()->ParseFromString(block.justify())) {
      return absl::DataLossError(absl::StrCat("storage: block ", height, " justify is corrupt"));
    }
    *root.qc.mutable_block() = *ref;
    TDS_ASSIGN_OR_RETURN(SignedNote note, ParseSignedNote(block.checkpoint()));
    if (header.epoch() >= sets_.size()) {
      return absl::DataLossError(absl::StrCat("storage: block ", height, " is of epoch ",
                                              header.epoch(), ", which never began here"));
    }
    const consensus::ValidatorSet& signers = *sets_[header.epoch()];
    for (const NoteSignature& sig : note.signatures) {
      const int index = signers.IndexOf(sig.key_name);
      if (index < 0) continue;
      tds::ValidatorSignature* v = root.qc.add_votes();
      v->set_signer(static_cast<uint32_t>(index));
      v->set_signature(sig.signature);
    }
    return root;
  }

  void Submit(std::string entry, Done done) {
    if (options_.follower) {
      done(absl::FailedPreconditionError(
          "this node follows a validator: submit to the validator (a node forwards for you)"));
      return;
    }
    admitter_->Push({std::move(entry), std::move(done)});
  }

  // The admitter thread: transactions that queued up meanwhile (submitted here or forwarded),
  // their signatures verified in one batch.
  void AdmitSubmissions(std::vector<Submission>& batch) {
    std::vector<const std::string*> entries;
    entries.reserve(batch.size());
    for (const Submission& s : batch) entries.push_back(&s.entry);
    Preverify(entries);
    for (Submission& s : batch) {
      auto p = Admit(std::move(s.entry));
      if (!p.ok()) {
        if (s.done) s.done(p.status());  // a forwarded one is simply dropped
        continue;
      }
      p->done = std::move(s.done);
      AddToMempool(std::move(*p));
    }
  }

  void Preverify(const std::vector<const std::string*>& entries) const {
    PreverifySignatures(entries, *app_, [this](std::string_view raw) {
      std::shared_lock<std::shared_mutex> members(members_mu_);
      return member_by_key_.count(raw) > 0;
    });
  }

  // Preverify for a block's entries that are not pooled (pooled ones were verified at
  // admission and DecodeEntry takes them from the pool).
  template <typename Entries>
  void PreverifyUnpooled(const Entries& block_entries) const {
    // Parsed and hashed outside the lock, which admission needs too.
    std::vector<std::pair<const std::string*, std::optional<Hash>>> ids;
    for (const std::string& e : block_entries) {
      tds::Envelope env;
      ids.emplace_back(
          &e, env.ParseFromString(e) ? std::optional<Hash>(Sha256(env.payload())) : std::nullopt);
    }
    std::vector<const std::string*> entries;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [entry, txid] : ids) {
        if (!txid.has_value() || mempool_.count(*txid) == 0) entries.push_back(entry);
      }
    }
    Preverify(entries);
  }

  // Transactions another validator admitted, for whichever of us leads.
  void DeliverConsensus(const std::string& from, tds::ConsensusMessage msg) {
    if (replica_ == nullptr) return;
    switch (msg.kind_case()) {
      case tds::ConsensusMessage::kSnapshotRequest:
        ServeSnapshot(from, msg.snapshot_request());
        return;
      case tds::ConsensusMessage::kSnapshotOffer:
      case tds::ConsensusMessage::kSnapshotChunk:
        if (syncing_) SyncReceive(from, std::move(msg));
        return;
      case tds::ConsensusMessage::kTxs:
        break;
      default:
        // While syncing, what the others order now is of no use yet: the replica catches up.
        if (!syncing_) replica_->Deliver(from, std::move(msg));
        return;
    }
    // Admitted with the submissions: whatever queues up while the admitter verifies one batch
    // forms the next, so batches grow with the load from every validator at once.
    for (std::string& entry : *msg.mutable_txs()->mutable_entries()) {
      admitter_->Push({std::move(entry), nullptr});
    }
  }

  void AddToMempool(Pending p) {
    const bool local = static_cast<bool>(p.done);
    absl::Status refuse;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) {
        refuse = absl::UnavailableError("ledger is shutting down");
      } else if (mempool_.size() >= kMaxPending) {
        refuse = absl::ResourceExhaustedError(
            absl::StrCat("ledger queue is full (", kMaxPending, " transactions); retry later"));
      } else if (mempool_.count(p.txid) > 0) {
        refuse = absl::AlreadyExistsError(
            absl::StrCat("transaction ", TxIdHex(p.txid), " is already pending"));
      } else {
        if (local && options_.send) {
          to_forward_.push_back(p.entry);
          p.forwarded = std::chrono::steady_clock::now();
        }
        fifo_.push_back(p.txid);
        const Hash txid = p.txid;
        mempool_.emplace(txid, std::move(p));
      }
    }
    if (!refuse.ok()) {
      if (local) p.done(refuse);
      return;
    }
    replica_->NotifyWork();
  }

  // Passes transactions submitted here to the other validators (replica thread).
  void ForwardFresh() {
    std::vector<std::string> fresh;
    {
      std::lock_guard<std::mutex> l(mu_);
      const auto now = std::chrono::steady_clock::now();
      if (now - last_reforward_ >= kReforwardAfter && options_.send) {
        last_reforward_ = now;
        for (auto& [txid, p] : mempool_) {
          if (p.done && now - p.forwarded >= kReforwardAfter) {
            to_forward_.push_back(p.entry);
            p.forwarded = now;
          }
        }
      }
      if (to_forward_.empty()) return;
      fresh.swap(to_forward_);
    }
    for (size_t i = 0; i < fresh.size(); i += kMaxForwardBatch) {
      tds::ConsensusMessage m;
      for (size_t j = i; j < std::min(fresh.size(), i + kMaxForwardBatch); ++j) {
        m.mutable_txs()->add_entries(std::move(fresh[j]));
      }
      if (options_.send) options_.send("", m);
    }
  }

  // Stateless checks plus the committed-duplicate lookup; runs on the caller's thread.
  absl::StatusOr<Pending> Admit(std::string entry) const {
    if (entry.size() > options_.max_entry_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("transaction: envelope is ", entry.size(),
                                                     " bytes; the limit is ",
                                                     options_.max_entry_bytes));
    }
    // Current members (genesis, then governance) from the membership cache; the committer
    // re-checks against the block's own state, where an earlier transaction may have changed it.
    std::shared_lock<std::shared_mutex> members(members_mu_);
    auto opened_or = OpenEnvelopeFrom(entry, kTxContext, [this](std::string_view raw) {
      auto it = member_by_key_.find(raw);
      return it == member_by_key_.end() ? nullptr : &it->second;
    });
    if (!opened_or.ok()) {
      if (opened_or.status().code() != absl::StatusCode::kPermissionDenied)
        return opened_or.status();
      return absl::PermissionDeniedError(
          absl::StrCat("membership: the envelope's signer", ClaimedSubmitter(entry),
                       " is not a current member of ", genesis_.origin()));
    }
    OpenedEnvelope& opened = *opened_or;
    Pending p;
    if (!p.tx.ParseFromString(opened.payload)) {
      return absl::InvalidArgumentError("transaction: payload is not a tds.Transaction");
    }
    if (p.tx.type().empty()) return absl::InvalidArgumentError("transaction: type is empty");
    auto member = member_by_id_.find(p.tx.submitter());
    if (member == member_by_id_.end()) {
      return absl::PermissionDeniedError(absl::StrCat("membership: submitter '", p.tx.submitter(),
                                                      "' is not a member of ", genesis_.origin()));
    }
    if (member->second != opened.signer.bytes()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "membership: envelope is not signed by the key of member '", p.tx.submitter(), "'"));
    }
    members.unlock();
    p.signer = std::string(opened.signer.bytes());
    p.txid = Sha256(opened.payload);
    TDS_ASSIGN_OR_RETURN(auto loc, store_->FindTx(AsBytes(p.txid)));
    if (loc.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("transaction ", TxIdHex(p.txid),
                                                   " is already in the log at index ", loc->index));
    }
    p.entry = std::move(entry);
    return p;
  }

  // " (claiming to be 'x')" from an unverified envelope, for refusal messages only.
  static std::string ClaimedSubmitter(std::string_view entry) {
    tds::Envelope env;
    tds::Transaction tx;
    if (!env.ParseFromArray(entry.data(), static_cast<int>(entry.size())) ||
        !tx.ParseFromString(env.payload()) || tx.submitter().empty()) {
      return "";
    }
    return absl::StrCat(" (claiming to be '", tx.submitter().substr(0, 64), "')");
  }
  // The outcome of applying transactions over some state (durable, or a speculative block's).
  struct Execution {
    BlockContext ctx;
    StateOverlay state;
    std::vector<Pending> accepted;
    std::vector<std::string> results;
    std::vector<std::pair<Pending, absl::Status>> rejected;
    explicit Execution(const StateReader* base) : state(base) {}
  };

  // A consensus block executed but not yet committed. Its state reads through its parent's
  // until the parent is durable (then through the store: Rebase), so a chain of uncommitted
  // blocks executes without touching the store.
  struct Spec {
    Hash id{};
    std::shared_ptr<Spec> parent;  // null once the parent is durable
    bool empty = true;
    Head head;  // after this block (an empty block's is its parent's)
    merkle::Frontier frontier;
    std::vector<merkle::StoredNode> nodes;
    Execution ex;
    std::set<Hash> txids;
    // Its transactions change the validators: it ends the epoch, and its descendants in the
    // epoch carry no transactions. `next` orders the next epoch.
    bool ends_epoch = false;
    std::vector<Validator> next;
    explicit Spec(const StateReader* base) : ex(base) {}
  };

  // Whether `chain` (a speculative block and its uncommitted ancestors) ended the epoch.
  bool EpochEnded(const Spec* chain) const {
    if (closing_epoch_) return true;
    for (; chain != nullptr; chain = chain->parent.get()) {
      if (chain->ends_epoch) return true;
    }
    return false;
  }

  // The validators after `ex` when its writes change who holds the role; nullopt otherwise
  // (also when none would be left: governance refuses that, and a data space must not stop).
  absl::StatusOr<std::optional<std::vector<Validator>>> NextValidators(const Execution& ex) const {
    const auto& writes = ex.state.writes();
    auto first = writes.lower_bound(kMemberPrefix);
    if (first == writes.end() || !StartsWith(first->first, kMemberPrefix)) return std::nullopt;
    TDS_ASSIGN_OR_RETURN(std::vector<Validator> next, CurrentValidators(ex.state));
    if (next.empty() || SameValidators(next, ValidatorsOf(*validators_.load()))) {
      return std::nullopt;
    }
    return next;
  }

  // A snapshot block's header names the root of the state its execution leaves; others none.
  absl::Status CheckStateRoot(const tds::BlockHeader& header, const Execution& ex,
                              const Spec* chain, uint64_t first_index) const {
    if (!IsSnapshotHeight(header.height(), genesis_.snapshot_interval())) {
      if (header.state_root().empty()) return absl::OkStatus();
      return absl::InvalidArgumentError("a state root on a block that is not a snapshot block");
    }
    TDS_ASSIGN_OR_RETURN(Hash root, SnapshotRoot(ex, chain, first_index));
    if (header.state_root() != AsBytes(root)) {
      return absl::InvalidArgumentError(
          "executing the block gives another state root than its header claims");
    }
    return absl::OkStatus();
  }

  // The snapshot root after `ex` (ledger/snapshot.h): the state through the overlay chain,
  // and the transaction index — the store's, the uncommitted ancestors' (`chain`) and this
  // block's (its first entry at log index `first_index`).
  absl::StatusOr<Hash> SnapshotRoot(const Execution& ex, const Spec* chain,
                                    uint64_t first_index) const {
    StateRootHasher h;
    absl::Status bad;
    TDS_RETURN_IF_ERROR(
        ex.state.Scan("", "", SIZE_MAX, [&](std::string_view k, std::string_view v) {
          bad = h.Add(StateKey(k), v);
          return bad.ok();
        }));
    TDS_RETURN_IF_ERROR(bad);
    std::map<std::string, std::string> added;
    auto add = [&](const Execution& e, uint64_t first) {
      for (size_t i = 0; i < e.accepted.size(); ++i) {
        added[TxKey(AsBytes(e.accepted[i].txid))] = EncodeTxLocation({first + i, e.ctx.height});
      }
    };
    add(ex, first_index);
    for (const Spec* c = chain; c != nullptr; c = c->parent.get()) {
      if (!c->empty) add(c->ex, c->head.log_size - c->ex.accepted.size());
    }
    auto next = added.begin();
    TDS_RETURN_IF_ERROR(store_->ScanRaw(
        nullptr, "T", kSnapshotEnd, "", SIZE_MAX, [&](std::string_view k, std::string_view v) {
          for (; bad.ok() && next != added.end() && next->first < k; ++next) {
            bad = h.Add(next->first, next->second);
          }
          if (bad.ok()) bad = h.Add(k, v);
          return bad.ok();
        }));
    TDS_RETURN_IF_ERROR(bad);
    for (; next != added.end(); ++next) TDS_RETURN_IF_ERROR(h.Add(next->first, next->second));
    return h.Finish();
  }

  static bool SameKeys(const google::protobuf::RepeatedPtrField<tds::ValidatorKey>& claimed,
                       const std::vector<tds::ValidatorKey>& computed) {
    if (static_cast<size_t>(claimed.size()) != computed.size()) return false;
    for (size_t i = 0; i < computed.size(); ++i) {
      const tds::ValidatorKey& c = claimed.Get(static_cast<int>(i));
      if (c.id() != computed[i].id() || c.public_key() != computed[i].public_key()) return false;
    }
    return true;
  }

  // Applies `txs` in order over ex->state; genesis members are seeded first in block 1.
  void Execute(const Head& head, std::vector<Pending> txs, const Spec* chain, Execution* ex) {
    if (ex->ctx.height == 1) SeedGenesisMembers(&ex->state);
    std::set<Hash> in_block;
    for (Pending& p : txs) {
      auto r =
          ApplyOne(ex->ctx, head.log_size + ex->accepted.size(), p, chain, &ex->state, &in_block);
      if (!r.ok()) {
        ex->rejected.emplace_back(std::move(p), r.status());
        continue;
      }
      ex->accepted.push_back(std::move(p));
      ex->results.push_back(std::move(*r));
    }
  }

  struct Derived {
    merkle::Frontier frontier;
    std::vector<merkle::StoredNode> nodes;
    Head next;  // block_hash and checkpoint not yet known
  };

  // What an execution over `head` (whose Merkle frontier is `base`) puts in the header.
  Derived Derive(const Head& head, const merkle::Frontier& base, const Execution& ex) const {
    Derived d;
    d.frontier = base;
    for (const Pending& p : ex.accepted) d.frontier.Append(merkle::LeafHash(p.entry), &d.nodes);
    d.next.height = ex.ctx.height;
    d.next.log_size = d.frontier.size();
    d.next.log_root = d.frontier.Root();
    d.next.state_digest = ChainStateDigest(head.state_digest, ex.state);
    d.next.block_time_ms = ex.ctx.timestamp_ms;
    return d;
  }

  // ---- consensus::BlockApp (replica thread) -------------------------------------------

  absl::StatusOr<consensus::BlockInfo> DescribeHeader(const tds::BlockRef& ref) const override {
    tds::BlockHeader header;
    if (!header.ParseFromString(ref.header())) {
      return absl::InvalidArgumentError("block header does not parse");
    }
    if (header.round() != ref.round() || header.parent_id() != ref.parent()) {
      return absl::InvalidArgumentError("block header names another round or parent");
    }
    if (header.log_root().size() != 32) {
      return absl::InvalidArgumentError("block header log root is not 32 bytes");
    }
    Checkpoint cp;
    cp.origin = genesis_.origin();
    cp.size = header.log_size();
    std::copy(header.log_root().begin(), header.log_root().end(), cp.root.begin());
    cp.height = header.height();
    cp.block_hash = Sha256(ref.header());
    cp.epoch = header.epoch();
    return consensus::BlockInfo{cp.block_hash, cp.Body()};
  }

  bool HasWork() const override {
    std::lock_guard<std::mutex> l(mu_);
    return !mempool_.empty();
  }

  // The state a child of consensus block `parent` starts from: a speculative block, or the
  // durable head when `parent` is the last committed block.
  absl::StatusOr<std::pair<std::shared_ptr<Spec>, Head>> BaseOf(const std::string& parent) const {
    if (parent == AsBytes(committed_id_)) return std::make_pair(nullptr, SnapshotHead());
    for (const auto& [id, spec] : spec_) {
      if (AsBytes(id) == parent) return std::make_pair(spec, spec->head);
    }
    return absl::FailedPreconditionError("the parent block is not executed here");
  }

  std::shared_ptr<Spec> NewSpec(const std::shared_ptr<Spec>& parent) const {
    auto spec = std::make_shared<Spec>(
        parent != nullptr ? static_cast<const StateReader*>(&parent->ex.state) : &store_->state());
    spec->parent = parent;
    spec->frontier = parent != nullptr ? parent->frontier : frontier_;
    return spec;
  }

  static bool InChain(const Spec* chain, const Hash& txid) {
    for (; chain != nullptr; chain = chain->parent.get()) {
      if (chain->txids.count(txid) > 0) return true;
    }
    return false;
  }

  absl::Status Build(tds::BlockProposal* p) override {
    TDS_ASSIGN_OR_RETURN(auto base, BaseOf(p->block().parent()));
    auto& [parent, head] = base;
    if (EpochEnded(parent.get())) return absl::OkStatus();  // the epoch's last blocks are empty
    std::vector<Pending> batch;
    {
      std::lock_guard<std::mutex> l(mu_);
      while (!fifo_.empty() && mempool_.count(fifo_.front()) == 0) fifo_.pop_front();
      for (const Hash& txid : fifo_) {
        if (batch.size() >= options_.max_block_txs) break;
        auto it = mempool_.find(txid);
        if (it == mempool_.end() || InChain(parent.get(), txid)) continue;
        batch.push_back(it->second.ForBlock());
      }
    }
    if (batch.empty()) return absl::OkStatus();
    auto spec = NewSpec(parent);
    Execution& ex = spec->ex;
    ex.ctx.height = head.height + 1;
    ex.ctx.timestamp_ms = std::max(options_.clock(), head.block_time_ms);  // never goes back
    ex.ctx.proposer = node_id_;
    Execute(head, std::move(batch), parent.get(), &ex);
    for (auto& [rejected, status] : ex.rejected) {
      tds::RejectedTx* r = p->add_rejected();
      r->set_txid(std::string(AsBytes(rejected.txid)));
      r->set_code(static_cast<int32_t>(status.code()));
      r->set_reason(std::string(status.message()));
      Drop(rejected.txid, status);
    }
    if (ex.accepted.empty()) return absl::OkStatus();
    TDS_ASSIGN_OR_RETURN(std::optional<std::vector<Validator>> next, NextValidators(ex));
    Derived d = Derive(head, spec->frontier, ex);
    tds::BlockHeader header;
    header.set_height(ex.ctx.height);
    header.set_prev_block_hash(std::string(AsBytes(head.block_hash)));
    header.set_log_size(d.next.log_size);
    header.set_log_root(std::string(AsBytes(d.next.log_root)));
    header.set_state_digest(std::string(AsBytes(d.next.state_digest)));
    header.set_timestamp_ms(ex.ctx.timestamp_ms);
    header.set_proposer(node_id_);
    header.set_tx_count(static_cast<uint32_t>(ex.accepted.size()));
    header.set_round(p->block().round());
    header.set_parent_id(p->block().parent());
    header.set_epoch(validators_.load()->epoch());
    if (IsSnapshotHeight(ex.ctx.height, genesis_.snapshot_interval())) {
      TDS_ASSIGN_OR_RETURN(Hash root, SnapshotRoot(ex, parent.get(), head.log_size));
      header.set_state_root(std::string(AsBytes(root)));
    }
    if (next.has_value()) {
      for (tds::ValidatorKey& k : ToValidatorKeys(*next)) *header.add_next_validators() = k;
      spec->ends_epoch = true;
      spec->next = std::move(*next);
    }
    p->mutable_block()->set_header(header.SerializeAsString());
    for (const Pending& t : ex.accepted) p->add_entries(t.entry);
    Install(std::move(spec), std::move(d), Sha256(p->block().header()));
    return absl::OkStatus();
  }

  absl::Status Execute(const Hash& id, const tds::BlockProposal& p) override {
    if (spec_.count(id) > 0) return absl::OkStatus();  // built here
    TDS_ASSIGN_OR_RETURN(auto base, BaseOf(p.block().parent()));
    auto& [parent, head] = base;
    auto spec = NewSpec(parent);
    if (p.block().header().empty()) {
      spec->head = head;
      spec->id = id;
      spec_[id] = std::move(spec);
      return absl::OkStatus();
    }
    tds::BlockHeader header;
    header.ParseFromString(p.block().header());  // DescribeHeader parsed it
    const std::string leader =
        validators_.load()->id(validators_.load()->LeaderOf(consensus::ViewOf(p.block().round())));
    if (header.proposer() != leader) {
      return absl::InvalidArgumentError(absl::StrCat("proposer '", header.proposer(),
                                                     "' is not the view's leader '", leader, "'"));
    }
    if (header.height() != head.height + 1 ||
        header.prev_block_hash() != AsBytes(head.block_hash)) {
      return absl::InvalidArgumentError("header does not follow its parent's ledger block");
    }
    if (header.epoch() != validators_.load()->epoch()) {
      return absl::InvalidArgumentError(absl::StrCat("header names epoch ", header.epoch(),
                                                     ", not ", validators_.load()->epoch()));
    }
    if (EpochEnded(parent.get())) {
      return absl::InvalidArgumentError(
          "transactions after the block that ended the epoch (they wait for the next one)");
    }
    if (header.tx_count() == 0 || static_cast<int>(header.tx_count()) != p.entries_size()) {
      return absl::InvalidArgumentError("entry count does not match the header");
    }
    if (header.timestamp_ms() < head.block_time_ms) {
      return absl::InvalidArgumentError("block time goes back");
    }
    PreverifyUnpooled(p.entries());
    std::vector<Pending> txs;
    txs.reserve(p.entries_size());
    for (int i = 0; i < p.entries_size(); ++i) {
      auto t = DecodeEntry(p.entries(i));
      if (!t.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("entry ", i, ": ", std::string(t.status().message())));
      }
      txs.push_back(std::move(*t));
    }
    Execution& ex = spec->ex;
    ex.ctx.height = header.height();
    ex.ctx.timestamp_ms = header.timestamp_ms();
    ex.ctx.proposer = header.proposer();
    Execute(head, std::move(txs), parent.get(), &ex);
    if (!ex.rejected.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("transaction ", TxIdHex(ex.rejected.front().first.txid),
                       " is rejected here: ", std::string(ex.rejected.front().second.message())));
    }
    Derived d = Derive(head, spec->frontier, ex);
    if (header.log_size() != d.next.log_size || header.log_root() != AsBytes(d.next.log_root) ||
        header.state_digest() != AsBytes(d.next.state_digest)) {
      return absl::InvalidArgumentError(
          "executing the block gives another log root or state digest than its header claims");
    }
    TDS_ASSIGN_OR_RETURN(std::optional<std::vector<Validator>> next, NextValidators(ex));
    if (!SameKeys(header.next_validators(),
                  next.has_value() ? ToValidatorKeys(*next) : std::vector<tds::ValidatorKey>{})) {
      return absl::InvalidArgumentError(
          "the header's next validators are not those its transactions make");
    }
    TDS_RETURN_IF_ERROR(CheckStateRoot(header, ex, parent.get(), head.log_size));
    if (next.has_value()) {
      spec->ends_epoch = true;
      spec->next = std::move(*next);
    }
    Install(std::move(spec), std::move(d), id);
    return absl::OkStatus();
  }

  void Install(std::shared_ptr<Spec> spec, Derived d, const Hash& id) {
    spec->id = id;
    spec->empty = false;
    spec->frontier = std::move(d.frontier);
    spec->nodes = std::move(d.nodes);
    spec->head = d.next;
    spec->head.block_hash = id;
    for (const Pending& t : spec->ex.accepted) spec->txids.insert(t.txid);
    spec_[id] = std::move(spec);
  }

  void Forget(const Hash& id) override { spec_.erase(id); }

  std::vector<tds::BlockProposal> CommittedAfter(const Hash& id, size_t max) const override {
    auto seq = CommittedSeq(AsBytes(id));
    if (!seq.has_value()) return {};
    return ReadCommitted(std::max(*seq + 1, FirstSeqOf(validators_.load()->epoch())), UINT64_MAX,
                         max);
  }

  // Where committed consensus block `id` is in the committed chain ("C" index).
  // The genesis root is position 0 (never indexed: every chain starts there).
  std::optional<uint64_t> CommittedSeq(std::string_view id) const {
    if (id == AsBytes(genesis_.digest())) return 0;
    auto seq = store_->Get(CommittedIdKey(id));
    if (!seq.ok() || !seq->has_value() || (*seq)->size() != 8) return std::nullopt;
    return DecodeFixed64BE((*seq)->data());
  }

  // The first committed-chain position of epoch `epoch`'s own blocks (the blocks the ended
  // epoch committed after its last one come before it). Replica thread only.
  uint64_t FirstSeqOf(uint64_t epoch) const {
    return epoch == 0 || epoch > epochs_.size() ? 1 : epochs_[epoch - 1].last_seq() + 1;
  }

  // Block requests from a replica still in the ended epoch `epoch`: the blocks of that epoch
  // after the one it knows, to its end — and then the end's certified child with its QC
  // (tip_qc), which no later block of the epoch carries. Replica thread.
  std::optional<tds::BlockResponse> ServeEarlier(uint64_t epoch, const tds::BlockRequest& r) const {
    if (epoch >= epochs_.size()) return std::nullopt;
    const tds::EpochRecord& rec = epochs_[epoch];
    const size_t max = std::clamp<size_t>(r.max_blocks(), 1, kMaxServedBlocks);
    for (const std::string& known : r.known()) {
      auto seq = CommittedSeq(known);
      if (!seq.has_value() || *seq > rec.last_seq()) continue;
      const uint64_t from = std::max(*seq + 1, FirstSeqOf(epoch));
      std::vector<tds::BlockProposal> blocks = ReadCommitted(from, rec.last_seq(), max);
      tds::BlockResponse out;
      if (from + blocks.size() > rec.last_seq() && blocks.size() < max) {
        tds::CommitProof proof;
        if (!proof.ParseFromString(rec.change().commit_proof())) return std::nullopt;
        blocks.push_back(proof.child());
        *out.mutable_tip_qc() = proof.certified_child();
      }
      for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) *out.add_blocks() = std::move(*it);
      if (out.blocks_size() == 0) return std::nullopt;
      return out;
    }
    return std::nullopt;
  }

  // Committed consensus blocks at positions [from, to], at most `max`, with their entries.
  std::vector<tds::BlockProposal> ReadCommitted(uint64_t from, uint64_t to, size_t max) const {
    std::vector<tds::BlockProposal> out;
    for (uint64_t s = from; s <= to && out.size() < max; ++s) {
      auto raw = store_->Get(CommittedSeqKey(s));
      tds::BlockProposal p;
      if (!raw.ok() || !raw->has_value() || !p.ParseFromString(**raw)) break;
      if (!p.block().header().empty()) {
        tds::BlockHeader h;
        h.ParseFromString(p.block().header());
        for (uint64_t i = h.log_size() - h.tx_count(); i < h.log_size(); ++i) {
          auto entry = store_->Get(EntryKey(i));
          if (!entry.ok() || !entry->has_value()) return out;
          p.add_entries(std::move(**entry));
        }
      }
      out.push_back(std::move(p));
    }
    return out;
  }

  // Answers and removes a transaction that cannot commit.
  void Drop(const Hash& txid, const absl::Status& why) {
    Done done;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = mempool_.find(txid);
      if (it == mempool_.end()) return;
      done = std::move(it->second.done);
      mempool_.erase(it);
    }
    if (done) done(why);
  }

  // The committed chain, empty blocks included, for lagging validators (CommittedAfter):
  // adds `c` to `index` unless a restart re-committed it from the journal. Returns its position.
  uint64_t IndexCommitted(const consensus::CommitAction& c, leveldb::WriteBatch* index) {
    if (auto seq = CommittedSeq(AsBytes(c.id))) return *seq;
    tds::BlockProposal slim;  // the entries are in the log already
    *slim.mutable_block() = c.block.block();
    *slim.mutable_justify() = c.block.justify();
    if (c.block.has_tc()) *slim.mutable_tc() = c.block.tc();
    ++commit_seq_;
    std::string seq;
    PutFixed64BE(&seq, commit_seq_);
    index->Put(CommittedSeqKey(commit_seq_), slim.SerializeAsString());
    index->Put(CommittedIdKey(AsBytes(c.id)), seq);
    index->Put(MetaKey("cseq"), seq);
    return commit_seq_;
  }

  // A committed block becomes durable: the header as certified, the QC as its checkpoint.
  void Commit(const consensus::CommitAction& c) {
    if (closing_epoch_) {
      // The ended epoch's last blocks (empty, after its ending block): indexed for replicas
      // still in that epoch (ServeEarlier), nothing else.
      leveldb::WriteBatch index;
      IndexCommitted(c, &index);
      WriteIndex(&index);
      return;
    }
    auto it = spec_.find(c.id);
    if (it == spec_.end()) {
      spdlog::critical("consensus committed block {} that this node never executed",
                       HexEncode(c.id));
      std::abort();
    }
    std::shared_ptr<Spec> spec = it->second;
    spec_.erase(it);
    DropRejected(c.block);
    leveldb::WriteBatch index;
    const uint64_t seq = IndexCommitted(c, &index);
    if (spec->empty) WriteIndex(&index);
    std::optional<tds::EpochRecord> ended;
    if (!spec->empty) {
      tds::Block record;
      record.set_header(c.block.block().header());
      record.set_justify(c.block.justify().SerializeAsString());
      auto info = DescribeHeader(c.block.block());
      const consensus::ValidatorSet& set = *validators_.load();
      std::vector<std::string> lines;
      for (const tds::ValidatorSignature& v : c.qc.votes()) {
        lines.push_back(NoteLine(set.id(v.signer()), set.key(v.signer()), v.signature()));
      }
      record.set_checkpoint(AssembleNote(info->vote_body, lines));
      if (spec->ends_epoch) {
        // Stored with the block, in the same batch: a restart finds the next epoch.
        record.set_commit_proof(c.proof.SerializeAsString());
        ended.emplace();
        ended->mutable_change()->set_header(record.header());
        ended->mutable_change()->set_checkpoint(record.checkpoint());
        ended->mutable_change()->set_commit_proof(record.commit_proof());
        ended->set_last_seq(seq + static_cast<uint64_t>(c.proof.path_size()));
        index.Put(EpochKey(set.epoch()), ended->SerializeAsString());
      }
      const uint64_t first = spec->head.log_size - spec->ex.accepted.size();
      absl::Status s = Persist(spec->ex, first, spec->frontier, spec->nodes, spec->head, record,
                               std::move(index));
      if (!s.ok()) {
        spdlog::critical("{}; stopping (a restart catches up from the other validators)",
                         std::string(s.message()));
        std::abort();
      }
      Acknowledge(*spec);
    }
    committed_id_ = c.id;
    // Children now read the store, where this block's writes are.
    for (auto& [id, child] : spec_) {
      if (child->parent == spec) {
        child->parent = nullptr;
        child->ex.state.Rebase(&store_->state());
      }
    }
    if (ended.has_value()) BeginEpoch(std::move(*ended), spec->next, c);
  }

  // The transactions the block's leader could not apply leave this pool too.
  void DropRejected(const tds::BlockProposal& p) {
    for (const tds::RejectedTx& r : p.rejected()) {
      auto txid = HashFromBytes(r.txid(), "txid");
      if (!txid.ok()) continue;
      const auto code = static_cast<absl::StatusCode>(r.code());
      Drop(*txid, absl::Status(code == absl::StatusCode::kOk ? absl::StatusCode::kAborted : code,
                               r.reason()));
    }
  }

  // Not synced: a lost empty block is re-committed from the journal after a restart.
  void WriteIndex(leveldb::WriteBatch* index) {
    if (index->ApproximateSize() <= 12) return;
    absl::Status s = store_->Write(index, false);
    if (!s.ok()) spdlog::warn("consensus index not written: {}", std::string(s.message()));
  }

  // Block `c` ended the epoch: once this event's commits are done the replica starts the next
  // epoch at it (EpochStarted).
  void BeginEpoch(tds::EpochRecord ended, const std::vector<Validator>& next,
                  const consensus::CommitAction& c) {
    const consensus::ValidatorSet& old = *validators_.load();
    sets_.push_back(NewEpochSet(next, old.epoch() + 1, c.block.block().header()));
    epochs_.push_back(std::move(ended));
    const consensus::ValidatorSet* set = sets_.back().get();
    validators_.store(set);
    closing_epoch_ = true;
    std::vector<std::string> ids;
    for (const Validator& v : next) ids.push_back(v.id);
    spdlog::info("ledger: epoch {} ended at block {}; epoch {} validators: {}", old.epoch(),
                 SnapshotHead().height, set->epoch(), absl::StrJoin(ids, ", "));
    consensus::Root root;
    root.block = c.block;
    root.qc = c.qc;
    replica_->BeginEpoch(set, SelfIndex(*set), std::move(root));
  }

  // The new epoch's core is about to start at the block that ended the last one: what the
  // ended epoch executed after it is gone.
  void EpochStarted() {
    closing_epoch_ = false;
    committed_id_ = validators_.load()->start().root;
    spec_.clear();
  }

  void Acknowledge(const Spec& spec) {
    std::vector<std::pair<Done, SubmitAck>> acks;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (size_t i = 0; i < spec.ex.accepted.size(); ++i) {
        auto it = mempool_.find(spec.ex.accepted[i].txid);
        if (it == mempool_.end()) continue;
        if (it->second.done) {
          SubmitAck ack;
          ack.txid = it->first;
          ack.index = spec.head.log_size - spec.ex.accepted.size() + i;
          ack.height = spec.head.height;
          ack.result = spec.ex.results[i];
          acks.emplace_back(std::move(it->second.done), std::move(ack));
        }
        mempool_.erase(it);
      }
    }
    for (auto& [done, ack] : acks) done(std::move(ack));
  }

  // Follower path: re-executes a block the validators committed and stores it only if every
  // transaction applies and the log root, state digest, chain link and quorum checkpoint all
  // match what the header claims. Callers apply blocks in height order from one thread.
  absl::Status ApplyBlock(const tds::Block& block) {
    const Head head = SnapshotHead();
    tds::BlockHeader header;
    if (!header.ParseFromString(block.header())) {
      return absl::InvalidArgumentError("block: header does not parse");
    }
    const std::string where = absl::StrCat("block ", header.height(), ": ");
    if (header.height() != head.height + 1) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, "expected height ", head.height + 1));
    }
    if (header.prev_block_hash() != AsBytes(head.block_hash)) {
      return absl::DataLossError(absl::StrCat(where, "does not extend block ", head.height,
                                              " (previous hash mismatch): a forked history"));
    }
    if (static_cast<size_t>(block.entries_size()) != header.tx_count() || header.tx_count() == 0 ||
        header.log_size() != head.log_size + header.tx_count()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "entry count does not match the header"));
    }
    const consensus::ValidatorSet& set = *validators_.load();
    if (header.epoch() != set.epoch()) {
      return absl::DataLossError(absl::StrCat(where, "is of validator epoch ", header.epoch(),
                                              " but this node is in epoch ", set.epoch()));
    }
    const std::vector<Validator> validators = ValidatorsOf(set);
    auto cp = VerifyCheckpointBy(block.checkpoint(), genesis_.origin(), validators);
    if (!cp.ok())
      return absl::Status(cp.status().code(), where + std::string(cp.status().message()));
    if (absl::Status s = CheckpointMatchesHeader(*cp, header, block.header()); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "checkpoint does not match the header: ", std::string(s.message())));
    }
    if (header.timestamp_ms() < head.block_time_ms) {
      return absl::InvalidArgumentError(absl::StrCat(where, "block time goes back"));
    }
    PreverifyUnpooled(block.entries());
    std::vector<Pending> txs;
    txs.reserve(block.entries_size());
    for (int i = 0; i < block.entries_size(); ++i) {
      auto p = DecodeEntry(block.entries(i));
      if (!p.ok()) {
        return absl::DataLossError(
            absl::StrCat(where, "entry ", i, ": ", std::string(p.status().message())));
      }
      txs.push_back(std::move(*p));
    }
    Execution ex(&store_->state());
    ex.ctx.height = header.height();
    ex.ctx.timestamp_ms = header.timestamp_ms();
    ex.ctx.proposer = header.proposer();
    Execute(head, std::move(txs), nullptr, &ex);
    if (!ex.rejected.empty()) {
      const auto& [p, status] = ex.rejected.front();
      return absl::DataLossError(absl::StrCat(
          where, "transaction ", TxIdHex(p.txid), " is rejected on replay (",
          std::string(status.message()), "): this node's state diverges from the validators'"));
    }
    Derived d = Derive(head, frontier_, ex);
    if (header.log_root() != AsBytes(d.next.log_root) ||
        header.state_digest() != AsBytes(d.next.state_digest)) {
      return absl::DataLossError(
          absl::StrCat(where, "replay gives ",
                       header.log_root() != AsBytes(d.next.log_root) ? "a different log root"
                                                                     : "a different state digest",
                       " than the header claims: this node's state diverges from the validators'"));
    }
    if (absl::Status s = CheckStateRoot(header, ex, nullptr, head.log_size); !s.ok()) {
      return absl::DataLossError(where + std::string(s.message()));
    }
    auto next = NextValidators(ex);
    if (!next.ok()) return absl::DataLossError(where + std::string(next.status().message()));
    if (!SameKeys(header.next_validators(),
                  next->has_value() ? ToValidatorKeys(**next) : std::vector<tds::ValidatorKey>{})) {
      return absl::DataLossError(
          absl::StrCat(where, "the header's next validators are not those its transactions make"));
    }
    leveldb::WriteBatch wb;
    std::optional<tds::EpochRecord> ended;
    if (next->has_value()) {
      ended.emplace();
      ended->mutable_change()->set_header(block.header());
      ended->mutable_change()->set_checkpoint(block.checkpoint());
      ended->mutable_change()->set_commit_proof(block.commit_proof());
      auto checked = VerifyEpochChange(ended->change(), genesis_.origin(), set.epoch(), validators);
      if (!checked.ok())
        return absl::DataLossError(where + std::string(checked.status().message()));
      wb.Put(EpochKey(set.epoch()), ended->SerializeAsString());
    }
    d.next.block_hash = Sha256(block.header());
    TDS_RETURN_IF_ERROR(
        Persist(ex, head.log_size, d.frontier, d.nodes, d.next, block, std::move(wb)));
    if (ended.has_value()) {
      sets_.push_back(NewEpochSet(**next, set.epoch() + 1, block.header()));
      epochs_.push_back(std::move(*ended));
      validators_.store(sets_.back().get());
      spdlog::info("ledger: epoch {} ended at block {}; following epoch {}", set.epoch(),
                   header.height(), set.epoch() + 1);
    }
    return absl::OkStatus();
  }

  // Envelope → Pending for replay. A transaction this node admitted (same bytes) was verified
  // then; otherwise the signer is resolved from the member cache, or verified in full when this
  // block itself admitted the member (ApplyOne then checks membership).
  absl::StatusOr<Pending> DecodeEntry(const std::string& entry) const {
    {
      tds::Envelope env;
      if (env.ParseFromString(entry)) {
        const Hash txid = Sha256(env.payload());
        std::lock_guard<std::mutex> l(mu_);
        auto it = mempool_.find(txid);
        if (it != mempool_.end() && it->second.entry == entry) {
          return it->second.ForBlock();
        }
      }
    }
    absl::StatusOr<OpenedEnvelope> opened = [&] {
      std::shared_lock<std::shared_mutex> members(members_mu_);
      return OpenEnvelopeFrom(entry, kTxContext, [this](std::string_view raw) {
        auto it = member_by_key_.find(raw);
        return it == member_by_key_.end() ? nullptr : &it->second;
      });
    }();
    if (!opened.ok() && opened.status().code() == absl::StatusCode::kPermissionDenied) {
      opened = OpenEnvelope(entry, kTxContext);
    }
    if (!opened.ok()) return opened.status();
    Pending p;
    if (!p.tx.ParseFromString(opened->payload)) {
      return absl::InvalidArgumentError("transaction: payload is not a tds.Transaction");
    }
    p.txid = Sha256(opened->payload);
    p.signer = std::string(opened->signer.bytes());
    p.entry = entry;
    return p;
  }

  absl::StatusOr<std::string> ApplyOne(const BlockContext& ctx, uint64_t index, const Pending& p,
                                       const Spec* chain, StateOverlay* block_state,
                                       std::set<Hash>* in_block) {
    // Admission checked the store, but a duplicate may have been admitted concurrently with the
    // commit of its twin, or sit in an uncommitted ancestor: execution is where it is decided.
    TDS_ASSIGN_OR_RETURN(auto loc, store_->FindTx(AsBytes(p.txid)));
    if (loc.has_value() || InChain(chain, p.txid) || !in_block->insert(p.txid).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("transaction ", TxIdHex(p.txid), " is already in the log"));
    }
    auto member = ReadMember(*block_state, p.tx.submitter());
    if (!member.ok()) {
      in_block->erase(p.txid);
      return member.status();
    }
    auto stored_key = member->has_value() ? HexDecode((*member)->public_key())
                                          : absl::StatusOr<std::string>(std::string());
    if (!member->has_value() || !stored_key.ok() || *stored_key != p.signer) {
      in_block->erase(p.txid);
      return absl::PermissionDeniedError(
          absl::StrCat("membership: '", p.tx.submitter(), "' is no longer a member with this key"));
    }
    const TxHandler* handler = app_->Find(p.tx.type());
    if (handler == nullptr) {
      in_block->erase(p.txid);
      return absl::InvalidArgumentError(
          absl::StrCat("transaction: type '", p.tx.type(), "' is not registered on this ledger"));
    }
    TxContext tctx;
    tctx.block = &ctx;
    tctx.txid = p.txid;
    tctx.submitter = p.tx.submitter();
    tctx.index = index;
    StateOverlay tx_state(block_state);
    auto result = handler->Apply(tctx, p.tx.body(), tx_state);
    if (!result.ok()) {
      in_block->erase(p.txid);
      return result.status();
    }
    tx_state.MergeInto(block_state);
    return result;
  }

  // Writes an executed block durably (entries, results, index, Merkle nodes, state, the block
  // record as given), then publishes it: head, member cache, observers, waiters.
  absl::Status Persist(const Execution& ex, uint64_t first_index, const merkle::Frontier& frontier,
                       const std::vector<merkle::StoredNode>& nodes, Head next,
                       const tds::Block& given, leveldb::WriteBatch wb = {}) {
    std::lock_guard<std::mutex> commit(commit_mu_);
    for (size_t i = 0; i < ex.accepted.size(); ++i) {
      const uint64_t index = first_index + i;
      const Pending& p = ex.accepted[i];
      wb.Put(EntryKey(index), p.entry);
      if (!ex.results[i].empty()) wb.Put(ResultKey(index), ex.results[i]);
      wb.Put(TxKey(AsBytes(p.txid)), EncodeTxLocation({index, ex.ctx.height}));
    }
    for (const merkle::StoredNode& n : nodes) {
      wb.Put(NodeKey(n.level, n.index), std::string(AsBytes(n.hash)));
    }
    for (const auto& [k, v] : ex.state.writes()) {
      if (v.has_value()) {
        wb.Put(StateKey(k), *v);
      } else {
        wb.Delete(StateKey(k));
      }
    }
    tds::Block record;
    record.set_header(given.header());
    record.set_checkpoint(given.checkpoint());
    record.set_justify(given.justify());
    record.set_commit_proof(given.commit_proof());
    wb.Put(BlockKey(ex.ctx.height), record.SerializeAsString());
    std::string h;
    PutFixed64BE(&h, ex.ctx.height);
    wb.Put(MetaKey("height"), h);
    absl::Status s = store_->Write(&wb, options_.sync);
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "block ", ex.ctx.height, " could not be made durable: ", std::string(s.message())));
    }
    frontier_ = frontier;
    if (IsSnapshotHeight(ex.ctx.height, genesis_.snapshot_interval())) {
      // The state right after this block, to serve to replicas syncing from it.
      auto frozen = store_->Freeze();
      std::lock_guard<std::mutex> l(served_mu_);
      served_ = Served{ex.ctx.height, std::move(frozen)};
    }
    UpdateMemberCache(ex.state.writes());
    for (const CommitObserver& o : observers_)
      o(ex.ctx.height, ex.ctx.timestamp_ms, ex.state.writes());
    next.checkpoint = record.checkpoint();
    {
      std::lock_guard<std::mutex> l(mu_);
      head_ = next;
    }
    height_cv_.notify_all();
    return absl::OkStatus();
  }

  void SeedGenesisMembers(StateOverlay* state) const {
    for (const tds::Member& m : genesis_.proto().members()) {
      state->Put(MemberStateKey(m.id()), m.SerializeAsString());
    }
  }

  // Before block 1 the members are genesis's; afterwards those recorded in state.
  absl::Status LoadMemberCache() {
    std::unique_lock<std::shared_mutex> l(members_mu_);
    member_by_id_.clear();
    member_by_key_.clear();
    if (head_.height == 0) {
      for (const tds::Member& m : genesis_.proto().members()) CacheMember(m);
      return absl::OkStatus();
    }
    absl::Status inner;
    absl::Status s = store_->state().Scan(
        kMemberPrefix, "", SIZE_MAX, [&](std::string_view, std::string_view v) {
          tds::Member m;
          if (!m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
            inner = absl::DataLossError("state: a member record is corrupt");
            return false;
          }
          CacheMember(m);
          return true;
        });
    return s.ok() ? inner : s;
  }

  // REQUIRES: members_mu_ held exclusively.
  void CacheMember(const tds::Member& m) {
    auto key = MemberKey(m);
    if (!key.ok()) return;  // validated when admitted; a bad record admits nobody
    member_by_id_[m.id()] = std::string(key->bytes());
    member_by_key_.insert_or_assign(std::string(key->bytes()), *key);
  }

  void UpdateMemberCache(const Ledger::StateWrites& writes) {
    auto first = writes.lower_bound(kMemberPrefix);
    if (first == writes.end() || !StartsWith(first->first, kMemberPrefix)) return;
    std::unique_lock<std::shared_mutex> l(members_mu_);
    for (auto it = first; it != writes.end() && StartsWith(it->first, kMemberPrefix); ++it) {
      const std::string id = it->first.substr(kMemberPrefix.size());
      auto old = member_by_id_.find(id);
      if (old != member_by_id_.end()) {
        member_by_key_.erase(old->second);
        member_by_id_.erase(old);
      }
      tds::Member m;
      if (it->second.has_value() && m.ParseFromString(*it->second)) CacheMember(m);
    }
  }

  void Observe(const std::function<void(const StateReader&)>& init, CommitObserver on_commit) {
    std::lock_guard<std::mutex> commit(commit_mu_);
    init(store_->state());
    observers_.push_back(std::move(on_commit));
  }

  absl::StatusOr<tds::Block> ReadBlockRecord(uint64_t height) const {
    TDS_ASSIGN_OR_RETURN(auto raw, store_->Get(BlockKey(height)));
    if (!raw.has_value())
      return absl::NotFoundError(absl::StrCat("block ", height, " does not exist"));
    tds::Block block;
    if (!block.ParseFromString(*raw)) {
      return absl::DataLossError(absl::StrCat("storage: block ", height, " record is corrupt"));
    }
    return block;
  }

  absl::StatusOr<tds::Block> GetBlock(uint64_t height) const {
    if (height == 0) return absl::InvalidArgumentError("block heights start at 1");
    TDS_ASSIGN_OR_RETURN(tds::Block block, ReadBlockRecord(height));
    tds::BlockHeader header;
    if (!header.ParseFromString(block.header())) {
      return absl::DataLossError(absl::StrCat("storage: block ", height, " header is corrupt"));
    }
    const uint64_t first = header.log_size() - header.tx_count();
    for (uint64_t i = first; i < header.log_size(); ++i) {
      TDS_ASSIGN_OR_RETURN(auto entry, store_->Get(EntryKey(i)));
      if (!entry.has_value())
        return absl::DataLossError(absl::StrCat("storage: entry ", i, " missing"));
      block.add_entries(std::move(*entry));
      TDS_ASSIGN_OR_RETURN(auto result, store_->Get(ResultKey(i)));
      block.add_results(result.value_or(""));
    }
    return block;
  }

  absl::StatusOr<TxRecord> GetTransaction(const Hash& txid) const {
    TDS_ASSIGN_OR_RETURN(auto loc, store_->FindTx(AsBytes(txid)));
    if (!loc.has_value()) {
      return absl::NotFoundError(absl::StrCat("transaction ", TxIdHex(txid), " is not in the log"));
    }
    TxRecord rec;
    rec.index = loc->index;
    rec.height = loc->height;
    TDS_ASSIGN_OR_RETURN(auto entry, store_->Get(EntryKey(loc->index)));
    if (!entry.has_value()) return absl::DataLossError("storage: indexed entry missing");
    rec.entry = std::move(*entry);
    TDS_ASSIGN_OR_RETURN(auto result, store_->Get(ResultKey(loc->index)));
    rec.result = result.value_or("");
    return rec;
  }

  // The receipt proves inclusion under the checkpoint of the block that committed the
  // transaction, so the block height it names is covered by the validators' signatures.
  absl::StatusOr<tds::Receipt> GetReceipt(const Hash& txid) const {
    TDS_ASSIGN_OR_RETURN(TxRecord rec, GetTransaction(txid));
    TDS_ASSIGN_OR_RETURN(tds::Block block, ReadBlockRecord(rec.height));
    tds::BlockHeader header;
    if (!header.ParseFromString(block.header()) || rec.index >= header.log_size()) {
      return absl::DataLossError(absl::StrCat("storage: block ", rec.height, " is corrupt"));
    }
    TDS_ASSIGN_OR_RETURN(std::vector<Hash> proof,
                         merkle::InclusionProof(store_->nodes(), rec.index, header.log_size()));
    tds::Receipt r;
    r.set_entry(std::move(rec.entry));
    r.set_index(rec.index);
    r.set_tree_size(header.log_size());
    for (const Hash& h : proof) r.add_inclusion_proof(std::string(AsBytes(h)));
    r.set_checkpoint(block.checkpoint());
    r.set_height(rec.height);
    // The epochs that ended before this block (read from the store: any thread may ask).
    for (uint64_t e = 0; e < header.epoch(); ++e) {
      TDS_ASSIGN_OR_RETURN(auto raw, store_->Get(EpochKey(e)));
      tds::EpochRecord ended;
      if (!raw.has_value() || !ended.ParseFromString(*raw)) {
        return absl::DataLossError(absl::StrCat("storage: epoch ", e, " record is missing"));
      }
      *r.add_epoch_changes() = ended.change();
    }
    return r;
  }

  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2) const {
    const uint64_t size = SnapshotHead().log_size;
    if (size2 > size) {
      return absl::OutOfRangeError(
          absl::StrCat("consistency proof: size2 ", size2, " exceeds the log size ", size));
    }
    return merkle::ConsistencyProof(store_->nodes(), size1, size2);
  }

  Head SnapshotHead() const {
    std::lock_guard<std::mutex> l(mu_);
    return head_;
  }

  ConsensusStatus ConsensusStatusNow() const {
    ConsensusStatus out;
    if (replica_ == nullptr) return out;
    const consensus::CoreStatus s = replica_->status();
    const consensus::ValidatorSet& set = *validators_.load();
    out.epoch = set.epoch();
    out.validators = set.size();
    out.voting = set.IndexOf(node_id_) >= 0;
    out.view = s.view;
    out.round = s.round;
    out.leader = set.id(set.LeaderOf(s.view));
    out.committed_round = s.committed_round;
    out.timeouts = s.timeouts;
    out.refused = s.refused;
    out.last_refusal = std::string(replica_->last_refusal().message());
    return out;
  }

  LedgerStatus Status() const {
    std::lock_guard<std::mutex> l(mu_);
    LedgerStatus s;
    s.height = head_.height;
    s.log_size = head_.log_size;
    s.log_root = head_.log_root;
    s.state_digest = head_.state_digest;
    s.last_block_hash = head_.block_hash;
    s.last_block_time_ms = head_.block_time_ms;
    s.pending = mempool_.size();
    return s;
  }

  uint64_t WaitForHeight(uint64_t h, int64_t timeout_ms) const {
    std::unique_lock<std::mutex> l(mu_);
    height_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                        [&] { return stopping_ || head_.height >= h; });
    return head_.height;
  }

  // ---- state sync (ledger/snapshot.h) ---------------------------------------------------

  // A peer asks for the latest snapshot (height 0) or a chunk of it (gRPC thread).
  void ServeSnapshot(const std::string& from, const tds::SnapshotRequest& r) const {
    if (!options_.send) return;
    Served served;
    {
      std::lock_guard<std::mutex> l(served_mu_);
      served = served_;
    }
    tds::ConsensusMessage m;
    if (r.height() == 0) {
      tds::SnapshotOffer* offer = m.mutable_snapshot_offer();
      if (served.store != nullptr && !BuildOffer(served.height, offer).ok()) offer->Clear();
    } else {
      if (served.store == nullptr || served.height != r.height()) return;  // superseded
      tds::SnapshotChunk* c = m.mutable_snapshot_chunk();
      c->set_height(served.height);
      size_t bytes = 0;
      bool more = false;
      absl::Status s =
          store_->ScanRaw(served.store.get(), kSnapshotBegin, kSnapshotEnd, r.after_key(),
                          kSnapshotChunkEntries + 1, [&](std::string_view k, std::string_view v) {
                            if (static_cast<size_t>(c->keys_size()) >= kSnapshotChunkEntries ||
                                bytes >= kSnapshotChunkBytes) {
                              more = true;
                              return false;
                            }
                            c->add_keys(std::string(k));
                            c->add_values(std::string(v));
                            bytes += k.size() + v.size();
                            return true;
                          });
      if (!s.ok()) return;
      c->set_last(!more);
    }
    options_.send(from, m);
  }

  absl::Status BuildOffer(uint64_t height, tds::SnapshotOffer* offer) const {
    TDS_ASSIGN_OR_RETURN(tds::Block block, GetBlock(height));  // entries: the root serves them
    tds::BlockHeader header;
    if (!header.ParseFromString(block.header())) return absl::DataLossError("corrupt header");
    for (uint64_t e = 0; e < header.epoch(); ++e) {
      TDS_ASSIGN_OR_RETURN(auto raw, store_->Get(EpochKey(e)));
      tds::EpochRecord ended;
      if (!raw.has_value() || !ended.ParseFromString(*raw)) {
        return absl::DataLossError(absl::StrCat("epoch ", e, " record is missing"));
      }
      *offer->add_epoch_changes() = ended.change();
    }
    for (const merkle::StoredNode& n : FrontierPositions(header.log_size())) {
      TDS_ASSIGN_OR_RETURN(Hash h, store_->nodes().Get(n.level, n.index));
      offer->add_frontier(std::string(AsBytes(h)));
    }
    *offer->mutable_block() = std::move(block);
    return absl::OkStatus();
  }

  // Offers and chunks for the sync thread (gRPC threads).
  void SyncReceive(const std::string& from, tds::ConsensusMessage msg) {
    std::lock_guard<std::mutex> l(sync_.mu);
    if (msg.has_snapshot_offer()) {
      if (!msg.snapshot_offer().has_block()) {
        sync_.none.insert(from);
      } else if (auto v = VerifySnapshotOffer(genesis_, msg.snapshot_offer()); !v.ok()) {
        spdlog::warn("state sync: offer from {} refused: {}", from,
                     std::string(v.status().message()));
      } else if (!sync_.best.has_value() ||
                 v->header.height() > sync_.best->verified.header.height()) {
        sync_.best = SyncOffer{from, std::move(*msg.mutable_snapshot_offer()), std::move(*v)};
      }
    } else if (sync_.best.has_value() && from == sync_.best->peer) {
      sync_.chunk = std::move(*msg.mutable_snapshot_chunk());
    }
    sync_.cv.notify_all();
  }

  // Sync thread: installs the latest snapshot a peer offers (or none), then starts the replica.
  void SyncThenStart() {
    absl::Status s = SyncFromSnapshot();
    if (!s.ok()) {
      spdlog::warn("state sync: {}; replaying the chain from genesis instead",
                   std::string(s.message()));
    }
    syncing_ = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
    }
    if (absl::Status started = StartReplica(); !started.ok()) {
      spdlog::critical("consensus cannot start: {}", std::string(started.message()));
      std::abort();
    }
  }

  bool Stopping() const {
    std::lock_guard<std::mutex> l(mu_);
    return stopping_;
  }

  absl::Status SyncFromSnapshot() {
    // 1. Offers: ask everyone until one comes, or every other genesis validator says it has
    // none (a data space starting up), or the wait ends.
    const auto deadline = std::chrono::steady_clock::now() + kSnapshotWait;
    const size_t others = genesis_.validators().size() - (SelfIndex(*sets_[0]) < sets_[0]->size());
    std::optional<SyncOffer> chosen;
    for (;;) {
      tds::ConsensusMessage ask;
      ask.mutable_snapshot_request();
      options_.send("", ask);
      std::unique_lock<std::mutex> l(sync_.mu);
      sync_.cv.wait_for(l, kSnapshotAskEvery);
      if (Stopping()) return absl::CancelledError("closing");
      if (sync_.best.has_value()) {
        // Give the others a moment to offer a later one.
        sync_.cv.wait_for(l, kSnapshotAskEvery);
        chosen = sync_.best;
        break;
      }
      if (sync_.none.size() >= others) return absl::NotFoundError("no peer has a snapshot yet");
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::DeadlineExceededError("no snapshot offered in time");
      }
    }
    const VerifiedOffer& offer = chosen->verified;
    const uint64_t height = offer.header.height();
    spdlog::info("state sync: snapshot at block {} from {}", height, chosen->peer);
    // 2. The state, chunk by chunk, hashed as it comes.
    leveldb::WriteBatch wb;
    StateRootHasher hasher;
    std::string after;
    std::map<std::string, std::string> block_txs;  // index entries of the snapshot block's txs
    for (bool last = false; !last;) {
      std::optional<tds::SnapshotChunk> chunk;
      for (int attempt = 0; attempt < kSnapshotChunkAttempts && !chunk.has_value(); ++attempt) {
        tds::ConsensusMessage ask;
        ask.mutable_snapshot_request()->set_height(height);
        ask.mutable_snapshot_request()->set_after_key(after);
        options_.send(chosen->peer, ask);
        std::unique_lock<std::mutex> l(sync_.mu);
        sync_.cv.wait_for(l, kSnapshotChunkWait, [&] { return sync_.chunk.has_value(); });
        if (Stopping()) return absl::CancelledError("closing");
        chunk = std::move(sync_.chunk);
        sync_.chunk.reset();
      }
      if (!chunk.has_value()) {
        return absl::UnavailableError(absl::StrCat(chosen->peer, " stopped sending the snapshot"));
      }
      if (chunk->height() != height || chunk->keys_size() != chunk->values_size()) {
        return absl::DataLossError(absl::StrCat("malformed snapshot chunk from ", chosen->peer));
      }
      for (int i = 0; i < chunk->keys_size(); ++i) {
        const std::string& k = chunk->keys(i);
        if (k < kSnapshotBegin || k >= kSnapshotEnd) {
          return absl::DataLossError(absl::StrCat("snapshot chunk from ", chosen->peer,
                                                  ": a key outside the snapshot's range"));
        }
        if (absl::Status s = hasher.Add(k, chunk->values(i));
            !s.ok() || (i == 0 && !after.empty() && k <= after)) {
          return absl::DataLossError(
              absl::StrCat("snapshot chunk from ", chosen->peer, ": entries out of key order"));
        }
        wb.Put(k, chunk->values(i));
        if (k[0] == 'T' && chunk->values(i).size() == 16 &&
            DecodeFixed64BE(chunk->values(i).data() + 8) == height) {
          block_txs.emplace(k, chunk->values(i));
        }
      }
      if (chunk->keys_size() > 0) after = chunk->keys(chunk->keys_size() - 1);
      last = chunk->last();
      if (chunk->keys_size() == 0 && !last) {
        return absl::DataLossError(absl::StrCat("empty snapshot chunk from ", chosen->peer));
      }
    }
    if (hasher.Finish() != offer.state_root) {
      return absl::DataLossError(
          absl::StrCat("the state ", chosen->peer, " sent does not have the block's state root"));
    }
    // 3. Everything else the store needs to go on from that block, in the same batch.
    for (const merkle::StoredNode& n : offer.frontier) {
      wb.Put(NodeKey(n.level, n.index), std::string(AsBytes(n.hash)));
    }
    tds::Block record = chosen->offer.block();
    if (static_cast<uint64_t>(record.entries_size()) != offer.header.tx_count()) {
      return absl::DataLossError(
          absl::StrCat("the snapshot block from ", chosen->peer, " lacks its entries"));
    }
    // The block's own entries (it becomes the consensus root, served to lagging peers): each
    // where the verified transaction index puts its id.
    const uint64_t first = offer.header.log_size() - offer.header.tx_count();
    for (int i = 0; i < record.entries_size(); ++i) {
      const uint64_t index = first + static_cast<uint64_t>(i);
      auto txid = TxIdOfEntry(record.entries(i));
      auto at = txid.ok() ? block_txs.find(TxKey(AsBytes(*txid))) : block_txs.end();
      if (at == block_txs.end() || at->second != EncodeTxLocation({index, height})) {
        return absl::DataLossError(absl::StrCat("the snapshot block from ", chosen->peer,
                                                " has an entry its state does not list"));
      }
      wb.Put(EntryKey(index), record.entries(i));
    }
    record.clear_entries();
    record.clear_results();
    wb.Put(BlockKey(height), record.SerializeAsString());
    std::string h;
    PutFixed64BE(&h, height);
    wb.Put(MetaKey("height"), h);
    for (int e = 0; e < chosen->offer.epoch_changes_size(); ++e) {
      tds::EpochRecord ended;
      *ended.mutable_change() = chosen->offer.epoch_changes(e);
      wb.Put(EpochKey(static_cast<uint64_t>(e)), ended.SerializeAsString());
    }
    tds::BlockProposal slim;
    slim.mutable_block()->set_round(offer.header.round());
    slim.mutable_block()->set_parent(offer.header.parent_id());
    slim.mutable_block()->set_header(record.header());
    slim.mutable_justify()->ParseFromString(record.justify());
    std::string one;
    PutFixed64BE(&one, 1);
    wb.Put(CommittedSeqKey(1), slim.SerializeAsString());
    wb.Put(CommittedIdKey(AsBytes(offer.block_hash)), one);
    wb.Put(MetaKey("cseq"), one);
    TDS_RETURN_IF_ERROR(store_->Write(&wb, true));
    TDS_RETURN_IF_ERROR(RecoverAll());
    spdlog::info("state sync: installed block {} ({} state entries); following from there", height,
                 hasher.entries());
    return absl::OkStatus();
  }

  const GenesisInfo& genesis() const { return genesis_; }
  const std::string& node_id() const { return node_id_; }
  const Store& store() const { return *store_; }

 private:
  LedgerOptions options_;
  const GenesisInfo genesis_;
  const std::unique_ptr<SigningKey> key_;
  const std::string node_id_;
  const Application* const app_;
  const std::unique_ptr<Store> store_;

  mutable std::mutex mu_;
  mutable std::condition_variable height_cv_;
  // Admitted transactions not yet committed, in arrival order; `done` set for those
  // submitted here, answered when their block commits.
  std::map<Hash, Pending> mempool_;      // GUARDED_BY(mu_)
  std::deque<Hash> fifo_;                // GUARDED_BY(mu_): may hold ids no longer pooled
  std::vector<std::string> to_forward_;  // GUARDED_BY(mu_): submitted here, not yet passed on
  std::chrono::steady_clock::time_point last_reforward_{};  // GUARDED_BY(mu_)
  bool stopping_ = false;                                   // GUARDED_BY(mu_)
  Head head_;                  // GUARDED_BY(mu_): the last durable block
  merkle::Frontier frontier_;  // committer thread only (and Recover before it starts)

  // Current members for admission: id → raw key bytes, and raw key → validated key.
  mutable std::shared_mutex members_mu_;
  std::map<std::string, std::string, std::less<>> member_by_id_;  // GUARDED_BY(members_mu_)
  std::map<std::string, PublicKey, std::less<>> member_by_key_;   // GUARDED_BY(members_mu_)

  // Held while a block is written and observed, and while an observer registers.
  std::mutex commit_mu_;
  std::vector<CommitObserver> observers_;  // GUARDED_BY(commit_mu_)

  // Consensus (validators). The replica thread is the only one executing blocks.
  // Every epoch's validators, by epoch; only grows. validators_ is the current epoch's.
  std::vector<std::unique_ptr<consensus::ValidatorSet>> sets_;  // replica / follower thread
  std::atomic<const consensus::ValidatorSet*> validators_{nullptr};
  std::vector<tds::EpochRecord> epochs_;  // replica / follower thread: how each epoch ended
  bool closing_epoch_ = false;            // replica thread: the epoch ended, the next not yet begun
  Hash committed_id_{};      // consensus id of the last committed block (an empty one included)
  uint64_t commit_seq_ = 0;  // committed consensus blocks so far (the "C" index)
  std::map<Hash, std::shared_ptr<Spec>> spec_;  // replica thread only: executed, uncommitted
  std::unique_ptr<consensus::Replica> replica_;

  // State sync: the snapshot this node serves, and the one it may start from.
  struct Served {
    uint64_t height = 0;
    std::shared_ptr<const leveldb::Snapshot> store;  // frozen right after block `height`
  };
  mutable std::mutex served_mu_;
  Served served_;  // GUARDED_BY(served_mu_)
  struct SyncOffer {
    std::string peer;
    tds::SnapshotOffer offer;
    VerifiedOffer verified;
  };
  struct Sync {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<SyncOffer> best;            // GUARDED_BY(mu): the latest verified offer
    std::set<std::string> none;               // GUARDED_BY(mu): peers without a snapshot
    std::optional<tds::SnapshotChunk> chunk;  // GUARDED_BY(mu): from best's peer
  };
  Sync sync_;
  std::atomic<bool> syncing_{false};
  std::thread sync_thread_;

  // Submissions wait here for admission in batches (signatures verified together).
  std::unique_ptr<BatchWorker<Submission>> admitter_;
};

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options,
                                                     GenesisInfo genesis,
                                                     std::unique_ptr<SigningKey> validator_key,
                                                     const Application* app) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("ledger: data directory not set");
  if (app == nullptr || (validator_key == nullptr && !options.follower)) {
    return absl::InvalidArgumentError("ledger: validator key and application are required");
  }
  const tds::Member* me =
      validator_key == nullptr ? nullptr : genesis.FindByKey(validator_key->public_key());
  if (!options.follower && me == nullptr && options.member_id.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node key ", validator_key->public_key().hex(), " is not the key of a validator in the ",
        "genesis of ", genesis.origin(), " (a member admitted later sets its member id)"));
  }
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create data directory ", options.data_dir, ": ", ec.message()));
  }
  TDS_ASSIGN_OR_RETURN(auto store, Store::Open(options.data_dir));
  std::string node_id = me != nullptr ? me->id() : options.member_id;
  auto impl = std::make_unique<Impl>(options, std::move(genesis), std::move(validator_key),
                                     std::move(node_id), app, std::move(store));
  TDS_RETURN_IF_ERROR(impl->RecoverAll());
  const LedgerStatus st = impl->Status();
  spdlog::info("ledger open: origin '{}', node '{}' ({}), height {}, log size {}",
               impl->genesis().origin(), impl->node_id(),
               options.follower ? "follower" : "validator", st.height, st.log_size);
  if (!options.follower) TDS_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

void Ledger::Submit(std::string envelope_bytes, Done done) {
  impl_->Submit(std::move(envelope_bytes), std::move(done));
}

absl::Status Ledger::ApplyBlock(const tds::Block& block) { return impl_->ApplyBlock(block); }

void Ledger::AbortWaiting(const absl::Status& why) { impl_->AbortWaiting(why); }

void Ledger::DeliverConsensus(const std::string& from, tds::ConsensusMessage msg) {
  impl_->DeliverConsensus(from, std::move(msg));
}
ConsensusStatus Ledger::consensus_status() const { return impl_->ConsensusStatusNow(); }

absl::StatusOr<SubmitAck> Ledger::SubmitAndWait(std::string envelope_bytes) {
  std::promise<absl::StatusOr<SubmitAck>> promise;
  auto future = promise.get_future();
  impl_->Submit(std::move(envelope_bytes),
                [&promise](absl::StatusOr<SubmitAck> r) { promise.set_value(std::move(r)); });
  return future.get();
}

absl::StatusOr<TxRecord> Ledger::GetTransaction(const Hash& txid) const {
  return impl_->GetTransaction(txid);
}
absl::StatusOr<tds::Receipt> Ledger::GetReceipt(const Hash& txid) const {
  return impl_->GetReceipt(txid);
}
absl::StatusOr<tds::Block> Ledger::GetBlock(uint64_t height) const {
  return impl_->GetBlock(height);
}
std::string Ledger::LatestCheckpoint() const { return impl_->SnapshotHead().checkpoint; }
absl::StatusOr<std::vector<Hash>> Ledger::ConsistencyProof(uint64_t size1, uint64_t size2) const {
  return impl_->ConsistencyProof(size1, size2);
}
absl::StatusOr<std::optional<std::string>> Ledger::GetState(std::string_view key) const {
  return impl_->store().state().Get(key);
}
const StateReader& Ledger::state() const { return impl_->store().state(); }
void Ledger::Observe(const std::function<void(const StateReader&)>& init,
                     CommitObserver on_commit) {
  impl_->Observe(init, std::move(on_commit));
}
LedgerStatus Ledger::Status() const { return impl_->Status(); }
const GenesisInfo& Ledger::genesis() const { return impl_->genesis(); }
const std::string& Ledger::node_id() const { return impl_->node_id(); }
uint64_t Ledger::WaitForHeight(uint64_t h, int64_t timeout_ms) const {
  return impl_->WaitForHeight(h, timeout_ms);
}

std::unique_ptr<consensus::ValidatorSet> MakeValidatorSet(const GenesisInfo& genesis) {
  std::vector<std::string> ids;
  std::vector<PublicKey> keys;
  for (const Validator& v : genesis.validators()) {
    ids.push_back(v.id);
    keys.push_back(v.key);
  }
  return std::make_unique<consensus::ValidatorSet>(genesis.origin(), genesis.digest(),
                                                   std::move(ids), std::move(keys));
}

absl::StatusOr<Hash> TxIdOfEntry(std::string_view envelope_bytes) {
  tds::Envelope env;
  if (!env.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size()))) {
    return absl::InvalidArgumentError("entry is not a serialized Envelope");
  }
  return Sha256(env.payload());
}

}  // namespace tds::ledger
