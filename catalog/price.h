#pragma once
// Well-formedness of a price, shared by product offers (catalog) and negotiated terms
// (contracts): the permissions of a contract are capped by the offer, the price is negotiated,
// but both must be well formed.

#include <string_view>

#include "absl/status/status.h"
#include "proto/contracts.pb.h"

namespace tds::catalog {

inline constexpr int kMaxPriceTiers = 32;

// ISO 4217 form: three uppercase letters.
bool IsCurrencyCode(std::string_view code);

// Amounts >= 0; at most kMaxPriceTiers tiers with strictly ascending up_to_calls and only the
// last unbounded; tiers and per_call are alternatives; a currency code once anything is priced;
// no unknown fields (the parties would sign terms no validator enforces). Errors are
// InvalidArgument "<field>.<component>: <what>", e.g. "terms.price.per_row: -5 is negative".
absl::Status ValidatePrice(const tds::Price& price, std::string_view field);

}  // namespace tds::catalog
