#pragma once
// Validation of query request fields before they are used (ids, pages, cursors, periods).
// Every refusal is InvalidArgument naming the field: "page.limit: 5000 exceeds the limit of
// 1000", "contract_id: expected \"c-\" and 32 lowercase hex characters, got \"x\"".

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/query_service.pb.h"

namespace tds::node {

inline constexpr uint32_t kDefaultPageLimit = 50;
inline constexpr uint32_t kMaxPageLimit = 1000;

// page.limit: 0 → kDefaultPageLimit; more than kMaxPageLimit refused.
absl::StatusOr<size_t> PageLimit(const tds::Page& page);

// Member ids: [a-z0-9][a-z0-9._-]{0,63}. Empty is refused only when `required`.
absl::Status CheckMemberId(std::string_view field, std::string_view value, bool required);
// Product ids: [a-z0-9][a-z0-9._-]{0,127}.
absl::Status CheckProductId(std::string_view field, std::string_view value, bool required);
// Contract ids: "c-" followed by 32 lowercase hex characters.
absl::Status CheckContractId(std::string_view field, std::string_view value, bool required);
// "YYYY-MM" with a month 01..12.
absl::Status CheckPeriod(std::string_view field, std::string_view value, bool required);

// A cursor that is the decimal of the last index or id returned; "" → 0.
absl::StatusOr<uint64_t> ParseNumericCursor(std::string_view field, std::string_view cursor);

}  // namespace tds::node
