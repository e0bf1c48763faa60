#pragma once
// Transaction bodies for every application transaction type (catalog.*, contract.*, usage.*,
// gov.*), and the consumer's signed UsageRequest. Each builder returns the type and the
// serialized body; sign and wrap it with BuildTransaction (sdk/client.h) and submit it.
//
// Builders only assemble what the caller gives them: the node validates every field and its
// refusal names what failed. Byte fields that are signed elsewhere (terms, the consumer's
// request envelope) are carried exactly as given, never re-serialized.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/keys.h"
#include "proto/catalog.pb.h"
#include "proto/contracts.pb.h"
#include "proto/governance.pb.h"

namespace tds::sdk {

struct TxBody {
  std::string type;  // e.g. "catalog.publish"
  std::string body;  // serialized body message
};

// --- catalog.* (proto/catalog.proto) ---
// `product.version` and `provider` must be unset (the ledger sets them).
TxBody PublishProduct(const tds::Product& product);
// A full new description with the same id.
TxBody UpdateProduct(const tds::Product& product);
TxBody RetireProduct(const std::string& product_id, const std::string& reason);
// amount in minor units of `currency`; period "YYYY-MM".
TxBody DeclareCost(const std::string& product_id, const std::string& period,
                   const std::string& category, int64_t amount, const std::string& currency,
                   const std::string& note);

// --- contract.* (proto/contracts.proto, ContractActionBody) ---
// `terms` are serialized once here; the contract carries exactly these bytes.
TxBody RequestContract(const std::string& product_id, const tds::Terms& terms);
TxBody CounterContract(const std::string& contract_id, const tds::Terms& terms);
// `terms_digest`: the contract's current Contract.terms_digest (32 bytes) being accepted.
TxBody AcceptContract(const std::string& contract_id, const std::string& terms_digest);
TxBody RejectContract(const std::string& contract_id, const std::string& reason);
TxBody TerminateContract(const std::string& contract_id, const std::string& reason);
TxBody SuspendContract(const std::string& contract_id, const std::string& reason);
TxBody ResumeContract(const std::string& contract_id);
TxBody ExpireContract(const std::string& contract_id);

// --- usage.* (the contract's provider submits; `request` is the consumer's envelope) ---
// ttl_blocks 0 → the node's default.
TxBody ReserveUsage(const std::string& request, uint64_t ttl_blocks);
TxBody RecordUsage(const std::string& request, const tds::Measurement& measurement);

// --- gov.* (proto/governance.proto) ---
TxBody ProposeAddMember(const tds::Member& member, const std::string& reason, uint64_t ttl_blocks);
TxBody ProposeRemoveMember(const std::string& member_id, const std::string& reason,
                           uint64_t ttl_blocks);
TxBody ProposeSetRoles(const std::string& member_id, const std::vector<std::string>& roles,
                       const std::string& reason, uint64_t ttl_blocks);
TxBody Vote(uint64_t proposal_id, bool approve);

// Bytes of a fresh random usage-request nonce (within the 16..64 the ledger accepts).
inline constexpr size_t kUsageNonceBytes = 32;
std::string RandomUsageNonce();

// The consumer's signed UsageRequest: serialized Envelope (context "tds.usage_request.v1")
// over a tds.UsageRequest with these fields and created_ms = the wall clock. `params_digest`
// is the SHA-256 of the computation's parameters (32 bytes, or empty); `nonce` 16..64 bytes,
// never reused within the contract (empty → RandomUsageNonce()).
std::string BuildUsageRequest(const SigningKey& consumer_key, const std::string& consumer_id,
                              const std::string& contract_id, const std::string& operation,
                              const std::string& purpose, const std::vector<std::string>& columns,
                              const std::string& params_digest, const std::string& nonce);

}  // namespace tds::sdk
