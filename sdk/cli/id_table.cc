#include "sdk/cli/id_table.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file.h"

namespace tds::cli {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Reads one record starting at `*pos`; fills `fields` and advances `*pos` past its line
// break. `*line` counts physical lines (quoted fields may span several).
absl::Status NextRecord(const std::string& text, const std::string& name, size_t* pos,
                        uint64_t* line, std::vector<std::string>* fields) {
  fields->clear();
  const uint64_t first_line = *line;
  std::string field;
  size_t i = *pos;
  while (true) {
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (true) {
        if (i >= text.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat(name, " line ", first_line, ": a quoted field is never closed"));
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++*line;
        field += text[i++];
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' &&
          !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " line ", *line, ": unexpected character after a closing quote"));
      }
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\n' &&
             !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
        if (text[i] == '"') {
          return absl::InvalidArgumentError(absl::StrCat(
              name, " line ", *line, ": a quote inside an unquoted field (quote the field)"));
        }
        field += text[i++];
      }
    }
    fields->push_back(std::move(field));
    field.clear();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (i < text.size()) {  // LF or CR LF
      i += text[i] == '\r' ? 2 : 1;
      ++*line;
    }
    *pos = i;
    return absl::OkStatus();
  }
}

bool AtBlankLine(const std::string& text, size_t pos) {
  return text[pos] == '\n' || (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n');
}

}  // namespace

absl::StatusOr<IdTable> IdTable::Parse(std::string text, const std::string& name,
                                       const std::string& column) {
  IdTable table;
  table.text_ = std::move(text);
  table.name_ = name;
  const std::string& t = table.text_;
  size_t pos = t.compare(0, kBom.size(), kBom) == 0 ? kBom.size() : 0;
  uint64_t line = 1;
  if (pos >= t.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": empty; expected a header row, then one row per id"));
  }
  table.header_span_.begin = pos;
  if (absl::Status s = NextRecord(t, name, &pos, &line, &table.header_); !s.ok()) return s;
  table.header_span_.end = pos;
  if (column.empty()) {
    table.column_index_ = 0;
  } else {
    auto it = std::find(table.header_.begin(), table.header_.end(), column);
    if (it == table.header_.end()) {
      std::string have;
      for (const std::string& h : table.header_)
        absl::StrAppend(&have, have.empty() ? "" : ", ", h);
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": no column '", column, "' in the header (columns: ", have, ")"));
    }
    table.column_index_ = static_cast<size_t>(it - table.header_.begin());
  }

  std::vector<std::string> fields;
  while (pos < t.size()) {
    if (AtBlankLine(t, pos)) {
      pos += t[pos] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    const uint64_t record_line = line;
    const size_t begin = pos;
    if (absl::Status s = NextRecord(t, name, &pos, &line, &fields); !s.ok()) return s;
    if (fields.size() != table.header_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(name, " line ", record_line, ": ",
                                                     fields.size(), " field(s), the header has ",
                                                     table.header_.size()));
    }
    std::string& id = fields[table.column_index_];
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " line ", record_line, ": empty id in column '", table.column(), "'"));
    }
    table.ids_.push_back(std::move(id));
    table.records_.push_back({begin, pos});
  }
  return table;
}

absl::StatusOr<std::vector<double>> IdTable::Numbers(const std::string& column) const {
  auto it = std::find(header_.begin(), header_.end(), column);
  if (it == header_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": no column '", column,
                     "' in the header (columns: ", absl::StrJoin(header_, ", "), ")"));
  }
  const size_t index = static_cast<size_t>(it - header_.begin());
  std::vector<double> out;
  out.reserve(records_.size());
  std::vector<std::string> fields;
  for (size_t r = 0; r < records_.size(); ++r) {
    size_t pos = records_[r].begin;
    uint64_t line = 0;
    if (absl::Status s = NextRecord(text_, name_, &pos, &line, &fields); !s.ok()) return s;
    double v = 0;
    if (!absl::SimpleAtod(fields[index], &v) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat(name_, ": column '", column, "' of record ",
                                                     r + 1, " ('", ids_[r], "'): '", fields[index],
                                                     "' is not a number"));
    }
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<IdTable> IdTable::Read(const std::string& path, const std::string& column) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return Parse(*std::move(text), path, column);
}

std::string IdTable::Record(const Span& span) const {
  std::string out = text_.substr(span.begin, span.end - span.begin);
  if (out.empty() || out.back() != '\n') out += '\n';  // the file's last record
  return out;
}

std::string IdTable::Select(const std::vector<uint64_t>& positions) const {
  std::string out = Record(header_span_);
  for (uint64_t p : positions) {
    if (p < records_.size()) out += Record(records_[p]);
  }
  return out;
}

}  // namespace tds::cli
