#include "compute/enclave/row_format.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace tds::compute::enclave {
namespace {

constexpr uint8_t kNull = 0, kInteger = 1, kReal = 2, kText = 3;

uint8_t TagOf(ColumnType t) {
  switch (t) {
    case ColumnType::kInteger:
      return kInteger;
    case ColumnType::kReal:
      return kReal;
    case ColumnType::kText:
      return kText;
  }
  return 0xff;
}

const char* TagName(uint8_t tag) {
  switch (tag) {
    case kInteger:
      return "an INTEGER";
    case kReal:
      return "a REAL";
    case kText:
      return "a TEXT";
  }
  return "an unknown";
}

}  // namespace

void RowWriter::Null() { out_->push_back(static_cast<char>(kNull)); }
void RowWriter::Integer(int64_t v) {
  out_->push_back(static_cast<char>(kInteger));
  PutFixed64BE(out_, static_cast<uint64_t>(v));
}
void RowWriter::Real(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  out_->push_back(static_cast<char>(kReal));
  PutFixed64BE(out_, bits);
}
void RowWriter::Text(std::string_view v) {
  out_->push_back(static_cast<char>(kText));
  PutFixed32BE(out_, static_cast<uint32_t>(v.size()));
  out_->append(v);
}

absl::Status RowParser::ParseRow(std::string_view data, size_t* pos, bool* complete) {
  size_t p = *pos;
  *complete = false;
  for (size_t c = 0; c < schema_.columns.size(); ++c) {
    if (p >= data.size()) return absl::OkStatus();
    const Column& col = schema_.columns[c];
    const uint8_t tag = static_cast<uint8_t>(data[p]);
    ValueView& v = row_[c];
    if (tag == kNull) {
      v.null = true;
      ++p;
      continue;
    }
    if (tag != TagOf(col.type)) {
      return absl::DataLossError(absl::StrCat(
          "input '", schema_.name, "' row ", rows_ + 1, " column '", col.name, "': ", TagName(tag),
          " value (tag ", tag, ") where ", ColumnTypeName(col.type), " is declared"));
    }
    v.null = false;
    if (tag == kText) {
      if (data.size() - p < 5) return absl::OkStatus();
      const uint32_t len = DecodeFixed32BE(data.data() + p + 1);
      if (len > kMaxTextBytes) {
        return absl::DataLossError(absl::StrCat("input '", schema_.name, "' row ", rows_ + 1,
                                                " column '", col.name, "': text of ", len,
                                                " bytes exceeds ", kMaxTextBytes));
      }
      if (data.size() - p - 5 < len) return absl::OkStatus();
      v.text = data.substr(p + 5, len);
      p += 5 + len;
    } else {
      if (data.size() - p < 9) return absl::OkStatus();
      const uint64_t bits = DecodeFixed64BE(data.data() + p + 1);
      if (tag == kInteger) {
        v.integer = static_cast<int64_t>(bits);
      } else {
        std::memcpy(&v.real, &bits, 8);
      }
      p += 9;
    }
  }
  *pos = p;
  *complete = true;
  return absl::OkStatus();
}

absl::Status RowParser::Finish() const {
  if (pending_.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("input '", schema_.name, "' ended inside row ", rows_ + 1,
                                          " (", pending_.size(), " bytes of an unfinished row)"));
}

}  // namespace tds::compute::enclave
