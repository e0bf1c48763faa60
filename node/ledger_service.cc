#include "node/ledger_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "spdlog/spdlog.h"

namespace tds::node {
namespace {

// How long the watcher blocks in WaitForHeight before re-checking for shutdown.
constexpr int64_t kWatchSliceMs = 250;

grpc::Status InvalidArgument(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Validates a wire txid; the error names the field and the size received.
absl::StatusOr<Hash> ParseTxid(const std::string& raw) {
  if (raw.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("txid: expected 32 bytes, got ", raw.size()));
  }
  Hash h;
  std::copy(raw.begin(), raw.end(), h.begin());
  return h;
}

// Refuses an envelope before it reaches the ledger (which checks the same limits again).
absl::Status CheckEnvelopeSize(const std::string& envelope, size_t max_bytes) {
  if (envelope.empty()) return absl::InvalidArgumentError("envelope: empty");
  if (envelope.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope: ", envelope.size(), " bytes exceeds the limit of ", max_bytes));
  }
  return absl::OkStatus();
}

void FillAck(const ledger::SubmitAck& ack, tds::SubmitResponse* out) {
  out->set_txid(std::string(AsBytes(ack.txid)));
  out->set_index(ack.index);
  out->set_height(ack.height);
  out->set_result(ack.result);
}

// Finishes a unary RPC that completes synchronously on the calling gRPC thread.
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// One StreamBlocks call. Writes one block at a time (gRPC allows a single outstanding write);
// when it reaches the tip it idles until the service's watcher reports a new height.
//
// States: idle (no write, next_ > tip) → writing (block_ in flight) → idle ... and finally
// finished. A finish requested while a write is in flight is deferred to OnWriteDone, so
// Finish is never racing a write.
class BlockStreamReactor final : public grpc::ServerWriteReactor<tds::Block> {
 public:
  BlockStreamReactor(LedgerService* service, uint64_t from_height)
      : service_(service), next_(std::max<uint64_t>(from_height, 1)) {}

  void Start() {
    if (!service_->AddStream(this)) {
      std::lock_guard<std::mutex> lock(mu_);
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "node is shutting down"));
      return;
    }
    Pump();
  }

  // Writes the next block if one is committed and no write is in flight.
  void Pump() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finish_requested_ || writing_) return;
    if (next_ > service_->ledger_->Status().height) return;  // idle at the tip
    absl::StatusOr<tds::Block> block = service_->ledger_->GetBlock(next_);
    if (!block.ok()) {
      FinishLocked(ToGrpcStatus(block.status()));
      return;
    }
    block_ = *std::move(block);
    writing_ = true;
    StartWrite(&block_);
  }

  // Called by the service at shutdown.
  void End(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        // The client went away or the call was cancelled.
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      } else {
        ++next_;
      }
      if (finish_requested_) {
        FinishLocked(pending_status_);
        return;
      }
    }
    Pump();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
  }

  void OnDone() override {
    service_->RemoveStream(this);
    delete this;
  }

 private:
  // REQUIRES: mu_ held. Finishes now, or after the write in flight completes.
  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    if (!finish_requested_) {
      finish_requested_ = true;
      pending_status_ = status;
    }
    if (writing_) return;
    finished_ = true;
    Finish(pending_status_);
  }

  LedgerService* const service_;
  std::mutex mu_;
  uint64_t next_;                  // guarded by mu_: the next height to send
  bool writing_ = false;           // guarded by mu_
  bool finish_requested_ = false;  // guarded by mu_
  bool finished_ = false;          // guarded by mu_: Finish was called
  grpc::Status pending_status_;    // guarded by mu_
  tds::Block block_;               // the block in flight; untouched while writing_
};

LedgerService::LedgerService(ledger::Ledger* ledger, LedgerServiceOptions options)
    : ledger_(ledger), options_(std::move(options)) {
  if (!options_.submit) {
    options_.submit = [ledger](std::string envelope, ledger::Ledger::Done done) {
      ledger->Submit(std::move(envelope), std::move(done));
    };
  }
  watcher_ = std::thread([this] { WatchHeight(); });
}

LedgerService::~LedgerService() {
  Shutdown();
  if (watcher_.joinable()) watcher_.join();
}

void LedgerService::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  for (BlockStreamReactor* stream : streams_) {
    stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "node is shutting down"));
  }
  streams_changed_.notify_all();
}

bool LedgerService::AddStream(BlockStreamReactor* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return false;
  streams_.insert(stream);
  streams_changed_.notify_all();
  return true;
}

void LedgerService::RemoveStream(BlockStreamReactor* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_.erase(stream);
}

void LedgerService::WatchHeight() {
  uint64_t seen = ledger_->Status().height;
  while (true) {
    {
      // Sleep while nobody is streaming.
      std::unique_lock<std::mutex> lock(mu_);
      streams_changed_.wait(lock, [this] { return shutting_down_ || !streams_.empty(); });
      if (shutting_down_) return;
    }
    auto started = std::chrono::steady_clock::now();
    uint64_t height = ledger_->WaitForHeight(seen + 1, kWatchSliceMs);
    if (height > seen) {
      seen = height;
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_) return;
      for (BlockStreamReactor* stream : streams_) stream->Pump();
    } else if (std::chrono::steady_clock::now() - started <
               std::chrono::milliseconds(kWatchSliceMs / 2)) {
      // WaitForHeight returned early without progress: the ledger is closing. Don't spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

grpc::ServerUnaryReactor* LedgerService::Submit(grpc::CallbackServerContext* ctx,
                                                const tds::SubmitRequest* request,
                                                tds::SubmitResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status s = CheckEnvelopeSize(request->envelope(), options_.max_entry_bytes); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  // `response` stays valid until Finish: gRPC owns it for the life of the call.
  options_.submit(request->envelope(), [reactor, response](absl::StatusOr<ledger::SubmitAck> ack) {
    if (!ack.ok()) {
      reactor->Finish(ToGrpcStatus(ack.status()));
      return;
    }
    FillAck(*ack, response);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LedgerService::SubmitBatch(grpc::CallbackServerContext* ctx,
                                                     const tds::SubmitBatchRequest* request,
                                                     tds::SubmitBatchResponse* response) {
  const size_t n = static_cast<size_t>(request->envelopes_size());
  if (n == 0) return FinishNow(ctx, InvalidArgument("envelopes: the batch is empty"));
  if (n > options_.max_batch_envelopes) {
    return FinishNow(ctx, InvalidArgument(absl::StrCat("envelopes: ", n,
                                                       " envelopes exceeds the batch limit of ",
                                                       options_.max_batch_envelopes)));
  }

  // Every item exists before the first Submit: callbacks (some of which run inline, on
  // admission errors) write only their own item, so the repeated field never reallocates
  // under them.
  for (size_t i = 0; i < n; ++i) response->add_items();

  struct BatchState {
    BatchState(grpc::ServerUnaryReactor* r, size_t count) : reactor(r), remaining(count) {}
    grpc::ServerUnaryReactor* const reactor;
    // One count per envelope plus one held by this function, so the RPC cannot finish (and
    // free `request`) while the loop below still reads it.
    std::atomic<size_t> remaining;
  };
  auto state = std::make_shared<BatchState>(ctx->DefaultReactor(), n + 1);
  auto release = [state] {
    if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      state->reactor->Finish(grpc::Status::OK);
    }
  };

  for (size_t i = 0; i < n; ++i) {
    tds::SubmitBatchItem* item = response->mutable_items(static_cast<int>(i));
    const std::string& envelope = request->envelopes(static_cast<int>(i));
    if (absl::Status s = CheckEnvelopeSize(envelope, options_.max_entry_bytes); !s.ok()) {
      item->set_code(static_cast<int32_t>(s.code()));
      item->set_message(std::string(s.message()));
      release();
      continue;
    }
    options_.submit(envelope, [item, release](absl::StatusOr<ledger::SubmitAck> ack) {
      if (ack.ok()) {
        FillAck(*ack, item->mutable_ack());
      } else {
        item->set_code(static_cast<int32_t>(ack.status().code()));
        item->set_message(std::string(ack.status().message()));
      }
      release();
    });
  }
  grpc::ServerUnaryReactor* reactor = state->reactor;
  release();
  return reactor;
}

grpc::ServerUnaryReactor* LedgerService::GetTransaction(grpc::CallbackServerContext* ctx,
                                                        const tds::GetTransactionRequest* request,
                                                        tds::GetTransactionResponse* response) {
  absl::StatusOr<Hash> txid = ParseTxid(request->txid());
  if (!txid.ok()) return FinishNow(ctx, ToGrpcStatus(txid.status()));
  absl::StatusOr<ledger::TxRecord> record = ledger_->GetTransaction(*txid);
  if (!record.ok()) return FinishNow(ctx, ToGrpcStatus(record.status()));
  response->set_entry(std::move(record->entry));
  response->set_index(record->index);
  response->set_height(record->height);
  response->set_result(std::move(record->result));
  return FinishNow(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerService::GetReceipt(grpc::CallbackServerContext* ctx,
                                                    const tds::GetReceiptRequest* request,
                                                    tds::GetReceiptResponse* response) {
  absl::StatusOr<Hash> txid = ParseTxid(request->txid());
  if (!txid.ok()) return FinishNow(ctx, ToGrpcStatus(txid.status()));
  absl::StatusOr<tds::Receipt> receipt = ledger_->GetReceipt(*txid);
  if (!receipt.ok()) return FinishNow(ctx, ToGrpcStatus(receipt.status()));
  *response->mutable_receipt() = *std::move(receipt);
  return FinishNow(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerService::GetLatestCheckpoint(
    grpc::CallbackServerContext* ctx, const tds::GetLatestCheckpointRequest* request,
    tds::GetLatestCheckpointResponse* response) {
  // Read the height first: a block committing in between makes the checkpoint newer than the
  // height, never older.
  uint64_t height = ledger_->Status().height;
  std::string checkpoint = ledger_->LatestCheckpoint();
  if (checkpoint.empty()) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::NOT_FOUND,
                                       "no checkpoint yet: the ledger has no block"));
  }
  response->set_checkpoint(std::move(checkpoint));
  response->set_height(height);
  return FinishNow(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerService::GetConsistencyProof(
    grpc::CallbackServerContext* ctx, const tds::GetConsistencyProofRequest* request,
    tds::GetConsistencyProofResponse* response) {
  if (request->size1() > request->size2()) {
    return FinishNow(ctx,
                     InvalidArgument(absl::StrCat("size1 (", request->size1(), ") exceeds size2 (",
                                                  request->size2(), ")")));
  }
  absl::StatusOr<std::vector<Hash>> proof =
      ledger_->ConsistencyProof(request->size1(), request->size2());
  if (!proof.ok()) return FinishNow(ctx, ToGrpcStatus(proof.status()));
  for (const Hash& h : *proof) response->add_proof(std::string(AsBytes(h)));
  return FinishNow(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerService::GetBlock(grpc::CallbackServerContext* ctx,
                                                  const tds::GetBlockRequest* request,
                                                  tds::GetBlockResponse* response) {
  if (request->height() == 0) return FinishNow(ctx, InvalidArgument("height: blocks start at 1"));
  absl::StatusOr<tds::Block> block = ledger_->GetBlock(request->height());
  if (!block.ok()) return FinishNow(ctx, ToGrpcStatus(block.status()));
  *response->mutable_block() = *std::move(block);
  return FinishNow(ctx, grpc::Status::OK);
}

grpc::ServerWriteReactor<tds::Block>* LedgerService::StreamBlocks(
    grpc::CallbackServerContext* ctx, const tds::StreamBlocksRequest* request) {
  auto* stream = new BlockStreamReactor(this, request->from_height());  // deleted in OnDone
  stream->Start();
  return stream;
}

grpc::ServerUnaryReactor* LedgerService::GetStatus(grpc::CallbackServerContext* ctx,
                                                   const tds::GetStatusRequest* request,
                                                   tds::GetStatusResponse* response) {
  ledger::LedgerStatus s = ledger_->Status();
  response->set_origin(ledger_->genesis().origin());
  response->set_node_member_id(ledger_->node_id());
  response->set_height(s.height);
  response->set_log_size(s.log_size);
  response->set_log_root(std::string(AsBytes(s.log_root)));
  response->set_state_digest(std::string(AsBytes(s.state_digest)));
  response->set_last_block_hash(std::string(AsBytes(s.last_block_hash)));
  response->set_last_block_time_ms(s.last_block_time_ms);
  response->set_pending_txs(s.pending);
  return FinishNow(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerService::GetGenesis(grpc::CallbackServerContext* ctx,
                                                    const tds::GetGenesisRequest* request,
                                                    tds::GetGenesisResponse* response) {
  response->set_genesis(ledger_->genesis().bytes());
  return FinishNow(ctx, grpc::Status::OK);
}

}  // namespace tds::node
