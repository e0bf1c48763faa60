#pragma once
// The gRPC service tds.Ledger (proto/ledger_service.proto) over an embedded ledger.
//
// Written against the callback API: Submit and SubmitBatch hold no thread while they wait for
// their block to become durable — the ledger's committer callback finishes the RPC. Block
// streams are write reactors woken by one watcher thread, so open streams cost no threads.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"
#include "proto/ledger_service.grpc.pb.h"

namespace tds::node {

struct LedgerServiceOptions {
  // Most envelopes in one SubmitBatch.
  size_t max_batch_envelopes = 10000;
  // Largest envelope accepted (the ledger checks it too; refusing here avoids the copy).
  size_t max_entry_bytes = 64 * 1024;
  // Where submissions go: empty = the embedded ledger (this node validates); a follower sets
  // its Forwarder (node/replicator.h), which answers once the block is applied here.
  std::function<void(std::string envelope, ledger::Ledger::Done done)> submit;
};

// absl and gRPC share the canonical code numbering; the message is kept as is.
grpc::Status ToGrpcStatus(const absl::Status& status);

class BlockStreamReactor;

class LedgerService final : public tds::Ledger::CallbackService {
 public:
  // `ledger` must outlive the service and every RPC the service started.
  LedgerService(ledger::Ledger* ledger, LedgerServiceOptions options);
  ~LedgerService() override;  // calls Shutdown()

  LedgerService(const LedgerService&) = delete;
  LedgerService& operator=(const LedgerService&) = delete;

  // Ends every open block stream (UNAVAILABLE) and refuses new ones. Call before
  // grpc::Server::Shutdown, which waits for all reactors to finish. Idempotent.
  void Shutdown();

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx,
                                   const tds::SubmitRequest* request,
                                   tds::SubmitResponse* response) override;
  grpc::ServerUnaryReactor* SubmitBatch(grpc::CallbackServerContext* ctx,
                                        const tds::SubmitBatchRequest* request,
                                        tds::SubmitBatchResponse* response) override;
  grpc::ServerUnaryReactor* GetTransaction(grpc::CallbackServerContext* ctx,
                                           const tds::GetTransactionRequest* request,
                                           tds::GetTransactionResponse* response) override;
  grpc::ServerUnaryReactor* GetReceipt(grpc::CallbackServerContext* ctx,
                                       const tds::GetReceiptRequest* request,
                                       tds::GetReceiptResponse* response) override;
  grpc::ServerUnaryReactor* GetLatestCheckpoint(
      grpc::CallbackServerContext* ctx, const tds::GetLatestCheckpointRequest* request,
      tds::GetLatestCheckpointResponse* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* ctx, const tds::GetConsistencyProofRequest* request,
      tds::GetConsistencyProofResponse* response) override;
  grpc::ServerUnaryReactor* GetBlock(grpc::CallbackServerContext* ctx,
                                     const tds::GetBlockRequest* request,
                                     tds::GetBlockResponse* response) override;
  grpc::ServerWriteReactor<tds::Block>* StreamBlocks(
      grpc::CallbackServerContext* ctx, const tds::StreamBlocksRequest* request) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const tds::GetStatusRequest* request,
                                      tds::GetStatusResponse* response) override;
  grpc::ServerUnaryReactor* GetGenesis(grpc::CallbackServerContext* ctx,
                                       const tds::GetGenesisRequest* request,
                                       tds::GetGenesisResponse* response) override;

 private:
  friend class BlockStreamReactor;

  // Waits for new blocks and wakes the streams that are idle at the tip.
  void WatchHeight();
  // Returns false once the service is shut down (the stream must finish itself).
  bool AddStream(BlockStreamReactor* stream);
  void RemoveStream(BlockStreamReactor* stream);

  ledger::Ledger* const ledger_;
  LedgerServiceOptions options_;  // set in the constructor, then read only

  // Lock order: mu_ before any BlockStreamReactor::mu_.
  std::mutex mu_;
  std::condition_variable streams_changed_;
  bool shutting_down_ = false;             // guarded by mu_
  std::set<BlockStreamReactor*> streams_;  // guarded by mu_; live until their OnDone
  std::thread watcher_;
};

}  // namespace tds::node
