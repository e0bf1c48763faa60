#include "contracts/terms.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "catalog/catalog.h"
#include "catalog/catalog_state.h"
#include "catalog/price.h"
#include "common/proto_fields.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "google/protobuf/unknown_field_set.h"

namespace tds::contracts {
namespace {

using google::protobuf::RepeatedPtrField;

absl::Status Refuse(std::string_view field, std::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", std::string(detail)));
}

template <typename C>
bool Contains(const C& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

absl::Status CheckUnique(const RepeatedPtrField<std::string>& list, std::string_view field) {
  std::set<std::string_view> seen;
  for (const std::string& v : list) {
    if (!seen.insert(v).second) return Refuse(field, absl::StrCat("'", v, "' is listed twice"));
  }
  return absl::OkStatus();
}

absl::Status CheckOperations(const tds::Terms& terms, const tds::Product& product) {
  constexpr std::string_view kField = "terms.operations";
  if (terms.operations().empty()) return Refuse(kField, "at least one operation is required");
  TDS_RETURN_IF_ERROR(CheckUnique(terms.operations(), kField));
  for (const std::string& op : terms.operations()) {
    if (!catalog::KnownOperation(op)) {
      return Refuse(kField, absl::StrCat("'", op, "' is not a known operation"));
    }
    if (product.level() >= 3 && catalog::OperationKind(op) == "export") {
      return Refuse(kField, absl::StrCat("'", op, "' releases rows and product ", product.id(),
                                         " is level ", product.level(),
                                         " (levels 3-5 allow only MPC and enclave operations)"));
    }
    if (!Contains(product.operations(), op)) {
      return Refuse(kField,
                    absl::StrCat("'", op, "' is not an operation of product ", product.id()));
    }
    if (!Contains(product.offer().operations(), op)) {
      return Refuse(
          kField, absl::StrCat("'", op, "' is not allowed by the offer of product ", product.id()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPurposes(const tds::Terms& terms, const tds::Product& product) {
  constexpr std::string_view kField = "terms.purposes";
  if (terms.purposes().empty()) return Refuse(kField, "at least one purpose is required");
  TDS_RETURN_IF_ERROR(CheckUnique(terms.purposes(), kField));
  for (const std::string& p : terms.purposes()) {
    if (!catalog::KnownPurpose(p)) {
      return Refuse(kField, absl::StrCat("'", p, "' is not a known purpose"));
    }
    if (!Contains(product.offer().purposes(), p)) {
      return Refuse(
          kField, absl::StrCat("'", p, "' is not allowed by the offer of product ", product.id()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckColumns(const tds::Terms& terms, const tds::Product& product) {
  constexpr std::string_view kField = "terms.columns";
  TDS_RETURN_IF_ERROR(CheckUnique(terms.columns(), kField));
  for (const std::string& c : terms.columns()) {
    const bool in_schema = std::any_of(product.schema().begin(), product.schema().end(),
                                       [&](const tds::Column& col) { return col.name() == c; });
    if (!in_schema) {
      return Refuse(kField, absl::StrCat("'", c, "' is not a column of product ", product.id()));
    }
    if (!Contains(product.offer().columns(), c)) {
      return Refuse(
          kField, absl::StrCat("'", c, "' is not allowed by the offer of product ", product.id()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckWindow(const tds::Terms& terms, const tds::Terms& offer, int64_t block_time_ms) {
  const int64_t from = terms.valid_from_ms();
  const int64_t until = terms.valid_until_ms();
  if (from < 0) return Refuse("terms.valid_from_ms", absl::StrCat(from, " is negative"));
  if (until == 0) {
    return Refuse("terms.valid_until_ms", "a contract must end (0 is only allowed in an offer)");
  }
  if (until <= from) {
    return Refuse("terms.valid_until_ms",
                  absl::StrCat(until, " is not after valid_from_ms ", from));
  }
  if (from < offer.valid_from_ms()) {
    return Refuse("terms.valid_from_ms",
                  absl::StrCat(from, " is before the offer's ", offer.valid_from_ms()));
  }
  if (offer.valid_until_ms() != 0 && until > offer.valid_until_ms()) {
    return Refuse("terms.valid_until_ms",
                  absl::StrCat(until, " is after the offer's ", offer.valid_until_ms()));
  }
  if (until <= block_time_ms) {
    return Refuse("terms.valid_until_ms", absl::StrCat("the window already ended at ", until,
                                                       " (block time is ", block_time_ms, ")"));
  }
  return absl::OkStatus();
}

// Where the offer sets a limit (non-zero), the contract must set one no larger.
absl::Status CheckLimit(uint64_t terms_limit, uint64_t offer_limit, std::string_view field) {
  if (offer_limit == 0) return absl::OkStatus();
  if (terms_limit == 0) {
    return Refuse(field, absl::StrCat("the offer limits it to ", offer_limit,
                                      ", so the contract must set a limit (0 means none)"));
  }
  if (terms_limit > offer_limit) {
    return Refuse(field, absl::StrCat(terms_limit, " exceeds the offer's ", offer_limit));
  }
  return absl::OkStatus();
}

absl::Status CheckMetering(const tds::Terms& terms, const tds::Product& product) {
  const tds::Terms& offer = product.offer();
  if (terms.batched_max_delay_ms() < 0) {
    return Refuse("terms.batched_max_delay_ms",
                  absl::StrCat(terms.batched_max_delay_ms(), " is negative"));
  }
  switch (terms.metering()) {
    case tds::METERING_STRICT:
      return absl::OkStatus();
    case tds::METERING_BATCHED:
      break;
    case tds::METERING_UNSPECIFIED:
      return Refuse("terms.metering", "required (strict or batched)");
    default:
      return Refuse("terms.metering",
                    absl::StrCat(static_cast<int>(terms.metering()), " is not strict or batched"));
  }
  if (offer.metering() == tds::METERING_STRICT) {
    return Refuse("terms.metering",
                  absl::StrCat("the offer of product ", product.id(),
                               " requires strict metering (a contract may not relax it to "
                               "batched)"));
  }
  if (terms.batched_max_delay_ms() == 0) {
    return Refuse("terms.batched_max_delay_ms", "batched metering needs a delay above 0");
  }
  if (offer.batched_max_delay_ms() > 0 &&
      terms.batched_max_delay_ms() > offer.batched_max_delay_ms()) {
    return Refuse("terms.batched_max_delay_ms",
                  absl::StrCat(terms.batched_max_delay_ms(), " exceeds the offer's ",
                               offer.batched_max_delay_ms()));
  }
  return absl::OkStatus();
}

// Terms.psi_protocol: the names compute/psi_params.h gives them (contracts/ may not include
// compute/, so they are spelled here too; terms_test.cc pins them).
absl::Status CheckPsiProtocol(const tds::Terms& terms) {
  const std::string& p = terms.psi_protocol();
  if (!p.empty() && p != "auto" && p != "ecdh" && p != "ot") {
    return Refuse("terms.psi_protocol", absl::StrCat("'", p, "' is not auto, ecdh or ot"));
  }
  if (p == "ot" && terms.psi_output() == "size_only") {
    return Refuse("terms.psi_protocol",
                  "'ot' cannot run psi_output 'size_only' (an OT-PSI receiver always learns which "
                  "of its items matched); use ecdh or auto");
  }
  return absl::OkStatus();
}

absl::Status CheckQueryK(const tds::Terms& terms, const tds::Terms& offer) {
  if (offer.query_k() != 0 && QueryKOf(terms) < offer.query_k()) {
    return Refuse("terms.query_k",
                  absl::StrCat(QueryKOf(terms), " is below the offer's ", offer.query_k()));
  }
  return absl::OkStatus();
}

bool IsLowerHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A name the enclave's SQL tables use for a column (compute/enclave/job_spec.h spells the same
// rule; contracts/ may not include compute/).
bool IsSqlIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Terms.enclave: present exactly when enclave_sql is granted (terms.h lists the rules).
absl::Status CheckEnclave(const tds::Terms& terms, const tds::Product& product) {
  const bool granted = Contains(terms.operations(), "enclave_sql");
  if (!granted) {
    if (terms.has_enclave()) {
      return Refuse("terms.enclave", "set, but enclave_sql is not among terms.operations");
    }
    return absl::OkStatus();
  }
  if (!terms.has_enclave()) {
    return Refuse("terms.enclave",
                  "required with enclave_sql (the approved SQL, enclave binary, output policy "
                  "and platforms)");
  }
  const tds::EnclaveTerms& e = terms.enclave();
  if (!IsLowerHex64(e.sql_sha256())) {
    return Refuse("terms.enclave.sql_sha256",
                  absl::StrCat("'", e.sql_sha256().substr(0, 80),
                               "' is not a SHA-256 in 64 lowercase hex characters"));
  }
  if (!IsLowerHex64(e.binary_sha256())) {
    return Refuse("terms.enclave.binary_sha256",
                  absl::StrCat("'", e.binary_sha256().substr(0, 80),
                               "' is not a SHA-256 in 64 lowercase hex characters"));
  }
  if (!Contains(product.enclave_measurements(), e.binary_sha256())) {
    return Refuse("terms.enclave.binary_sha256",
                  absl::StrCat(e.binary_sha256(), " is not among the enclave builds product ",
                               product.id(), " accepts (product.enclave_measurements)"));
  }
  if (e.output_columns().empty()) {
    return Refuse("terms.enclave.output_columns", "at least one result column is required");
  }
  TDS_RETURN_IF_ERROR(CheckUnique(e.output_columns(), "terms.enclave.output_columns"));
  for (const std::string& c : e.output_columns()) {
    if (!IsSqlIdentifier(c)) {
      return Refuse(
          "terms.enclave.output_columns",
          absl::StrCat("'", c.substr(0, 80),
                       "' is not an SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64)"));
    }
  }
  if (terms.min_group_size() > 0 && !Contains(e.output_columns(), e.count_column())) {
    return Refuse("terms.enclave.count_column",
                  absl::StrCat("'", e.count_column(),
                               "' must be one of output_columns: with "
                               "min_group_size ",
                               terms.min_group_size(), " it holds each result row's group size"));
  }
  if (e.max_rows() == 0 || e.max_rows() > kMaxEnclaveRows) {
    return Refuse("terms.enclave.max_rows",
                  absl::StrCat(e.max_rows(), " is outside 1..", kMaxEnclaveRows));
  }
  TDS_RETURN_IF_ERROR(CheckUnique(e.identifier_columns(), "terms.enclave.identifier_columns"));
  for (const std::string& c : e.identifier_columns()) {
    if (!Contains(terms.columns(), c)) {
      return Refuse("terms.enclave.identifier_columns",
                    absl::StrCat("'", c, "' is not among terms.columns"));
    }
    if (Contains(e.output_columns(), c)) {
      return Refuse("terms.enclave.output_columns",
                    absl::StrCat("'", c, "' is an identifier column, which is never output"));
    }
  }
  if (e.platforms().empty()) {
    return Refuse("terms.enclave.platforms", "at least one platform is required");
  }
  TDS_RETURN_IF_ERROR(CheckUnique(e.platforms(), "terms.enclave.platforms"));
  for (const std::string& p : e.platforms()) {
    if (p != "software" && p != "sgx-dcap" && p != "tdx" && p != "sev-snp") {
      return Refuse("terms.enclave.platforms",
                    absl::StrCat("'", p, "' is not software, sgx-dcap, tdx or sev-snp"));
    }
    if (p == "software" && product.level() > kMaxSoftwareEnclaveLevel) {
      return Refuse("terms.enclave.platforms",
                    absl::StrCat("'software' is not accepted for product ", product.id(),
                                 " of level ", product.level(),
                                 " (its host's operator could read the enclave's memory; "
                                 "software enclaves serve levels up to ",
                                 kMaxSoftwareEnclaveLevel, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Hash TermsDigest(std::string_view terms_bytes) {
  Sha256Hasher h;
  h.Update(kTermsDigestDomain);
  h.Update(std::string_view("\0", 1));
  h.Update(terms_bytes);
  return h.Finish();
}

absl::Status ValidateTerms(const tds::Terms& terms, const tds::Product& product,
                           int64_t block_time_ms) {
  const tds::Terms& offer = product.offer();
  TDS_RETURN_IF_ERROR(RejectUnknownFields(terms, "terms"));
  TDS_RETURN_IF_ERROR(CheckOperations(terms, product));
  TDS_RETURN_IF_ERROR(CheckPurposes(terms, product));
  TDS_RETURN_IF_ERROR(CheckColumns(terms, product));
  TDS_RETURN_IF_ERROR(CheckWindow(terms, offer, block_time_ms));
  TDS_RETURN_IF_ERROR(
      CheckLimit(terms.max_calls_total(), offer.max_calls_total(), "terms.max_calls_total"));
  TDS_RETURN_IF_ERROR(
      CheckLimit(terms.max_calls_per_day(), offer.max_calls_per_day(), "terms.max_calls_per_day"));
  TDS_RETURN_IF_ERROR(
      CheckLimit(terms.max_rows_per_call(), offer.max_rows_per_call(), "terms.max_rows_per_call"));
  if (terms.min_group_size() < offer.min_group_size()) {
    return Refuse(
        "terms.min_group_size",
        absl::StrCat(terms.min_group_size(), " is below the offer's ", offer.min_group_size()));
  }
  TDS_RETURN_IF_ERROR(CheckMetering(terms, product));
  TDS_RETURN_IF_ERROR(catalog::ValidatePrice(terms.price(), "terms.price"));
  if (terms.price().currency() != offer.price().currency()) {
    return Refuse("terms.price.currency",
                  absl::StrCat("'", terms.price().currency(), "' differs from the offer's '",
                               offer.price().currency(), "'"));
  }
  TDS_RETURN_IF_ERROR(CheckPsiProtocol(terms));
  TDS_RETURN_IF_ERROR(CheckQueryK(terms, offer));
  TDS_RETURN_IF_ERROR(CheckEnclave(terms, product));
  return absl::OkStatus();
}

}  // namespace tds::contracts
