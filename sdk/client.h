#pragma once
// Client library for members: builds and signs transactions, talks to a node's Ledger service.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "proto/ledger.pb.h"
#include "proto/ledger_service.pb.h"
#include "sdk/channel.h"

namespace tds::sdk {

// Serialized Envelope (context tds.tx.v1) over a Transaction. nonce 0 → random.
std::string BuildTransaction(const SigningKey& key, const std::string& member_id,
                             const std::string& type, std::string body, uint64_t nonce = 0);

// Thread-safe; one channel per client.
class LedgerClient {
 public:
  static absl::StatusOr<std::unique_ptr<LedgerClient>> Connect(const ClientOptions& options);
  ~LedgerClient();

  // gRPC errors come back as absl::Status with the node's message, prefixed by the method.
  absl::StatusOr<tds::SubmitResponse> Submit(const std::string& envelope);
  absl::StatusOr<tds::SubmitBatchResponse> SubmitBatch(const std::vector<std::string>& envelopes);
  absl::StatusOr<tds::GetTransactionResponse> GetTransaction(const Hash& txid);
  absl::StatusOr<tds::Receipt> GetReceipt(const Hash& txid);
  absl::StatusOr<tds::GetLatestCheckpointResponse> GetLatestCheckpoint();
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t size1, uint64_t size2);
  absl::StatusOr<tds::GetStatusResponse> GetStatus();
  absl::StatusOr<std::string> GetGenesis();
  // The member id whose genesis key equals `key`, read from the node's genesis.
  absl::StatusOr<std::string> MemberIdFor(const PublicKey& key);

 private:
  struct Impl;
  explicit LedgerClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tds::sdk
