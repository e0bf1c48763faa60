#include "compute/enclave/sql_result.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "compute/enclave/codec.h"
#include "compute/enclave/row_format.h"

namespace tds::compute::enclave {
namespace {

constexpr std::string_view kResultMagic = "TDSQ";
constexpr std::string_view kStatementMagic = "TDSO";
constexpr uint8_t kVersion = 1;
constexpr std::string_view kSignContext{"tds-enclave-result-v1\0", 22};
constexpr uint32_t kMaxResultColumns = 2000;

absl::Status CheckHeader(ByteReader& r, std::string_view magic, const char* what) {
  TDS_ASSIGN_OR_RETURN(std::string_view m, r.Fixed("magic", magic.size()));
  if (m != magic) {
    return absl::DataLossError(
        absl::StrCat(what, ": bad magic (expected ", std::string(magic), ")"));
  }
  TDS_ASSIGN_OR_RETURN(uint8_t version, r.U8("version"));
  if (version != kVersion) {
    return absl::DataLossError(absl::StrCat(what, ": unsupported version ", version));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeSqlResult(const SqlResult& result) {
  std::string out;
  ByteWriter w(&out);
  w.Fixed(kResultMagic);
  w.U8(kVersion);
  w.U32(static_cast<uint32_t>(result.columns.size()));
  for (const std::string& c : result.columns) w.Bytes(c);
  w.U64(result.rows.size());
  RowWriter rw(&out);
  for (const auto& row : result.rows) {
    for (const Cell& c : row) {
      if (std::holds_alternative<int64_t>(c)) {
        rw.Integer(std::get<int64_t>(c));
      } else if (std::holds_alternative<double>(c)) {
        rw.Real(std::get<double>(c));
      } else if (std::holds_alternative<std::string>(c)) {
        rw.Text(std::get<std::string>(c));
      } else {
        rw.Null();
      }
    }
  }
  return out;
}

absl::StatusOr<SqlResult> DecodeSqlResult(std::string_view bytes) {
  ByteReader r(bytes, "sql result");
  TDS_RETURN_IF_ERROR(CheckHeader(r, kResultMagic, "sql result"));
  SqlResult out;
  TDS_ASSIGN_OR_RETURN(uint32_t ncols, r.Count("column_count", kMaxResultColumns));
  for (uint32_t i = 0; i < ncols; ++i) {
    TDS_ASSIGN_OR_RETURN(std::string_view name, r.Bytes("column name", 4096));
    out.columns.emplace_back(name);
  }
  TDS_ASSIGN_OR_RETURN(uint64_t nrows, r.U64("row_count"));
  // Every value takes at least one byte: a count beyond the remaining bytes is malformed.
  if (ncols == 0 ? nrows != 0 : nrows > r.remaining() / ncols) {
    return absl::DataLossError(absl::StrCat("sql result: ", nrows, " rows of ", ncols,
                                            " columns cannot fit in ", r.remaining(), " bytes"));
  }
  for (uint64_t i = 0; i < nrows; ++i) {
    std::vector<Cell> row;
    for (uint32_t c = 0; c < ncols; ++c) {
      TDS_ASSIGN_OR_RETURN(uint8_t tag, r.U8("value tag"));
      switch (tag) {
        case 0:
          row.emplace_back(std::monostate{});
          break;
        case 1: {
          TDS_ASSIGN_OR_RETURN(uint64_t v, r.U64("integer"));
          row.emplace_back(static_cast<int64_t>(v));
          break;
        }
        case 2: {
          TDS_ASSIGN_OR_RETURN(uint64_t bits, r.U64("real"));
          double d;
          std::memcpy(&d, &bits, 8);
          row.emplace_back(d);
          break;
        }
        case 3: {
          TDS_ASSIGN_OR_RETURN(std::string_view t, r.Bytes("text", kMaxTextBytes));
          row.emplace_back(std::string(t));
          break;
        }
        default:
          return absl::DataLossError(absl::StrCat("sql result: unknown value tag ", tag));
      }
    }
    out.rows.push_back(std::move(row));
  }
  TDS_RETURN_IF_ERROR(r.ExpectEnd());
  return out;
}

std::string EncodeStatement(const ResultStatement& s) {
  std::string out;
  ByteWriter w(&out);
  w.Fixed(kStatementMagic);
  w.U8(kVersion);
  w.Bytes(s.measurement);
  w.Fixed(AsBytes(s.job_digest));
  w.U32(static_cast<uint32_t>(s.inputs.size()));
  for (const InputStats& in : s.inputs) {
    w.Bytes(in.name);
    w.Fixed(AsBytes(in.digest));
    w.U64(in.rows);
    w.U64(in.bytes);
  }
  w.Fixed(AsBytes(s.result_digest));
  w.U64(s.result_rows);
  return out;
}

absl::StatusOr<ResultStatement> DecodeStatement(std::string_view bytes) {
  ByteReader r(bytes, "result statement");
  TDS_RETURN_IF_ERROR(CheckHeader(r, kStatementMagic, "result statement"));
  ResultStatement s;
  TDS_ASSIGN_OR_RETURN(std::string_view m, r.Bytes("measurement", 64));
  s.measurement = std::string(m);
  TDS_ASSIGN_OR_RETURN(std::string_view jd, r.Fixed("job_digest", 32));
  TDS_ASSIGN_OR_RETURN(s.job_digest, HashFromBytes(jd, "job_digest"));
  TDS_ASSIGN_OR_RETURN(uint32_t n, r.Count("input_count", kMaxInputs));
  for (uint32_t i = 0; i < n; ++i) {
    InputStats in;
    TDS_ASSIGN_OR_RETURN(std::string_view name, r.Bytes("input name", kMaxNameBytes));
    in.name = std::string(name);
    TDS_ASSIGN_OR_RETURN(std::string_view d, r.Fixed("input digest", 32));
    TDS_ASSIGN_OR_RETURN(in.digest, HashFromBytes(d, "input digest"));
    TDS_ASSIGN_OR_RETURN(in.rows, r.U64("input rows"));
    TDS_ASSIGN_OR_RETURN(in.bytes, r.U64("input bytes"));
    s.inputs.push_back(std::move(in));
  }
  TDS_ASSIGN_OR_RETURN(std::string_view rd, r.Fixed("result_digest", 32));
  TDS_ASSIGN_OR_RETURN(s.result_digest, HashFromBytes(rd, "result_digest"));
  TDS_ASSIGN_OR_RETURN(s.result_rows, r.U64("result_rows"));
  TDS_RETURN_IF_ERROR(r.ExpectEnd());
  return s;
}

std::string StatementSigningMessage(std::string_view statement_bytes) {
  return std::string(kSignContext) + std::string(statement_bytes);
}

absl::StatusOr<ResultStatement> VerifySignedResult(const VerifiedEnclave& enclave,
                                                   const Hash& job_digest,
                                                   const SignedResult& signed_result) {
  if (!enclave.keys.signing.Verify(StatementSigningMessage(signed_result.statement),
                                   signed_result.signature)) {
    return absl::PermissionDeniedError(
        "enclave result: the signature does not verify under the attested enclave's key");
  }
  TDS_ASSIGN_OR_RETURN(ResultStatement s, DecodeStatement(signed_result.statement));
  if (s.measurement != enclave.measurement) {
    return absl::PermissionDeniedError(
        "enclave result: the statement names another measurement than the attested one");
  }
  if (s.job_digest != job_digest) {
    return absl::PermissionDeniedError("enclave result: the statement is for another job");
  }
  if (Sha256(signed_result.result) != s.result_digest) {
    return absl::PermissionDeniedError(
        "enclave result: the result bytes do not match the signed result digest");
  }
  return s;
}

}  // namespace tds::compute::enclave
