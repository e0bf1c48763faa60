#include "node/connectors/csv_source.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "node/connectors/csv_reader.h"
#include "node/connectors/source_util.h"
#include "node/connectors/value_text.h"

namespace tds::node {
namespace {

// Types a column may still be, as bits; inference clears the ones a value rules out.
enum TypeBit : unsigned {
  kInt64 = 1,
  kDouble = 2,
  kBool = 4,
  kDate = 8,
  kTimestamp = 16,
  kAll = 31,
};

unsigned Matching(const std::string& v, unsigned candidates) {
  unsigned out = 0;
  if ((candidates & kInt64) && IsInt64Text(v)) out |= kInt64;
  if ((candidates & kDouble) && ParseDoubleText(v)) out |= kDouble;
  if ((candidates & kBool) && ParseBoolText(v)) out |= kBool;
  if ((candidates & kDate) && IsDateText(v)) out |= kDate;
  if ((candidates & kTimestamp) && IsTimestampText(v)) out |= kTimestamp;
  return out;
}

std::string TypeOf(unsigned candidates, bool any_value) {
  if (!any_value) return "string";
  if (candidates & kInt64) return "int64";
  if (candidates & kDouble) return "double";
  if (candidates & kBool) return "bool";
  if (candidates & kDate) return "date";
  if (candidates & kTimestamp) return "timestamp";
  return "string";
}

// The value of a non-empty field as its column's type, or an error naming line and column.
absl::StatusOr<std::string> Convert(const CsvReader& reader, const SourceColumn& column,
                                    const std::string& v) {
  bool ok = true;
  std::string out;
  if (column.type == "int64") {
    ok = IsInt64Text(v);
    out = v;
  } else if (column.type == "double") {
    const auto d = ParseDoubleText(v);
    ok = d.has_value();
    if (ok) out = CanonicalDouble(*d);
  } else if (column.type == "bool") {
    const auto b = ParseBoolText(v);
    ok = b.has_value();
    if (ok) out = *b ? "true" : "false";
  } else if (column.type == "date") {
    ok = IsDateText(v);
    out = v;
  } else if (column.type == "timestamp") {
    ok = IsTimestampText(v);
    out = v;
  } else {
    out = v;
  }
  if (!ok) {
    return absl::FailedPreconditionError(
        absl::StrCat(reader.Where(), "column \"", column.name, "\": \"", v.substr(0, 64),
                     "\" is not of type ", column.type,
                     " (the type inferred when the source was read; "
                     "has the file changed?)"));
  }
  return out;
}

class CsvSource : public DataSource {
 public:
  CsvSource(std::string path, char delimiter, std::vector<std::string> header)
      : path_(std::move(path)), delimiter_(delimiter), header_(std::move(header)) {}

  absl::StatusOr<std::vector<SourceColumn>> Schema() override {
    TDS_RETURN_IF_ERROR(Infer());
    return columns_;
  }

  absl::StatusOr<uint64_t> CountRows() override {
    TDS_RETURN_IF_ERROR(Infer());
    return rows_;
  }

  absl::Status Scan(const std::vector<std::string>& columns, size_t chunk_rows,
                    const std::function<bool(const std::vector<Row>&)>& fn) override {
    TDS_RETURN_IF_ERROR(CheckChunkRows(path_, chunk_rows));
    TDS_RETURN_IF_ERROR(Infer());
    TDS_ASSIGN_OR_RETURN(const std::vector<size_t> index, ResolveColumns(path_, columns_, columns));
    TDS_ASSIGN_OR_RETURN(auto reader, OpenAtFirstRow());
    std::vector<Row> chunk;
    chunk.reserve(chunk_rows);
    for (;;) {
      TDS_ASSIGN_OR_RETURN(const bool more, reader->Next());
      if (!more) break;
      TDS_RETURN_IF_ERROR(CheckWidth(*reader));
      Row row;
      row.reserve(index.size());
      for (const size_t i : index) {
        const std::string& v = reader->field(i);
        if (v.empty()) {
          row.emplace_back(std::nullopt);
        } else {
          TDS_ASSIGN_OR_RETURN(std::string value, Convert(*reader, columns_[i], v));
          row.emplace_back(std::move(value));
        }
      }
      chunk.push_back(std::move(row));
      if (chunk.size() == chunk_rows) {
        if (!fn(chunk)) return absl::OkStatus();
        chunk.clear();
      }
    }
    if (!chunk.empty()) fn(chunk);
    return absl::OkStatus();
  }

 private:
  // A reader positioned after the header, which must still be the one seen at open.
  absl::StatusOr<std::unique_ptr<CsvReader>> OpenAtFirstRow() const {
    TDS_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path_, delimiter_));
    TDS_ASSIGN_OR_RETURN(const bool any, reader->Next());
    bool same = any && reader->field_count() == header_.size();
    for (size_t i = 0; same && i < header_.size(); ++i) same = reader->field(i) == header_[i];
    if (!same) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, " line 1: the header changed since the source was opened"));
    }
    return reader;
  }

  absl::Status CheckWidth(const CsvReader& reader) const {
    if (reader.field_count() == header_.size()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(reader.Where(), reader.field_count(), " fields, header has ", header_.size()));
  }

  // Reads the whole file once to infer column types and count rows.
  absl::Status Infer() {
    std::lock_guard<std::mutex> lock(mu_);
    if (inferred_) return absl::OkStatus();
    TDS_ASSIGN_OR_RETURN(auto reader, OpenAtFirstRow());
    std::vector<unsigned> candidates(header_.size(), kAll);
    std::vector<bool> any_value(header_.size(), false);
    uint64_t rows = 0;
    for (;;) {
      TDS_ASSIGN_OR_RETURN(const bool more, reader->Next());
      if (!more) break;
      TDS_RETURN_IF_ERROR(CheckWidth(*reader));
      ++rows;
      for (size_t i = 0; i < header_.size(); ++i) {
        const std::string& v = reader->field(i);
        if (v.empty()) continue;
        any_value[i] = true;
        if (candidates[i] != 0) candidates[i] = Matching(v, candidates[i]);
      }
    }
    columns_.clear();
    for (size_t i = 0; i < header_.size(); ++i) {
      columns_.push_back({header_[i], TypeOf(candidates[i], any_value[i])});
    }
    rows_ = rows;
    inferred_ = true;
    return absl::OkStatus();
  }

  const std::string path_;
  const char delimiter_;
  const std::vector<std::string> header_;
  std::mutex mu_;
  // Set once by Infer(), under mu_; read-only afterwards.
  bool inferred_ = false;
  std::vector<SourceColumn> columns_;
  uint64_t rows_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DataSource>> OpenCsvSource(const tds::DataSourceConfig& config) {
  const std::string& path = config.path();
  if (path.empty()) return absl::InvalidArgumentError("csv source: path is required");
  if (config.delimiter().size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": delimiter must be one character, got \"", config.delimiter(), "\""));
  }
  const char delimiter = config.delimiter().empty() ? ',' : config.delimiter()[0];
  TDS_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path, delimiter));
  TDS_ASSIGN_OR_RETURN(const bool any, reader->Next());
  if (!any) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the file is empty; a header row is required"));
  }
  std::vector<std::string> header;
  std::vector<SourceColumn> named;
  for (size_t i = 0; i < reader->field_count(); ++i) {
    header.push_back(reader->field(i));
    named.push_back({reader->field(i), ""});
  }
  TDS_RETURN_IF_ERROR(CheckColumnNames(reader->Where() + "header", named, config.id_column()));
  return std::make_unique<CsvSource>(path, delimiter, std::move(header));
}

}  // namespace tds::node
