#pragma once
// The typed row format inputs are streamed in (the plaintext inside a sealed stream):
//   input := row*
//   row   := value{column_count}                (in the schema's column order)
//   value := 0x00                                NULL
//          | 0x01 int:u64 (two's complement)     INTEGER
//          | 0x02 bits:u64 (IEEE 754 binary64)   REAL
//          | 0x03 length:u32 bytes[length]       TEXT (at most kMaxTextBytes)
// (integers big-endian). Each non-NULL value must have its column's declared type. Rows may
// straddle chunk boundaries: the parser keeps only the unfinished row between chunks.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "compute/enclave/job_spec.h"

namespace tds::compute::enclave {

inline constexpr size_t kMaxTextBytes = 1 << 20;

// Appends values to `*out` (which must outlive the writer). The caller writes one value per
// column per row, in schema order.
class RowWriter {
 public:
  explicit RowWriter(std::string* out) : out_(out) {}
  void Null();
  void Integer(int64_t v);
  void Real(double v);
  void Text(std::string_view v);  // REQUIRES: v.size() <= kMaxTextBytes

 private:
  std::string* const out_;
};

// One parsed value; `text` points into the parser's buffer, valid during the row callback.
struct ValueView {
  bool null = true;
  int64_t integer = 0;
  double real = 0;
  std::string_view text;
};

class RowParser {
 public:
  // `schema` must outlive the parser.
  explicit RowParser(const InputSchema& schema) : schema_(schema), row_(schema.columns.size()) {}

  // Parses every complete row of (unfinished row so far || bytes) and calls
  // `on_row(const std::vector<ValueView>&) -> absl::Status` for each; a failing callback stops
  // the feed with its status. A value of the wrong type is DataLoss naming row and column.
  template <typename OnRow>
  absl::Status Feed(std::string_view bytes, OnRow&& on_row) {
    pending_.append(bytes);
    std::string_view data = pending_;
    size_t pos = 0;
    for (;;) {
      bool complete = false;
      size_t end = pos;
      absl::Status s = ParseRow(data, &end, &complete);
      if (!s.ok()) return s;
      if (!complete) break;
      ++rows_;
      s = on_row(row_);
      if (!s.ok()) return s;
      pos = end;
    }
    pending_.erase(0, pos);
    return absl::OkStatus();
  }
  // DataLoss if the input ended inside a row.
  absl::Status Finish() const;
  uint64_t rows() const { return rows_; }

 private:
  // Parses one row starting at *pos; on success sets *complete and advances *pos past it.
  // Leaves *complete false when `data` ends inside the row.
  absl::Status ParseRow(std::string_view data, size_t* pos, bool* complete);

  const InputSchema& schema_;
  std::vector<ValueView> row_;
  std::string pending_;
  uint64_t rows_ = 0;
};

}  // namespace tds::compute::enclave
