#pragma once
// The text form of each catalog type in a Row (data_source.h), shared by every connector, so a
// value reads the same whichever source it came from:
//   int64      -?(0|[1-9][0-9]*) within [-2^63, 2^63)         e.g. "-42"
//   double     shortest text that reads back to the same double; "NaN", "Infinity", "-Infinity"
//   bool       "true" | "false"
//   date       YYYY-MM-DD, a real calendar date                 e.g. "2024-02-29"
//   timestamp  ISO 8601: YYYY-MM-DD(T| )HH:MM[:SS[.fraction]][Z|(+|-)HH[:MM]|(+|-)HHMM]
//   string     the text itself
//   bytes      the raw bytes themselves (not hex)

#include <optional>
#include <string>
#include <string_view>

namespace tds::node {

// One of int64, double, string, bool, date, timestamp, bytes.
bool IsCatalogType(std::string_view type);

// Canonical int64 text only: no sign but '-', no leading zeros, no "-0", in range.
bool IsInt64Text(std::string_view s);

// A JSON number (RFC 8259 grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) that is a
// finite double. Leading zeros ("007") and other spellings ("1.", ".5", "+1", "0x10") are not
// numbers here, so identifiers such as zip codes stay strings.
std::optional<double> ParseDoubleText(std::string_view s);

// The canonical double text (see the table above).
std::string CanonicalDouble(double v);

// "true" / "false" in any letter case.
std::optional<bool> ParseBoolText(std::string_view s);

bool IsDateText(std::string_view s);
bool IsTimestampText(std::string_view s);

}  // namespace tds::node
