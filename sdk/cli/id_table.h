#pragma once
// The input of `tds run`: a CSV file of the caller's records, one of whose columns holds the ids
// to intersect. The records are kept as the exact bytes they were read as, so the matched rows
// are written back unchanged (quoting, line ends and all).
//
// Accepted syntax (RFC 4180):
//   file    := [BOM] header { record | blank-line } EOF
//   record  := field { ',' field } ( LF | CR LF | EOF )
//   field   := '"' { any byte but '"' | '""' } '"'  |  { any byte but ',', '"', CR, LF }
// Every record must have the header's number of fields, and a non-empty id. Errors name the
// file, the line and what is wrong ("ids.csv line 7: 2 fields, the header has 3").

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tds::cli {

class IdTable {
 public:
  // Parses `text` (read from `name`, which errors mention). `column` is the id column's header
  // name; empty = the first column.
  static absl::StatusOr<IdTable> Parse(std::string text, const std::string& name,
                                       const std::string& column);
  // Reads and parses the file at `path`.
  static absl::StatusOr<IdTable> Read(const std::string& path, const std::string& column);

  const std::vector<std::string>& header() const { return header_; }
  const std::string& column() const { return header_[column_index_]; }
  // The ids, one per record, in file order (duplicates kept).
  const std::vector<std::string>& ids() const { return ids_; }

  // The values of `column`, one per record, as finite numbers (labels and features of the joint
  // operations). Errors name the file, the column and the record.
  absl::StatusOr<std::vector<double>> Numbers(const std::string& column) const;

  // The header and the records at `positions` (indexes into ids(), ascending or not), each as
  // read, every one ending with a line break.
  std::string Select(const std::vector<uint64_t>& positions) const;

 private:
  IdTable() = default;
  // Bytes [begin, end) of text_ holding a record and its line break (if any).
  struct Span {
    size_t begin = 0;
    size_t end = 0;
  };
  std::string Record(const Span& span) const;

  std::string text_;
  std::string name_;
  std::vector<std::string> header_;
  size_t column_index_ = 0;
  Span header_span_;
  std::vector<Span> records_;
  std::vector<std::string> ids_;
};

}  // namespace tds::cli
