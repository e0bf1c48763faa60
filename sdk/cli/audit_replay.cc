#include "sdk/cli/audit_replay.h"

#include <time.h>

#include <bit>
#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "app/application.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "ledger/checkpoint.h"
#include "ledger/epochs.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/receipt.h"
#include "ledger/snapshot.h"
#include "proto/ledger_service.grpc.pb.h"
#include "sdk/client.h"

namespace tds::cli {
namespace {

class GrpcLedgerSource : public LedgerSource {
 public:
  GrpcLedgerSource(std::unique_ptr<sdk::LedgerClient> client,
                   std::shared_ptr<grpc::Channel> channel, int64_t timeout_ms)
      : client_(std::move(client)),
        stub_(tds::Ledger::NewStub(std::move(channel))),
        timeout_ms_(timeout_ms) {}

  absl::Status Blocks(uint64_t from, uint64_t to,
                      const std::function<absl::Status(tds::Block)>& fn) override {
    if (from > to) return absl::OkStatus();
    // No deadline: a long replay streams for as long as it takes.
    grpc::ClientContext ctx;
    tds::StreamBlocksRequest request;
    request.set_from_height(from);
    std::unique_ptr<grpc::ClientReader<tds::Block>> reader = stub_->StreamBlocks(&ctx, request);
    absl::Status result;
    uint64_t next = from;
    tds::Block block;
    while (next <= to && reader->Read(&block)) {
      result = fn(std::move(block));
      block = tds::Block();
      if (!result.ok()) break;
      ++next;
    }
    ctx.TryCancel();  // the stream would go on with blocks committed from now on
    const grpc::Status finished = reader->Finish();
    if (!result.ok()) return result;
    if (next <= to) {
      absl::Status why = sdk::FromGrpc(finished, "StreamBlocks");
      return absl::UnavailableError(absl::StrCat("the block stream ended before block ", next,
                                                 why.ok() ? "" : ": ", std::string(why.message())));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<tds::Block> GetBlock(uint64_t height) override {
    grpc::ClientContext ctx;
    sdk::PrepareContext(&ctx, timeout_ms_);
    tds::GetBlockRequest request;
    request.set_height(height);
    tds::GetBlockResponse response;
    grpc::Status s = stub_->GetBlock(&ctx, request, &response);
    if (!s.ok()) return sdk::FromGrpc(s, "GetBlock");
    return std::move(*response.mutable_block());
  }

  absl::StatusOr<tds::Receipt> GetReceipt(const Hash& txid) override {
    return client_->GetReceipt(txid);
  }
  absl::StatusOr<tds::GetLatestCheckpointResponse> GetLatestCheckpoint() override {
    return client_->GetLatestCheckpoint();
  }
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t size1, uint64_t size2) override {
    return client_->GetConsistencyProof(size1, size2);
  }
  absl::StatusOr<uint64_t> Height() override {
    TDS_ASSIGN_OR_RETURN(tds::GetStatusResponse status, client_->GetStatus());
    return status.height();
  }

 private:
  std::unique_ptr<sdk::LedgerClient> client_;
  std::unique_ptr<tds::Ledger::Stub> stub_;
  int64_t timeout_ms_;
};

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Where the replay stands: the last verified block and what the next one must extend.
struct Tip {
  uint64_t height = 0;
  Hash block_hash{};  // block 0: the genesis file's digest
  Hash state_digest{};
  ledger::merkle::Frontier frontier;
  uint64_t epoch = 0;
  std::vector<ledger::Validator> validators;  // of `epoch`
};

// `what` is an absl::string_view: Debian's absl::Status::message() is not a std::string_view.
absl::Status Divergence(uint64_t height, std::string_view check, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("block ", height, ": ", std::string(check), ": ", what));
}

std::string BlockName(uint64_t height) {
  return height == 0 ? std::string("the genesis file's digest")
                     : absl::StrCat("block ", height, "'s hash");
}

// The RFC 9162 §2.1.4.2 verification of PROOF(size1, D[size2]) run for its by-product: the
// nodes folded into the old root are the Merkle frontier of the tree of size1 (its perfect
// subtrees, smallest first). Sound whatever the node sent: the caller accepts the frontier only
// if it folds to the certified root of size1. REQUIRES 0 < size1 < size2.
absl::StatusOr<ledger::merkle::Frontier> FrontierFromConsistencyProof(uint64_t size1,
                                                                      uint64_t size2,
                                                                      std::vector<Hash> proof,
                                                                      const Hash& root1) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat("the node's consistency proof from ", size1, " to ",
                                            size2, " entries ", std::string(why)));
  };
  if (std::has_single_bit(size1)) proof.insert(proof.begin(), root1);
  if (proof.empty()) return bad("is empty");
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  std::vector<Hash> smallest_first = {proof[0]};
  for (size_t i = 1; i < proof.size(); ++i) {
    if (sn == 0) return bad("is too long");
    if ((fn & 1) != 0 || fn == sn) {
      smallest_first.push_back(proof[i]);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    }
    fn >>= 1;
    sn >>= 1;
  }
  std::vector<ledger::merkle::StoredNode> positions = ledger::FrontierPositions(size1);
  if (positions.size() != smallest_first.size()) return bad("does not have the tree's shape");
  for (size_t i = 0; i < positions.size(); ++i) {
    positions[i].hash = smallest_first[smallest_first.size() - 1 - i];
  }
  // Frontier::Load reads exactly these positions.
  struct Positions : ledger::merkle::NodeStore {
    const std::vector<ledger::merkle::StoredNode>* nodes;
    absl::StatusOr<Hash> Get(uint32_t level, uint64_t index) const override {
      for (const auto& n : *nodes) {
        if (n.level == level && n.index == index) return n.hash;
      }
      return absl::NotFoundError("not a frontier position");
    }
  } store;
  store.nodes = &positions;
  TDS_ASSIGN_OR_RETURN(ledger::merkle::Frontier frontier,
                       ledger::merkle::Frontier::Load(store, size1));
  if (frontier.Root() != root1) return bad("does not lead to the certified root");
  return frontier;
}

class Replayer {
 public:
  Replayer(LedgerSource& source, const ledger::GenesisInfo& genesis)
      : source_(source), genesis_(genesis) {}

  // Starts after block 0 (genesis) or, for from > 1, after block from - 1 (see the header).
  absl::Status Bootstrap(uint64_t from) {
    tip_.block_hash = genesis_.digest();
    tip_.validators = genesis_.validators();
    if (from == 1) return absl::OkStatus();
    const uint64_t h = from - 1;
    TDS_ASSIGN_OR_RETURN(tds::Block block, source_.GetBlock(h));
    tds::BlockHeader header;
    if (!header.ParseFromString(block.header()) || header.height() != h) {
      return Divergence(h, "start", "the header does not parse or names another height");
    }
    auto validators = ValidatorsOfBlock(source_, genesis_, block);
    if (!validators.ok()) return Divergence(h, "start", validators.status().message());
    auto cp = ledger::VerifyCheckpointBy(block.checkpoint(), genesis_.origin(), *validators);
    if (!cp.ok()) return Divergence(h, "checkpoint", cp.status().message());
    if (absl::Status s = ledger::CheckpointMatchesHeader(*cp, header, block.header()); !s.ok()) {
      return Divergence(h, "checkpoint",
                        absl::StrCat("does not match the header: ", std::string(s.message())));
    }
    // The frontier at block h's size, from a proof to block `from`'s size.
    TDS_ASSIGN_OR_RETURN(tds::Block next, source_.GetBlock(from));
    tds::BlockHeader next_header;
    if (!next_header.ParseFromString(next.header()) || next_header.log_size() <= cp->size) {
      return Divergence(from, "link", "the header does not parse or does not grow the log");
    }
    TDS_ASSIGN_OR_RETURN(std::vector<Hash> proof,
                         source_.GetConsistencyProof(cp->size, next_header.log_size()));
    auto frontier =
        FrontierFromConsistencyProof(cp->size, next_header.log_size(), std::move(proof), cp->root);
    if (!frontier.ok()) return Divergence(h, "log root", frontier.status().message());
    tip_.height = h;
    tip_.block_hash = cp->block_hash;
    tip_.frontier = *std::move(frontier);
    tip_.epoch = header.epoch();
    tip_.validators = *std::move(validators);
    if (header.next_validators_size() > 0) TDS_RETURN_IF_ERROR(EndEpoch(h, header, block));
    return absl::OkStatus();
  }

  // REQUIRES from == 1 (state starts at genesis). The directory must be new or empty.
  absl::Status StartExecution(const ledger::Application* app, const std::string& dir) {
    ledger::LedgerOptions options;
    options.data_dir = dir;
    options.follower = true;
    options.sync = false;  // a scratch copy: nothing is lost but this run
    options.state_sync = false;
    auto follower = ledger::Ledger::Open(options, genesis_, nullptr, app);
    if (!follower.ok()) {
      return absl::Status(
          follower.status().code(),
          absl::StrCat("scratch ledger in ", dir, ": ", std::string(follower.status().message())));
    }
    if ((*follower)->Status().height != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("scratch ledger in ", dir, " is not empty"));
    }
    follower_ = *std::move(follower);
    return absl::OkStatus();
  }

  absl::Status Check(const tds::Block& block) {
    const uint64_t expected = tip_.height + 1;
    tds::BlockHeader header;
    if (!header.ParseFromString(block.header())) {
      return Divergence(expected, "link", "the header does not parse");
    }
    const uint64_t h = header.height();
    if (h != expected) {
      return Divergence(expected, "link", absl::StrCat("the node sent block ", h, " instead"));
    }
    if (header.prev_block_hash() != AsBytes(tip_.block_hash)) {
      return Divergence(
          h, "link",
          absl::StrCat("previous block hash is ", HexEncode(header.prev_block_hash()), ", ",
                       BlockName(tip_.height), " is ", HexEncode(tip_.block_hash)));
    }
    if (header.tx_count() == 0 ||
        static_cast<uint64_t>(block.entries_size()) != header.tx_count()) {
      return Divergence(h, "link",
                        absl::StrCat("the block has ", block.entries_size(),
                                     " entries, its header's tx_count is ", header.tx_count()));
    }
    if (header.log_size() != tip_.frontier.size() + header.tx_count()) {
      return Divergence(h, "link",
                        absl::StrCat("log size is ", header.log_size(), ", previous size ",
                                     tip_.frontier.size(), " + ", header.tx_count(), " entries"));
    }

    if (header.epoch() != tip_.epoch) {
      return Divergence(h, "checkpoint",
                        absl::StrCat("the header is of validator epoch ", header.epoch(),
                                     ", the ledger is in epoch ", tip_.epoch));
    }
    auto cp = ledger::VerifyCheckpointBy(block.checkpoint(), genesis_.origin(), tip_.validators);
    if (!cp.ok()) return Divergence(h, "checkpoint", cp.status().message());
    if (absl::Status s = ledger::CheckpointMatchesHeader(*cp, header, block.header()); !s.ok()) {
      return Divergence(h, "checkpoint",
                        absl::StrCat("does not match the header: ", std::string(s.message())));
    }

    ledger::merkle::Frontier frontier = tip_.frontier;
    for (const std::string& entry : block.entries()) {
      frontier.Append(ledger::merkle::LeafHash(entry), &unused_nodes_);
    }
    unused_nodes_.clear();
    if (AsBytes(frontier.Root()) != header.log_root()) {
      return Divergence(
          h, "log root",
          absl::StrCat("log root is ", HexEncode(header.log_root()), ", recomputed ",
                       HexEncode(frontier.Root()), " from the ", block.entries_size(), " entries"));
    }

    TDS_RETURN_IF_ERROR(CheckEnvelopes(h, tip_.frontier.size(), block));

    if (follower_ != nullptr) {
      if (absl::Status s = follower_->ApplyBlock(block); !s.ok()) {
        std::string why(s.message());
        if (const std::string prefix = absl::StrCat("block ", h, ": "); why.rfind(prefix, 0) == 0) {
          why.erase(0, prefix.size());
        }
        return Divergence(h, "state", why);
      }
    }

    tip_.height = h;
    tip_.block_hash = cp->block_hash;
    tip_.frontier = std::move(frontier);
    if (auto digest = HashFromBytes(header.state_digest()); digest.ok())
      tip_.state_digest = *digest;
    if (header.next_validators_size() > 0) TDS_RETURN_IF_ERROR(EndEpoch(h, header, block));
    ++blocks_;
    records_ += static_cast<uint64_t>(block.entries_size());
    return absl::OkStatus();
  }

  const Tip& tip() const { return tip_; }
  uint64_t blocks() const { return blocks_; }
  uint64_t records() const { return records_; }
  uint64_t epochs_ended() const { return epochs_ended_; }
  const ledger::Ledger* follower() const { return follower_.get(); }

 private:
  // Every entry a tx.v1 envelope over a Transaction with a valid signature. Signatures are
  // verified in one batch (their verdicts cached, so re-execution finds them verified); a
  // failure is re-checked alone for OpenEnvelope's precise reason.
  absl::Status CheckEnvelopes(uint64_t h, uint64_t first_index, const tds::Block& block) {
    std::vector<EnvelopeSignature> sigs;
    sigs.reserve(block.entries_size());
    auto entry_failed = [&](int i, absl::string_view what) {
      return Divergence(
          h, "envelope",
          absl::StrCat("entry ", i, " (log index ", first_index + i, "): ", std::string(what)));
    };
    for (int i = 0; i < block.entries_size(); ++i) {
      auto sig = ExtractEnvelopeSignature(block.entries(i), kTxContext);
      if (!sig.ok()) return entry_failed(i, sig.status().message());
      sigs.push_back(*std::move(sig));
    }
    std::vector<ed25519::Item> items;
    items.reserve(sigs.size());
    for (const EnvelopeSignature& s : sigs) items.push_back({s.signer, s.message, s.signature});
    const std::vector<bool> valid = ed25519::VerifyBatch(items);
    for (int i = 0; i < block.entries_size(); ++i) {
      if (!valid[i]) {
        auto opened = OpenEnvelope(block.entries(i), kTxContext);
        return entry_failed(
            i, opened.ok() ? "signature does not verify" : std::string(opened.status().message()));
      }
      tds::Transaction tx;
      if (!tx.ParseFromArray(sigs[i].payload().data(),
                             static_cast<int>(sigs[i].payload().size())) ||
          tx.submitter().empty()) {
        return entry_failed(i, "the payload is not a tds.Transaction naming its submitter");
      }
    }
    return absl::OkStatus();
  }

  absl::Status EndEpoch(uint64_t h, const tds::BlockHeader& header, const tds::Block& block) {
    tds::EpochChange change;
    change.set_header(block.header());
    change.set_checkpoint(block.checkpoint());
    change.set_commit_proof(block.commit_proof());
    auto next =
        ledger::VerifyEpochChange(change, genesis_.origin(), header.epoch(), tip_.validators);
    if (!next.ok()) return Divergence(h, "epoch", next.status().message());
    tip_.epoch = header.epoch() + 1;
    tip_.validators = *std::move(next);
    ++epochs_ended_;
    return absl::OkStatus();
  }

  LedgerSource& source_;
  const ledger::GenesisInfo& genesis_;
  Tip tip_;
  std::unique_ptr<ledger::Ledger> follower_;
  std::vector<ledger::merkle::StoredNode> unused_nodes_;
  uint64_t blocks_ = 0, records_ = 0, epochs_ended_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LedgerSource>> ConnectLedgerSource(
    const sdk::ClientOptions& options) {
  TDS_ASSIGN_OR_RETURN(std::unique_ptr<sdk::LedgerClient> client,
                       sdk::LedgerClient::Connect(options));
  TDS_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, sdk::OpenChannel(options));
  return std::make_unique<GrpcLedgerSource>(std::move(client), std::move(channel),
                                            options.timeout_ms);
}

std::unique_ptr<ledger::Application> NodeApplication() {
  auto app = std::make_unique<ledger::Application>();
  app::RegisterAll(*app);  // what tdsd runs
  return app;
}

absl::StatusOr<std::vector<ledger::Validator>> ValidatorsOfBlock(LedgerSource& source,
                                                                 const ledger::GenesisInfo& genesis,
                                                                 const tds::Block& block) {
  tds::BlockHeader header;
  if (!header.ParseFromString(block.header())) {
    return absl::DataLossError("the block header does not parse");
  }
  if (header.epoch() == 0) return genesis.validators();
  if (block.entries_size() == 0) return absl::DataLossError("the block has no entries");
  TDS_ASSIGN_OR_RETURN(Hash txid, ledger::TxIdOfEntry(block.entries(0)));
  TDS_ASSIGN_OR_RETURN(tds::Receipt receipt, source.GetReceipt(txid));
  if (static_cast<uint64_t>(receipt.epoch_changes_size()) != header.epoch() ||
      receipt.checkpoint() != block.checkpoint()) {
    return absl::DataLossError(absl::StrCat("the receipt of its first transaction carries ",
                                            receipt.epoch_changes_size(), " epoch change(s) and ",
                                            receipt.checkpoint() == block.checkpoint()
                                                ? "the block's checkpoint"
                                                : "another checkpoint",
                                            "; the block is of epoch ", header.epoch()));
  }
  auto validators = ledger::ValidatorsAfter(genesis, receipt.epoch_changes());
  if (!validators.ok()) {
    return absl::DataLossError(
        absl::StrCat("epochs: ", std::string(validators.status().message())));
  }
  return validators;
}

absl::StatusOr<ReplaySummary> Replay(LedgerSource& source, const ledger::GenesisInfo& genesis,
                                     const ReplayOptions& options) {
  if (options.from == 0) return absl::InvalidArgumentError("--from: blocks start at 1");
  uint64_t to = options.to;
  if (to == 0) {
    TDS_ASSIGN_OR_RETURN(to, source.Height());
  }
  if (to < options.from) {
    return absl::InvalidArgumentError(
        absl::StrCat("nothing to replay: blocks ", options.from, "..", to));
  }
  Replayer replayer(source, genesis);
  TDS_RETURN_IF_ERROR(replayer.Bootstrap(options.from));
  const bool execute = options.app != nullptr && options.from == 1;
  if (execute) TDS_RETURN_IF_ERROR(replayer.StartExecution(options.app, options.scratch_dir));

  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  TDS_RETURN_IF_ERROR(source.Blocks(options.from, to, [&](tds::Block block) -> absl::Status {
    TDS_RETURN_IF_ERROR(replayer.Check(block));
    if (options.progress) options.progress(replayer.tip().height, replayer.records());
    return absl::OkStatus();
  }));
  ReplaySummary out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  out.cpu_seconds = CpuSeconds() - cpu0;
  out.from = options.from;
  out.to = to;
  out.blocks = replayer.blocks();
  out.records = replayer.records();
  out.log_size = replayer.tip().frontier.size();
  out.log_root = replayer.tip().frontier.Root();
  out.state_digest =
      execute ? replayer.follower()->Status().state_digest : replayer.tip().state_digest;
  out.epochs_ended = replayer.epochs_ended();
  out.executed = execute;
  return out;
}

}  // namespace tds::cli
