#pragma once
// Exact decimal arithmetic for joint statistics: values are parsed from their decimal text into
// a scaled 128-bit integer (units × 10^-scale), summed exactly and divided with half-even
// rounding. No floating point anywhere, so every node and every reference computes the same
// digits.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tds::compute::stats {

// Most fractional digits a value may carry (after its exponent is applied and trailing zeros
// dropped): 10^-18 is finer than any currency or measurement the catalog describes.
inline constexpr int kMaxScale = 18;

// units × 10^-scale, 0 <= scale <= kMaxScale, |units| < 10^37, scale minimal (units is not a
// multiple of 10 unless scale is 0).
struct Decimal {
  __int128 units = 0;
  int scale = 0;
};

// Parses -?D+(.D+)?([eE][+-]?D+)? (the JSON number grammar, which covers the connectors' int64
// and double text). InvalidArgument naming what is wrong — but never quoting `text`, which may
// be a provider's value — for anything else (NaN, Infinity, empty, "1.", ".5", "+1"), more
// than kMaxScale fractional digits, or a magnitude of 10^37 or more.
absl::StatusOr<Decimal> ParseDecimal(std::string_view text);

// `units` at `scale` expressed at `target` (>= scale): nullopt if that overflows 10^37.
std::optional<__int128> Rescale(__int128 units, int scale, int target);

// Exact text of units × 10^-scale with trailing fractional zeros dropped: "3.75", "42",
// "-0.5", "0".
std::string FormatDecimal(__int128 units, int scale);

// (units × 10^-scale) / divisor rounded half-even to `places` fractional digits, as text with
// exactly `places` of them ("12.500000"). REQUIRES: divisor > 0, 0 <= places <= kMaxScale.
// OutOfRange if an intermediate exceeds 128 bits.
absl::StatusOr<std::string> DivideRounded(__int128 units, int scale, uint64_t divisor, int places);

}  // namespace tds::compute::stats
