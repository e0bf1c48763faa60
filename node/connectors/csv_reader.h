#pragma once
// A streaming RFC 4180 record reader: reads the file in fixed-size blocks and hands back one
// record at a time, so memory is bounded by the longest record, never by the file.
// The accepted syntax (csv_source.h has the user-facing summary):
//   file    := [BOM] { blank-line | record } EOF
//   record  := field { DELIM field } ( LF | CR LF | EOF )
//   field   := quoted | unquoted
//   quoted  := '"' { any byte but '"' | '""' } '"'     (may contain DELIM, CR and LF)
//   unquoted:= { any byte but DELIM, '"', LF; CR only when not followed by LF or EOF }
// A '"' inside an unquoted field, or anything but DELIM / end of record after a closing quote,
// is an error naming the line.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fd.h"

namespace tds::node {

class CsvReader {
 public:
  // Longest record accepted (bytes of field content plus delimiters); a longer one is an
  // error, which also catches a quote that is never closed in a large file.
  static constexpr size_t kMaxRecordBytes = size_t{16} << 20;

  // Opens `path` for reading. `delimiter` must not be '"', CR or LF.
  static absl::StatusOr<std::unique_ptr<CsvReader>> Open(const std::string& path, char delimiter);

  // Reads the next record. Returns false at end of file. After true, fields 0..field_count()-1
  // hold the record (valid until the next call).
  absl::StatusOr<bool> Next();
  size_t field_count() const { return count_; }
  const std::string& field(size_t i) const { return fields_[i]; }
  // 1-based line on which the last record returned starts.
  uint64_t record_line() const { return record_line_; }
  // "<path> line <n>: " for the last record, to prefix errors with.
  std::string Where() const;

 private:
  CsvReader(std::string path, char delimiter, int fd);
  int Get();   // next byte, or -1 at end of file / on a read error (kept in read_error_)
  int Peek();  // next byte without consuming it
  bool Fill();
  std::string* NewField();
  absl::Status Error(uint64_t line, const std::string& what) const;
  absl::Status TooLong() const;

  const std::string path_;
  const char delimiter_;
  Fd fd_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  bool started_ = false;
  absl::Status read_error_;
  uint64_t line_ = 1;
  uint64_t record_line_ = 0;
  size_t record_bytes_ = 0;
  std::vector<std::string> fields_;  // reused across records to keep their capacity
  size_t count_ = 0;
};

}  // namespace tds::node
