#pragma once
// Usage terms: the machine-enforceable part of a contract (tds.Terms, proto/contracts.proto),
// checked identically by every validator. Pure functions: no state, no clock but the block time
// the caller passes in.
//
// The split between what is capped and what is negotiated (contracts/README.md, "Terms"):
//  - Permissions are capped by the product's offer: operations, purposes, columns, validity
//    window, call and row quotas, minimum group size and metering can only be equal to or
//    narrower than the offer (and the classification rules) allow.
//  - The price is negotiated: it must only be well formed (currency of the offer, amounts >= 0,
//    tiers ascending with only the last unbounded), never compared to the list price.

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "common/bytes.h"
#include "proto/catalog.pb.h"
#include "proto/contracts.pb.h"

namespace tds::contracts {

// Domain separator of the terms digest.
inline constexpr std::string_view kTermsDigestDomain = "tds-terms-v1";

// Anonymous query: the bucket size k a contract gets when its terms.query_k is 0.
inline constexpr uint32_t kDefaultQueryK = 100;
inline uint64_t QueryKOf(const tds::Terms& terms) {
  return terms.query_k() == 0 ? kDefaultQueryK : terms.query_k();
}

// enclave_sql: the highest product level whose data a contract may release to the software
// enclave platform (whose "attestation" is the host node's own signature: its operator could read
// the enclave's memory). Above it only hardware platforms may be named.
inline constexpr uint32_t kMaxSoftwareEnclaveLevel = 3;
// enclave_sql: the most result rows an enclave output policy may allow.
inline constexpr uint64_t kMaxEnclaveRows = 1'000'000;

// The digest both parties sign: SHA-256("tds-terms-v1" || 0x00 || terms_bytes), over the exact
// serialized Terms bytes the proposer signed (never a re-serialization).
Hash TermsDigest(std::string_view terms_bytes);

// OK if a contract may grant `terms` on `product` (the version the caller read, normally the
// latest) at block time `block_time_ms`. Otherwise InvalidArgument whose message starts with
// the term that failed ("terms.max_calls_total: 500 exceeds the offer's 100"). Checks, in order:
// unknown fields, operations, classification, purposes, columns, window, quotas, group size,
// metering, price, PSI protocol (auto, ecdh or ot; ot never with psi_output size_only), query k
// (QueryKOf(terms) at least the offer's query_k when the offer sets one), enclave terms (set
// exactly when enclave_sql is granted: SQL and binary digests 64 lowercase hex, the binary one of
// product.enclave_measurements; output columns SQL identifiers, none an identifier column; the
// count column among them when min_group_size > 0; max_rows 1..kMaxEnclaveRows; identifier
// columns among terms.columns; platforms known, and software only up to
// kMaxSoftwareEnclaveLevel).
absl::Status ValidateTerms(const tds::Terms& terms, const tds::Product& product,
                           int64_t block_time_ms);

}  // namespace tds::contracts
