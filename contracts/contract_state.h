#pragma once
// Where contracts and metering live in application state (keys documented in
// proto/contracts.proto), shared by negotiation, metering, billing and the node's queries.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "proto/contracts.pb.h"

namespace tds::contracts {

inline constexpr std::string_view kContractPrefix = "contract/";
inline constexpr std::string_view kUsageRecordPrefix = "usage/record/";
inline constexpr std::string_view kUsageByContractPrefix = "usage/by_contract/";
inline constexpr std::string_view kUsageByPairPrefix = "usage/by_pair/";
inline constexpr std::string_view kUsageByProductPrefix = "usage/by_product/";
inline constexpr std::string_view kUsageViolationPrefix = "usage/violation/";
inline constexpr std::string_view kReservationPrefix = "usage/reservation/";
inline constexpr std::string_view kCounterPrefix = "usage/counter/";
inline constexpr std::string_view kNoncePrefix = "usage/nonce/";
// Usage-record posting lists for the audit filters (node/usage_listing.h), one per (field, value):
//   "usage/ix/" <field> "/" be32(len(value)) value be64(index) → empty
// The value is length-prefixed because purposes, operations and terms are free text (a "/" in
// one must not make its list a prefix of another's). Within a list keys are in log-index order,
// which is also block-time order: the ledger refuses a block whose time goes back, so a time
// range is a log-index range. Written only by WriteUsageRecord, in consensus state: every
// validator writes the same keys, so they are covered by the state digest and snapshots.
inline constexpr std::string_view kUsageIndexPrefix = "usage/ix/";
enum class UsageField { kProvider, kConsumer, kProduct, kPurpose, kOperation, kViolatedTerm };
// Contract index by party: "contract_by_party/<member>/<contract id>" → empty.
inline constexpr std::string_view kContractByPartyPrefix = "contract_by_party/";

// Envelope context of a consumer's signed UsageRequest.
inline constexpr std::string_view kUsageRequestContext = "tds.usage_request.v1";

std::string ContractKey(std::string_view contract_id);
std::string ContractByPartyKey(std::string_view member_id, std::string_view contract_id);
std::string UsageRecordKey(uint64_t index);
std::string UsageByContractKey(std::string_view contract_id, uint64_t index);
std::string UsageByPairKey(std::string_view provider, std::string_view consumer,
                           std::string_view period, uint64_t index);
std::string UsageByProductKey(std::string_view product_id, std::string_view period, uint64_t index);
std::string UsageViolationKey(uint64_t index);
// The posting list of records whose `field` equals `value` (for kViolatedTerm: records with a
// violation of that term); an entry's key is this prefix + be64(log index).
std::string UsageIndexPrefix(UsageField field, std::string_view value);
std::string ReservationKey(std::string_view reservation_id);
std::string CounterKey(std::string_view contract_id);
std::string NonceKey(std::string_view contract_id, std::string_view nonce);
// The trailing be64 index of an index key.
uint64_t IndexFromKey(std::string_view key);

absl::StatusOr<std::optional<tds::Contract>> ReadContract(const ledger::StateReader& state,
                                                          std::string_view contract_id);
absl::StatusOr<tds::UsageCounters> ReadCounters(const ledger::StateReader& state,
                                                std::string_view contract_id);
absl::StatusOr<std::optional<tds::UsageRecordState>> ReadUsageRecord(
    const ledger::StateReader& state, uint64_t index);

// Writes the contract and its two party-index entries.
void WriteContract(ledger::StateWriter& state, const tds::Contract& contract);

// Writes the usage record at log index record.index() and every index entry naming it
// (by contract, pair, product, violation, and the UsageIndexPrefix lists). The one place usage
// indexes are maintained: the usage.record handler and test/bench seeding all call it.
void WriteUsageRecord(ledger::StateWriter& state, const tds::UsageRecordState& record);

// Parses serialized Terms carried in a transaction (exact bytes; never re-serialized).
absl::StatusOr<tds::Terms> ParseTerms(std::string_view terms_bytes);

}  // namespace tds::contracts
