#include "sdk/cli/output.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/bytes.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace tds::cli {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// A table cell on one line: newlines and tabs become spaces; empty becomes "-".
std::string TableCell(const std::string& value) {
  if (value.empty()) return "-";
  std::string out = value;
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out;
}

// Display width in terminal columns: counts UTF-8 code points (not bytes), so Chinese titles
// do not over-pad; wide glyphs may still misalign slightly.
size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

void PrintTable(std::ostream& out, const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) {
    out << "(none)\n";
    return;
  }
  std::vector<std::string> header;
  for (const std::string& c : columns) header.push_back(Upper(c));
  std::vector<size_t> width(columns.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) width[i] = DisplayWidth(header[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], DisplayWidth(TableCell(row[i])));
    }
  }
  auto print_line = [&](const std::vector<std::string>& cells, bool raw) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      std::string cell = raw ? cells[i] : TableCell(cells[i]);
      line += cell;
      if (i + 1 < cells.size()) line += std::string(width[i] - DisplayWidth(cell) + 2, ' ');
    }
    out << line << "\n";
  };
  print_line(header, true);
  for (const auto& row : rows) print_line(row, false);
}

void PrintCsv(std::ostream& out, const std::vector<std::string>& columns,
              const std::vector<std::vector<std::string>>& rows) {
  auto print_line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out << ',';
      out << CsvField(cells[i]);
    }
    out << "\r\n";
  };
  print_line(columns);
  for (const auto& row : rows) print_line(row);
}

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError("--output \"" + std::string(name) +
                                    "\": expected table, json or csv");
}

void AddOutputOption(CLI::App* sub, OutputFormat* format) {
  sub->add_option_function<std::string>(
         "-o,--output",
         [format](const std::string& value) {
           absl::StatusOr<OutputFormat> f = ParseOutputFormat(value);
           if (!f.ok()) throw CLI::ValidationError(std::string(f.status().message()));
           *format = *f;
         },
         "Output format: table (default), json (array of objects) or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
}

std::string CsvField(std::string_view value) {
  bool quote = !value.empty() && (value.front() == ' ' || value.back() == ' ');
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
  }
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  return json;
}

Listing::Listing(std::vector<std::string> columns) : columns_(std::move(columns)) {}

void Listing::AddRow(std::vector<std::string> cells, const google::protobuf::Message& message) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
  json_.push_back(MessageToJson(message));
}

void Listing::Print(std::ostream& out, OutputFormat format) const {
  switch (format) {
    case OutputFormat::kTable:
      PrintTable(out, columns_, rows_);
      break;
    case OutputFormat::kCsv:
      PrintCsv(out, columns_, rows_);
      break;
    case OutputFormat::kJson: {
      nlohmann::json array = nlohmann::json::array();
      for (const std::string& object : json_) {
        array.push_back(nlohmann::json::parse(object, nullptr, /*allow_exceptions=*/false));
      }
      out << array.dump(2) << "\n";
      break;
    }
  }
}

std::string JoinList(const google::protobuf::RepeatedPtrField<std::string>& items,
                     std::string_view sep) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string FormatTimeMs(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(buf, n) + frac;
}

std::string HexOrDash(const std::string& bytes) { return bytes.empty() ? "-" : HexEncode(bytes); }

}  // namespace tds::cli
