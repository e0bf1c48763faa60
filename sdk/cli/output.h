#pragma once
// One formatter for every `tds` listing: `-o table|json|csv`.
//
//   table  aligned columns under upper-case headers, "-" for an empty cell (for people)
//   json   an array of objects, each the row's protobuf message in the proto3 JSON mapping
//          with the proto field names (snake_case), default values included; 64-bit integers
//          are strings and bytes are base64, as that mapping says
//   csv    RFC 4180: a header line, then one line per row; a field is quoted when it holds a
//          comma, a double quote, CR, LF or leading/trailing space, with quotes doubled
//
// The table and CSV columns are chosen per command; the JSON carries the whole message.

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace tds::cli {

enum class OutputFormat { kTable, kJson, kCsv };

// "table", "json" or "csv"; InvalidArgument naming the value otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name);

// Adds `-o,--output table|json|csv` (default table) to `sub`, stored in `*format`.
void AddOutputOption(CLI::App* sub, OutputFormat* format);

// One CSV field, quoted only when needed (see the top of this file).
std::string CsvField(std::string_view value);

// The message in the proto3 JSON mapping (field names as in the .proto, defaults included),
// compact. An empty object if the message cannot be converted.
std::string MessageToJson(const google::protobuf::Message& message);

// Rows of a listing, printed in any OutputFormat.
class Listing {
 public:
  explicit Listing(std::vector<std::string> columns);

  // REQUIRES: cells.size() == number of columns. `message` is what the JSON form shows.
  void AddRow(std::vector<std::string> cells, const google::protobuf::Message& message);

  size_t size() const { return rows_.size(); }
  void Print(std::ostream& out, OutputFormat format) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::string> json_;  // one compact object per row
};

// Cell helpers shared by the commands.
// "a,b,c" (the table and CSV form of a repeated field).
std::string JoinList(const google::protobuf::RepeatedPtrField<std::string>& items,
                     std::string_view sep = ",");
// ISO 8601 UTC with milliseconds, "2025-03-14T09:26:53.589Z"; "-" for ms <= 0.
std::string FormatTimeMs(int64_t ms);
// Lowercase hex, "-" when empty.
std::string HexOrDash(const std::string& bytes);

}  // namespace tds::cli
