#include "sdk/client.h"

#include <sodium.h>

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/envelope.h"
#include "common/wall_clock.h"
#include "grpcpp/grpcpp.h"
#include "ledger/genesis.h"
#include "proto/ledger_service.grpc.pb.h"

namespace tds::sdk {
namespace {

uint64_t RandomNonce() {
  static const bool initialized = sodium_init() >= 0;  // thread-safe, idempotent
  (void)initialized;
  uint64_t nonce = 0;
  while (nonce == 0) randombytes_buf(&nonce, sizeof(nonce));
  return nonce;
}

}  // namespace

std::string BuildTransaction(const SigningKey& key, const std::string& member_id,
                             const std::string& type, std::string body, uint64_t nonce) {
  tds::Transaction tx;
  tx.set_type(type);
  tx.set_submitter(member_id);
  tx.set_body(std::move(body));
  tx.set_nonce(nonce != 0 ? nonce : RandomNonce());
  tx.set_created_ms(WallClockMs());
  // Serialized once here; from now on these exact bytes are what is signed and carried.
  return SealEnvelope(key, kTxContext, tx.SerializeAsString());
}

struct LedgerClient::Impl {
  std::string address;
  int64_t timeout_ms = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<tds::Ledger::Stub> stub;

  // A fresh context per call: a ClientContext must not be reused.
  void Prepare(grpc::ClientContext* ctx) const { PrepareContext(ctx, timeout_ms); }
};

absl::StatusOr<std::unique_ptr<LedgerClient>> LedgerClient::Connect(const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(options);
  if (!channel.ok()) return channel.status();
  auto impl = std::make_unique<Impl>();
  impl->address = options.address;
  impl->timeout_ms = options.timeout_ms;
  impl->channel = *std::move(channel);
  impl->stub = tds::Ledger::NewStub(impl->channel);
  return std::unique_ptr<LedgerClient>(new LedgerClient(std::move(impl)));
}

LedgerClient::LedgerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LedgerClient::~LedgerClient() = default;

absl::StatusOr<tds::SubmitResponse> LedgerClient::Submit(const std::string& envelope) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::SubmitRequest request;
  request.set_envelope(envelope);
  tds::SubmitResponse response;
  grpc::Status status = impl_->stub->Submit(&ctx, request, &response);
  if (!status.ok()) return FromGrpc(status, "Submit");
  return response;
}

absl::StatusOr<tds::SubmitBatchResponse> LedgerClient::SubmitBatch(
    const std::vector<std::string>& envelopes) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::SubmitBatchRequest request;
  request.mutable_envelopes()->Reserve(static_cast<int>(envelopes.size()));
  for (const std::string& e : envelopes) request.add_envelopes(e);
  tds::SubmitBatchResponse response;
  grpc::Status status = impl_->stub->SubmitBatch(&ctx, request, &response);
  if (!status.ok()) return FromGrpc(status, "SubmitBatch");
  if (response.items_size() != static_cast<int>(envelopes.size())) {
    return absl::InternalError(absl::StrCat("SubmitBatch: the node answered ",
                                            response.items_size(), " items for ", envelopes.size(),
                                            " envelopes"));
  }
  return response;
}

absl::StatusOr<tds::GetTransactionResponse> LedgerClient::GetTransaction(const Hash& txid) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::GetTransactionRequest request;
  request.set_txid(std::string(AsBytes(txid)));
  tds::GetTransactionResponse response;
  grpc::Status status = impl_->stub->GetTransaction(&ctx, request, &response);
  if (!status.ok()) return FromGrpc(status, "GetTransaction");
  return response;
}

absl::StatusOr<tds::Receipt> LedgerClient::GetReceipt(const Hash& txid) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::GetReceiptRequest request;
  request.set_txid(std::string(AsBytes(txid)));
  tds::GetReceiptResponse response;
  grpc::Status status = impl_->stub->GetReceipt(&ctx, request, &response);
  if (!status.ok()) return FromGrpc(status, "GetReceipt");
  return std::move(*response.mutable_receipt());
}

absl::StatusOr<tds::GetLatestCheckpointResponse> LedgerClient::GetLatestCheckpoint() {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::GetLatestCheckpointResponse response;
  grpc::Status status =
      impl_->stub->GetLatestCheckpoint(&ctx, tds::GetLatestCheckpointRequest(), &response);
  if (!status.ok()) return FromGrpc(status, "GetLatestCheckpoint");
  return response;
}

absl::StatusOr<std::vector<Hash>> LedgerClient::GetConsistencyProof(uint64_t size1,
                                                                    uint64_t size2) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::GetConsistencyProofRequest request;
  request.set_size1(size1);
  request.set_size2(size2);
  tds::GetConsistencyProofResponse response;
  grpc::Status status = impl_->stub->GetConsistencyProof(&ctx, request, &response);
  if (!status.ok()) return FromGrpc(status, "GetConsistencyProof");
  std::vector<Hash> proof;
  proof.reserve(response.proof_size());
  for (int i = 0; i < response.proof_size(); ++i) {
    // Untrusted input: each node hash must be exactly 32 bytes.
    absl::StatusOr<Hash> h = HashFromBytes(response.proof(i), "proof hash");
    if (!h.ok()) {
      return absl::DataLossError(absl::StrCat("GetConsistencyProof: node sent proof[", i,
                                              "]: ", std::string(h.status().message())));
    }
    proof.push_back(*h);
  }
  return proof;
}

absl::StatusOr<tds::GetStatusResponse> LedgerClient::GetStatus() {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::GetStatusResponse response;
  grpc::Status status = impl_->stub->GetStatus(&ctx, tds::GetStatusRequest(), &response);
  if (!status.ok()) return FromGrpc(status, "GetStatus");
  return response;
}

absl::StatusOr<std::string> LedgerClient::GetGenesis() {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  tds::GetGenesisResponse response;
  grpc::Status status = impl_->stub->GetGenesis(&ctx, tds::GetGenesisRequest(), &response);
  if (!status.ok()) return FromGrpc(status, "GetGenesis");
  return std::move(*response.mutable_genesis());
}

absl::StatusOr<std::string> LedgerClient::MemberIdFor(const PublicKey& key) {
  absl::StatusOr<std::string> bytes = GetGenesis();
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<ledger::GenesisInfo> genesis =
      ledger::GenesisInfo::Parse(*bytes, "genesis from " + impl_->address);
  if (!genesis.ok()) {
    return absl::Status(genesis.status().code(),
                        absl::StrCat("MemberIdFor: ", std::string(genesis.status().message())));
  }
  const tds::Member* member = genesis->FindByKey(key);
  if (member == nullptr) {
    return absl::NotFoundError(absl::StrCat("MemberIdFor: key ", key.hex(),
                                            " is not a member of data space \"", genesis->origin(),
                                            "\""));
  }
  return member->id();
}

}  // namespace tds::sdk
