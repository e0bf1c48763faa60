#pragma once
// A query result as it leaves the enclave, and the statement the enclave signs over it.
//
//   result    := "TDSQ" version:u8=1 column_count:u32 name:bytes* row_count:u64
//                value{column_count * row_count}        (row_format.h values, any type)
//   statement := "TDSO" version:u8=1 measurement:bytes job_digest:fixed32
//                input_count:u32 (name:bytes digest:fixed32 rows:u64 bytes:u64)*
//                result_digest:fixed32 result_rows:u64
//   signature := Ed25519(enclave signing key, "tds-enclave-result-v1" 0x00 || statement)
// input digest = SHA-256 of the input's plaintext row bytes, as the provider sent them (the
// provider can recompute it); result_digest = SHA-256(result).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "compute/enclave/attestation.h"

namespace tds::compute::enclave {

using Cell = std::variant<std::monostate, int64_t, double, std::string>;

struct SqlResult {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;
};
std::string EncodeSqlResult(const SqlResult& result);
absl::StatusOr<SqlResult> DecodeSqlResult(std::string_view bytes);

struct InputStats {
  std::string name;
  Hash digest{};
  uint64_t rows = 0;
  uint64_t bytes = 0;
};

struct ResultStatement {
  std::string measurement;
  Hash job_digest{};
  std::vector<InputStats> inputs;
  Hash result_digest{};
  uint64_t result_rows = 0;
};
std::string EncodeStatement(const ResultStatement& s);
absl::StatusOr<ResultStatement> DecodeStatement(std::string_view bytes);
// The bytes the enclave signs for `statement_bytes`.
std::string StatementSigningMessage(std::string_view statement_bytes);

// What the consumer receives.
struct SignedResult {
  std::string statement;  // EncodeStatement, carried as signed
  std::string signature;
  std::string result;  // EncodeSqlResult
};

// The consumer's check: the signature verifies under the attested enclave's key, the statement
// names that enclave's measurement and `job_digest`, and the result bytes hash to its digest.
absl::StatusOr<ResultStatement> VerifySignedResult(const VerifiedEnclave& enclave,
                                                   const Hash& job_digest,
                                                   const SignedResult& signed_result);

}  // namespace tds::compute::enclave
