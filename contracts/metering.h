#pragma once
// Metering: the usage.* transactions through which a provider's node records every use of a
// contract, so that use is controllable (quotas ordered by consensus) and measurable (billing,
// valuation). Both are submitted by the contract's PROVIDER and carry the consumer's signed
// UsageRequest (an Envelope under kUsageRequestContext, exact bytes as signed).
//
// "usage.reserve" (tds.ReserveBody; strict contracts only) reserves one call of quota for one
// request. It is refused unless the request could be served now: the contract is in effect
// (EffectiveState ACTIVE), the operation, purpose and columns are permitted, block time is in
// the window, the nonce is unused, and
//     calls_total + reserved_open < max_calls_total        (when set) and
//     calls_today + reserved_open < max_calls_per_day      (when set),
// i.e. every open reservation counts against the total AND against today's count, whatever
// day it was made (simple and conservative). Refusals over quota are RESOURCE_EXHAUSTED
// ("terms.max_calls_total: 100 of 100 calls used or reserved"). Because reservations are
// applied in ledger order, two nodes racing for the last call cannot both get it.
// A reservation is open while block height < expires_height (= height + ttl_blocks; 0 → 100,
// at most 10000). Expired reservations are released lazily and deterministically: every
// usage.* transaction on a contract first releases its reservations whose expires_height <=
// the block height (found in height order through the expiry indexes below), so
// UsageCounters.reserved_open read from state may still include reservations that expired
// since the contract was last touched; no quota decision ever counts them.
//
// "usage.record" (tds.UsageRecordBody) records one call with the provider's measurement.
// REJECTED (not logged) when it proves nothing about a real use: malformed body or measurement
// (ended_ms < started_ms, result_digest or input_digest neither empty nor 32 bytes), request
// envelope not signed by the contract's consumer, unknown contract, submitter not the
// provider, nonce not 16..64 bytes, or a nonce already used in the contract (replay) — except by
// the one reservation made for this very request, which the record consumes. Otherwise it is ALWAYS
// recorded; each broken term adds a tds.Violation {term, detail}:
//   state          the contract is not ACTIVE at block time (EffectiveState)
//   window         block time or measurement.started_ms outside [valid_from_ms, valid_until_ms)
//   operation, purpose, columns   not granted by the terms
//   calls_total    calls_total + reserved_open (others') + 1 > max_calls_total
//   calls_per_day  calls_today + reserved_open (others') + 1 > max_calls_per_day
//                  (a call consuming its own open reservation was counted when reserved and
//                  never breaks either quota)
//   rows_per_call  rows_out > max_rows_per_call (when set)
//   min_group_size operation "stats" and 0 < min_group_rows < min_group_size
//   metering       strict: no open reservation for this request (none, or it expired);
//                  batched: block time - measurement.ended_ms > batched_max_delay_ms
// Counters (UsageCounters) are updated in the same transaction: calls_total + 1, calls_day + 1
// (reset on a new UTC day of block time), rows_total + rows_out (saturating), and the consumed
// reservation leaves reserved_open. The record is written at UsageRecordKey(log index) with
// period = PeriodOf(block time) and its index keys (by_contract, by_pair, by_product, and
// violation when flagged). Result bytes: "recorded" or "recorded with N violation(s): t1, t2".

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "ledger/application.h"
#include "proto/contracts.pb.h"

namespace tds::contracts {

inline constexpr std::string_view kReserveTxType = "usage.reserve";
inline constexpr std::string_view kRecordTxType = "usage.record";

inline constexpr uint64_t kDefaultReservationTtlBlocks = 100;
inline constexpr uint64_t kMaxReservationTtlBlocks = 10000;
inline constexpr size_t kMinNonceBytes = 16;
inline constexpr size_t kMaxNonceBytes = 64;

// Expiry index of OPEN reservations, in expiry order per contract:
//   "usage/reservation_expiry/<contract id>/<be64 expires_height><reservation id>" → empty.
// Written with the reservation, deleted when it is consumed or released.
inline constexpr std::string_view kReservationExpiryPrefix = "usage/reservation_expiry/";
std::string ReservationExpiryKey(std::string_view contract_id, uint64_t expires_height,
                                 std::string_view reservation_id);
// Lower bound of the earliest expiry among the contract's open reservations (absent: none
// open), so a transaction scans the expiry index only when something may have expired:
//   "usage/reservation_next/<contract id>" → be64 height.
inline constexpr std::string_view kReservationNextExpiryPrefix = "usage/reservation_next/";
std::string ReservationNextExpiryKey(std::string_view contract_id);

// Registers usage.reserve and usage.record.
void RegisterMetering(ledger::Application& app);

// The consumer's signed request: an Envelope under kUsageRequestContext over the serialized
// request (what the SDK sends to the provider's gateway).
std::string SealUsageRequest(const SigningKey& consumer_key, const tds::UsageRequest& request);

// The reservation id of a request: hex SHA-256 of the envelope's payload (the signed bytes).
// InvalidArgument if `request_envelope` is not an Envelope.
absl::StatusOr<std::string> ReservationIdOf(std::string_view request_envelope);

// --- The checks of usage.reserve, shared with the node's metered gateway (node/gateway), which
// refuses a request before running it exactly as usage.reserve would. Each returns the
// refusal usage.reserve gives, message included. ---

// The terms `request` must meet at block time `block_time_ms`, in usage.reserve's order:
// operation, purpose and every column granted (PermissionDenied "terms.operations: 'x' is not
// permitted by contract c-… (allowed: 'psi')"), block time inside the window
// (FailedPrecondition "terms.valid_from_ms: ..."). The contract's state is checked before this
// (EffectiveState); quotas after it (CheckQuota).
absl::Status CheckRequestAgainstTerms(const tds::Contract& contract, const tds::Terms& terms,
                                      const tds::UsageRequest& request, int64_t block_time_ms);

// AlreadyExists "usage request nonce already used in contract c-…" when the nonce was used.
absl::Status CheckNonceUnused(const ledger::StateReader& state, std::string_view contract_id,
                              std::string_view nonce);

// Room for one more call: calls_total + reserved_open < max_calls_total and calls_today +
// reserved_open < max_calls_per_day (when set), else ResourceExhausted "terms.max_calls_total:
// 100 of 100 calls used or reserved in contract c-…". `counters` must have expired reservations
// released (CountersAt).
absl::Status CheckQuota(const tds::Contract& contract, const tds::Terms& terms,
                        const tds::UsageCounters& counters, int64_t block_time_ms);

// The contract's counters as a usage.* transaction at block `height` would see them: stored
// counters less the open reservations that have expired by then. Reads only.
absl::StatusOr<tds::UsageCounters> CountersAt(const ledger::StateReader& state,
                                              std::string_view contract_id, uint64_t height);

}  // namespace tds::contracts
