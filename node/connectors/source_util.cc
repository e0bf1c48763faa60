#include "node/connectors/source_util.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace tds::node {
namespace {

std::string ColumnList(const std::vector<SourceColumn>& schema) {
  std::string out;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (i == 20) {
      absl::StrAppend(&out, ", ... (", schema.size(), " in all)");
      break;
    }
    absl::StrAppend(&out, i == 0 ? "" : ", ", schema[i].name);
  }
  return out;
}

bool IsIdentifier(const std::string& s, size_t begin, size_t end) {
  if (begin >= end) return false;
  for (size_t i = begin; i < end; ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > begin && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<size_t>> ResolveColumns(const std::string& label,
                                                   const std::vector<SourceColumn>& schema,
                                                   const std::vector<std::string>& requested) {
  std::vector<size_t> out;
  out.reserve(requested.size());
  for (const std::string& name : requested) {
    size_t i = 0;
    while (i < schema.size() && schema[i].name != name) ++i;
    if (i == schema.size()) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": unknown column \"", name,
                                                     "\" (columns: ", ColumnList(schema), ")"));
    }
    out.push_back(i);
  }
  return out;
}

absl::Status CheckColumnNames(const std::string& label, const std::vector<SourceColumn>& schema,
                              const std::string& id_column) {
  std::set<std::string> seen;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": column ", i + 1, " has an empty name"));
    }
    if (!seen.insert(schema[i].name).second) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": column \"", schema[i].name,
                                                     "\" appears twice (names must be unique)"));
    }
  }
  if (!id_column.empty() && !seen.count(id_column)) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": id_column \"", id_column,
                     "\" is not a column (columns: ", ColumnList(schema), ")"));
  }
  return absl::OkStatus();
}

bool IsPlainTableName(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos) return IsIdentifier(name, 0, name.size());
  return IsIdentifier(name, 0, dot) && IsIdentifier(name, dot + 1, name.size());
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteTableName(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos) return QuoteIdentifier(name);
  return absl::StrCat(QuoteIdentifier(name.substr(0, dot)), ".",
                      QuoteIdentifier(name.substr(dot + 1)));
}

absl::Status CheckChunkRows(const std::string& label, size_t chunk_rows) {
  if (chunk_rows > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(label, ": chunk_rows must be at least 1"));
}

}  // namespace tds::node
