#include "compute/enclave/job_spec.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "compute/enclave/codec.h"

namespace tds::compute::enclave {
namespace {

constexpr std::string_view kMagic = "TDSJ";
constexpr uint8_t kVersion = 1;

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

absl::Status CheckName(std::string_view name, std::string_view what) {
  if (IsIdentifier(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "job spec: ", std::string(what), " '", std::string(name),
      "' is not an SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most ", kMaxNameBytes, " bytes)"));
}

}  // namespace

const char* ColumnTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kInteger:
      return "INTEGER";
    case ColumnType::kReal:
      return "REAL";
    case ColumnType::kText:
      return "TEXT";
  }
  return "?";
}

absl::Status ValidateJobSpec(const JobSpec& spec) {
  if (spec.sql.empty() && spec.probe.empty()) {
    return absl::InvalidArgumentError("job spec: empty SQL text");
  }
  if (spec.sql.size() > kMaxSqlBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("job spec: SQL text of ", spec.sql.size(), " bytes exceeds ", kMaxSqlBytes));
  }
  if (spec.inputs.size() > kMaxInputs) {
    return absl::InvalidArgumentError(
        absl::StrCat("job spec: ", spec.inputs.size(), " inputs exceed the limit ", kMaxInputs));
  }
  std::set<std::string> tables;
  for (const InputSchema& in : spec.inputs) {
    TDS_RETURN_IF_ERROR(CheckName(in.name, "input name"));
    if (!tables.insert(in.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("job spec: input name '", in.name, "' appears twice"));
    }
    if (in.columns.empty() || in.columns.size() > kMaxColumns) {
      return absl::InvalidArgumentError(absl::StrCat("job spec: input '", in.name, "' has ",
                                                     in.columns.size(), " columns (1..",
                                                     kMaxColumns, " allowed)"));
    }
    std::set<std::string> cols;
    for (const Column& c : in.columns) {
      TDS_RETURN_IF_ERROR(CheckName(c.name, absl::StrCat("column name of input ", in.name)));
      if (!cols.insert(c.name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("job spec: input '", in.name, "' has column '", c.name, "' twice"));
      }
      if (c.type != ColumnType::kInteger && c.type != ColumnType::kReal &&
          c.type != ColumnType::kText) {
        return absl::InvalidArgumentError(absl::StrCat("job spec: column '", in.name, ".", c.name,
                                                       "' has unknown type ",
                                                       static_cast<int>(c.type)));
      }
    }
  }
  const OutputPolicy& p = spec.policy;
  if (p.allowed_columns.size() > kMaxColumns) {
    return absl::InvalidArgumentError("job spec: too many allowed output columns");
  }
  for (const std::string& c : p.allowed_columns) {
    TDS_RETURN_IF_ERROR(CheckName(c, "allowed output column"));
  }
  if (p.min_group_size > 0) {
    TDS_RETURN_IF_ERROR(CheckName(p.count_column, "count column (required when k > 0)"));
  } else if (!p.count_column.empty()) {
    TDS_RETURN_IF_ERROR(CheckName(p.count_column, "count column"));
  }
  if (p.max_rows == 0) {
    return absl::InvalidArgumentError("job spec: output policy max_rows is 0");
  }
  return absl::OkStatus();
}

std::string EncodeJobSpec(const JobSpec& spec) {
  std::string out;
  ByteWriter w(&out);
  w.Fixed(kMagic);
  w.U8(kVersion);
  w.Bytes(spec.sql);
  w.Fixed(AsBytes(spec.sql_digest));
  w.Bytes(spec.probe);
  w.U32(static_cast<uint32_t>(spec.inputs.size()));
  for (const InputSchema& in : spec.inputs) {
    w.Bytes(in.name);
    w.U32(static_cast<uint32_t>(in.columns.size()));
    for (const Column& c : in.columns) {
      w.Bytes(c.name);
      w.U8(static_cast<uint8_t>(c.type));
      w.U8(c.identifier ? 1 : 0);
    }
  }
  w.U32(static_cast<uint32_t>(spec.policy.allowed_columns.size()));
  for (const std::string& c : spec.policy.allowed_columns) w.Bytes(c);
  w.Bytes(spec.policy.count_column);
  w.U64(spec.policy.min_group_size);
  w.U64(spec.policy.max_rows);
  return out;
}

absl::StatusOr<JobSpec> DecodeJobSpec(std::string_view bytes) {
  ByteReader r(bytes, "job spec");
  TDS_ASSIGN_OR_RETURN(std::string_view magic, r.Fixed("magic", kMagic.size()));
  if (magic != kMagic) return absl::DataLossError("job spec: bad magic (expected TDSJ)");
  TDS_ASSIGN_OR_RETURN(uint8_t version, r.U8("version"));
  if (version != kVersion) {
    return absl::DataLossError(absl::StrCat("job spec: unsupported version ", version));
  }
  JobSpec spec;
  TDS_ASSIGN_OR_RETURN(std::string_view sql, r.Bytes("sql", kMaxSqlBytes));
  spec.sql = std::string(sql);
  TDS_ASSIGN_OR_RETURN(std::string_view digest, r.Fixed("sql_digest", 32));
  TDS_ASSIGN_OR_RETURN(spec.sql_digest, HashFromBytes(digest, "sql_digest"));
  TDS_ASSIGN_OR_RETURN(std::string_view probe, r.Bytes("probe", 4096));
  spec.probe = std::string(probe);
  TDS_ASSIGN_OR_RETURN(uint32_t inputs, r.Count("input_count", kMaxInputs));
  for (uint32_t i = 0; i < inputs; ++i) {
    InputSchema in;
    TDS_ASSIGN_OR_RETURN(std::string_view name, r.Bytes("input name", kMaxNameBytes));
    in.name = std::string(name);
    TDS_ASSIGN_OR_RETURN(uint32_t columns, r.Count("column_count", kMaxColumns));
    for (uint32_t c = 0; c < columns; ++c) {
      Column col;
      TDS_ASSIGN_OR_RETURN(std::string_view cname, r.Bytes("column name", kMaxNameBytes));
      col.name = std::string(cname);
      TDS_ASSIGN_OR_RETURN(uint8_t type, r.U8("column type"));
      col.type = static_cast<ColumnType>(type);
      TDS_ASSIGN_OR_RETURN(uint8_t ident, r.U8("identifier flag"));
      if (ident > 1) return absl::DataLossError("job spec: identifier flag is not 0 or 1");
      col.identifier = ident == 1;
      in.columns.push_back(std::move(col));
    }
    spec.inputs.push_back(std::move(in));
  }
  TDS_ASSIGN_OR_RETURN(uint32_t allowed, r.Count("allowed_count", kMaxColumns));
  for (uint32_t i = 0; i < allowed; ++i) {
    TDS_ASSIGN_OR_RETURN(std::string_view c, r.Bytes("allowed column", kMaxNameBytes));
    spec.policy.allowed_columns.emplace_back(c);
  }
  TDS_ASSIGN_OR_RETURN(std::string_view count_column, r.Bytes("count_column", kMaxNameBytes));
  spec.policy.count_column = std::string(count_column);
  TDS_ASSIGN_OR_RETURN(spec.policy.min_group_size, r.U64("min_group_size"));
  TDS_ASSIGN_OR_RETURN(spec.policy.max_rows, r.U64("max_rows"));
  TDS_RETURN_IF_ERROR(r.ExpectEnd());
  TDS_RETURN_IF_ERROR(ValidateJobSpec(spec));
  return spec;
}

Hash JobSpecDigest(const JobSpec& spec) { return Sha256(EncodeJobSpec(spec)); }

}  // namespace tds::compute::enclave
