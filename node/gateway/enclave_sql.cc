#include "node/gateway/enclave_sql.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "compute/enclave/row_format.h"
#include "compute/enclave/sealed_stream.h"
#include "contracts/terms.h"

namespace tds::node::gateway {

namespace enclave = compute::enclave;

namespace {

template <typename C>
bool Contains(const C& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

absl::StatusOr<enclave::ColumnType> EnclaveType(const tds::Column& c) {
  const std::string& t = c.type();
  if (t == "int64" || t == "bool") return enclave::ColumnType::kInteger;
  if (t == "double") return enclave::ColumnType::kReal;
  if (t == "string" || t == "date" || t == "timestamp") return enclave::ColumnType::kText;
  return absl::InvalidArgumentError(absl::StrCat("column '", c.name(), "' is of type ", t,
                                                 ", which enclave inputs do not carry"));
}

// One source value (data_source.h text forms) as a typed row value.
absl::Status WriteValue(const std::optional<std::string>& v, const tds::Column& column,
                        enclave::RowWriter& w) {
  if (!v.has_value()) {
    w.Null();
    return absl::OkStatus();
  }
  const std::string& t = column.type();
  if (t == "bool") {
    if (*v != "true" && *v != "false") {
      return absl::DataLossError(
          absl::StrCat("column '", column.name(), "': '", *v, "' is not a bool"));
    }
    w.Integer(*v == "true" ? 1 : 0);
  } else if (t == "int64") {
    int64_t i = 0;
    if (!absl::SimpleAtoi(*v, &i)) {
      return absl::DataLossError(
          absl::StrCat("column '", column.name(), "': '", *v, "' is not an int64"));
    }
    w.Integer(i);
  } else if (t == "double") {
    double d = 0;
    if (!absl::SimpleAtod(*v, &d)) {
      return absl::DataLossError(
          absl::StrCat("column '", column.name(), "': '", *v, "' is not a double"));
    }
    w.Real(d);
  } else {
    if (v->size() > enclave::kMaxTextBytes) {
      return absl::InvalidArgumentError(absl::StrCat("column '", column.name(), "': a value of ",
                                                     v->size(), " bytes exceeds ",
                                                     enclave::kMaxTextBytes));
    }
    w.Text(*v);
  }
  return absl::OkStatus();
}

std::string_view View(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace

std::string EnclaveWireMessage(EnclaveWire tag, std::string_view body) {
  std::string out(1, static_cast<char>(tag));
  out.append(body);
  return out;
}

absl::StatusOr<std::string> RecvEnclaveWire(compute::Link& link,
                                            std::initializer_list<EnclaveWire> tags,
                                            const char* what) {
  TDS_ASSIGN_OR_RETURN(std::string m, link.Recv());
  if (!m.empty()) {
    for (EnclaveWire t : tags) {
      if (static_cast<uint8_t>(m[0]) == static_cast<uint8_t>(t)) return m;
    }
  }
  return absl::DataLossError(absl::StrCat(
      "enclave_sql: expected ", what, ", got ",
      m.empty() ? std::string("an empty message")
                : absl::StrCat("message tag ", static_cast<int>(static_cast<uint8_t>(m[0])))));
}

absl::StatusOr<enclave::InputSchema> ContractInputSchema(const std::string& name,
                                                         const tds::Product& product,
                                                         const tds::Terms& terms) {
  if (terms.columns().empty()) {
    return absl::FailedPreconditionError(
        "terms.columns: the contract grants no columns for an enclave input");
  }
  enclave::InputSchema schema;
  schema.name = name;
  for (const std::string& c : terms.columns()) {
    auto it = std::find_if(product.schema().begin(), product.schema().end(),
                           [&](const tds::Column& col) { return col.name() == c; });
    if (it == product.schema().end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("terms.columns: product ", product.id(), " has no column '", c, "'"));
    }
    TDS_ASSIGN_OR_RETURN(enclave::ColumnType type, EnclaveType(*it));
    schema.columns.push_back({c, type, Contains(terms.enclave().identifier_columns(), c)});
  }
  return schema;
}

absl::Status CheckEnclaveJob(const enclave::JobSpec& spec, const std::string& input,
                             const tds::Product& product, const tds::Terms& terms,
                             const std::string& contract_id) {
  if (!terms.has_enclave()) {
    return absl::FailedPreconditionError(
        absl::StrCat("terms.enclave: contract ", contract_id, " has no enclave terms"));
  }
  const tds::EnclaveTerms& e = terms.enclave();
  if (!spec.probe.empty()) {
    return absl::PermissionDeniedError("params.job_spec: a sandbox probe job is never approved");
  }
  const std::string asked = HexEncode(spec.sql_digest);
  if (Sha256(spec.sql) != spec.sql_digest) {
    return absl::InvalidArgumentError(
        "params.job_spec: the SQL text does not hash to the job's sql_digest");
  }
  if (asked != e.sql_sha256()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "terms.enclave.sql_sha256: the job's SQL (", asked, ") is not the SQL contract ",
        contract_id, " approved (", e.sql_sha256(), ")"));
  }
  const enclave::OutputPolicy& p = spec.policy;
  const std::string weaker = absl::StrCat(
      "params.job_spec: the output policy is weaker than contract ", contract_id, "'s: ");
  for (const std::string& c : p.allowed_columns) {
    if (!Contains(e.output_columns(), c)) {
      return absl::PermissionDeniedError(absl::StrCat(weaker, "it allows column '", c,
                                                      "', the contract only [",
                                                      absl::StrJoin(e.output_columns(), ","), "]"));
    }
    if (Contains(e.identifier_columns(), c)) {
      return absl::PermissionDeniedError(
          absl::StrCat(weaker, "it allows identifier column '", c, "'"));
    }
  }
  if (p.min_group_size < terms.min_group_size()) {
    return absl::PermissionDeniedError(absl::StrCat(weaker, "minimum group size ", p.min_group_size,
                                                    " is below the contract's ",
                                                    terms.min_group_size()));
  }
  if (terms.min_group_size() > 0 && p.count_column != e.count_column()) {
    return absl::PermissionDeniedError(absl::StrCat(weaker, "count column '", p.count_column,
                                                    "' is not the contract's '", e.count_column(),
                                                    "'"));
  }
  if (p.max_rows > e.max_rows()) {
    return absl::PermissionDeniedError(
        absl::StrCat(weaker, "max_rows ", p.max_rows, " exceeds the contract's ", e.max_rows()));
  }
  auto it = std::find_if(spec.inputs.begin(), spec.inputs.end(),
                         [&](const enclave::InputSchema& in) { return in.name == input; });
  if (it == spec.inputs.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.input: the job has no input '", input, "'"));
  }
  TDS_ASSIGN_OR_RETURN(enclave::InputSchema expected, ContractInputSchema(input, product, terms));
  auto describe = [](const enclave::InputSchema& s) {
    std::vector<std::string> cols;
    for (const enclave::Column& c : s.columns) {
      cols.push_back(absl::StrCat(c.name, " ", enclave::ColumnTypeName(c.type),
                                  c.identifier ? " identifier" : ""));
    }
    return absl::StrCat("[", absl::StrJoin(cols, ", "), "]");
  };
  const bool same =
      it->columns.size() == expected.columns.size() &&
      std::equal(it->columns.begin(), it->columns.end(), expected.columns.begin(),
                 [](const enclave::Column& a, const enclave::Column& b) {
                   return a.name == b.name && a.type == b.type && a.identifier == b.identifier;
                 });
  if (!same) {
    return absl::InvalidArgumentError(absl::StrCat("params.job_spec: input '", input, "' is ",
                                                   describe(*it), "; contract ", contract_id,
                                                   " releases ", describe(expected)));
  }
  return absl::OkStatus();
}

absl::StatusOr<enclave::VerifierPolicy> ProviderVerifierPolicy(const enclave::JobSpec& spec,
                                                               const tds::Product& product,
                                                               const tds::Terms& terms,
                                                               const PublicKey& host_key) {
  TDS_ASSIGN_OR_RETURN(Hash binary,
                       HashFromHex(terms.enclave().binary_sha256(), "terms.enclave.binary_sha256"));
  enclave::VerifierPolicy policy;
  policy.accepted_measurements = {
      std::string(AsBytes(enclave::SoftwareMeasurementOfDigest(binary, spec)))};
  policy.software_platform_keys = {host_key};
  policy.data_level = static_cast<int>(product.level());
  policy.max_software_level = static_cast<int>(contracts::kMaxSoftwareEnclaveLevel);
  return policy;
}

absl::StatusOr<EnclaveProviderOutcome> RunEnclaveProvider(const EnclaveProviderOptions& options,
                                                          compute::Link& link) {
  enclave::AttestationVerifier verifier(options.policy);
  const enclave::Nonce nonce = verifier.IssueNonce();
  TDS_RETURN_IF_ERROR(
      link.Send(EnclaveWireMessage(EnclaveWire::kNonce, View(nonce.data(), nonce.size()))));
  TDS_ASSIGN_OR_RETURN(std::string report_msg,
                       RecvEnclaveWire(link, {EnclaveWire::kReport}, "the attestation report"));
  const std::string_view report = std::string_view(report_msg).substr(1);
  // The contract's platforms first: a report from any other is refused whatever it proves.
  TDS_ASSIGN_OR_RETURN(enclave::AttestationReport decoded, enclave::DecodeReport(report));
  const std::string platform = enclave::PlatformName(decoded.platform);
  if (!Contains(options.platforms, platform)) {
    return absl::PermissionDeniedError(
        absl::StrCat("terms.enclave.platforms: the enclave's report is from platform '", platform,
                     "'; the contract accepts [", absl::StrJoin(options.platforms, ","), "]"));
  }
  TDS_ASSIGN_OR_RETURN(enclave::VerifiedEnclave enclave, verifier.Verify(report, nonce));
  TDS_ASSIGN_OR_RETURN(std::unique_ptr<enclave::SealedWriter> writer,
                       enclave::SealedWriter::Create(enclave.keys.x25519, options.input->name));
  TDS_RETURN_IF_ERROR(link.Send(EnclaveWireMessage(EnclaveWire::kHeader, writer->header())));
  TDS_RETURN_IF_ERROR(RecvEnclaveWire(link, {EnclaveWire::kGo}, "go").status());

  // The release gate: count, record, then stream at most the rows recorded.
  std::vector<std::string> names;
  std::vector<tds::Column> columns;  // the product's column behind each input column
  for (const enclave::Column& c : options.input->columns) {
    names.push_back(c.name);
    auto it = std::find_if(options.product->schema().begin(), options.product->schema().end(),
                           [&](const tds::Column& col) { return col.name() == c.name; });
    if (it == options.product->schema().end()) {
      return absl::InternalError(absl::StrCat("enclave input column '", c.name,
                                              "' is not in product ", options.product->id()));
    }
    columns.push_back(*it);
  }
  TDS_ASSIGN_OR_RETURN(const uint64_t rows, options.source->CountRows());
  TDS_RETURN_IF_ERROR(options.gate(rows));

  EnclaveProviderOutcome out;
  Sha256Hasher hasher;
  std::string buffer;
  absl::Status failed;
  const size_t chunk_bytes = std::min(options.chunk_bytes, enclave::kMaxChunkPlaintext);
  // Seals and sends buffer[0, n), keeping the rest.
  auto send = [&](size_t n, bool last) -> absl::Status {
    const std::string_view piece(buffer.data(), n);
    hasher.Update(piece);
    out.plaintext_bytes += n;
    TDS_ASSIGN_OR_RETURN(std::string chunk, writer->Seal(piece, last));
    buffer.erase(0, n);
    return link.Send(
        EnclaveWireMessage(last ? EnclaveWire::kLastChunk : EnclaveWire::kChunk, chunk));
  };
  absl::Status scanned =
      options.source->Scan(names, options.scan_chunk_rows, [&](const std::vector<Row>& chunk) {
        for (const Row& row : chunk) {
          if (out.rows >= rows) return false;  // never more than recorded
          enclave::RowWriter w(&buffer);
          for (size_t c = 0; c < row.size(); ++c) {
            failed = WriteValue(row[c], columns[c], w);
            if (!failed.ok()) return false;
          }
          ++out.rows;
          while (buffer.size() >= chunk_bytes) {
            failed = send(chunk_bytes, false);
            if (!failed.ok()) return false;
          }
        }
        return true;
      });
  TDS_RETURN_IF_ERROR(failed);
  if (!scanned.ok()) {
    return absl::Status(scanned.code(), absl::StrCat("reading the product's source: ",
                                                     std::string(scanned.message())));
  }
  TDS_RETURN_IF_ERROR(send(buffer.size(), true));
  out.plaintext_digest = hasher.Finish();
  return out;
}

}  // namespace tds::node::gateway
