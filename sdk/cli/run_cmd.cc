#include "sdk/cli/run_cmd.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/file.h"
#include "compute/enclave/row_format.h"
#include "compute/fl/dataset.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "sdk/cli/id_table.h"
#include "sdk/cli/output.h"
#include "sdk/cli/progress.h"
#include "sdk/cli/usage_cmd.h"
#include "sdk/data_space.h"

namespace tds::cli {
namespace {

struct RunArgs {
  std::string contract, input, column, purpose, output, out, genesis;
  std::string protocol = "auto";
  std::vector<std::string> stats;
  // query: ids on the command line (instead of --input), the columns wanted, the smallest k.
  std::vector<std::string> ids;
  std::vector<std::string> columns;
  uint64_t min_k = 0;
  // joint-stats, lr-train, lr-score: the bank's label / selection / feature columns of --input.
  std::string label, select, model;
  std::vector<std::string> features, provider_columns;
  tds::LrTrainParams train;
  int key_bits = 2048;
  OutputFormat format = OutputFormat::kTable;
};

// What every run needs before it spends a call of the contract: the input ids, the trusted
// genesis (if any) and a connected client. Errors name the option.
struct Prepared {
  std::optional<IdTable> table;
  std::optional<ledger::GenesisInfo> genesis;
  std::unique_ptr<sdk::DataSpaceClient> client;
};

absl::StatusOr<Prepared> Prepare(const GlobalOptions& g, const RunArgs& a) {
  Prepared p;
  if (a.ids.empty()) {
    absl::StatusOr<IdTable> table = IdTable::Read(a.input, a.column);
    if (!table.ok()) return table.status();
    if (table->ids().empty()) {
      return absl::InvalidArgumentError(a.input + ": no ids (only a header row)");
    }
    p.table = *std::move(table);
  }
  if (!a.genesis.empty()) {
    absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Load(a.genesis);
    if (!genesis.ok()) {
      return absl::InvalidArgumentError("--genesis: " + std::string(genesis.status().message()));
    }
    p.genesis = *std::move(genesis);
  }
  // Options first, with the messages every command uses; then the member behind the key.
  if (absl::Status s = LoadMemberKey(g).status(); !s.ok()) return s;
  if (g.node.empty()) return ConnectToNode(g).status();
  absl::StatusOr<std::unique_ptr<sdk::DataSpaceClient>> client =
      sdk::DataSpaceClient::Connect(ClientOptionsFrom(g), g.key);
  if (!client.ok()) {
    return absl::Status(client.status().code(),
                        "--key " + g.key + ": " + std::string(client.status().message()));
  }
  p.client = *std::move(client);
  return p;
}

sdk::PsiProgressFn ProgressTo(ProgressLine& line) {
  return [&line](const compute::psi::PsiProgress& p) { line.Update(p.phase, p.done, p.total); };
}

// "; usage <txid> (block H)" and, with a genesis, the offline check of the receipt.
absl::StatusOr<std::string> DescribeRecord(const tds::ComputeResult& result,
                                           const std::optional<ledger::GenesisInfo>& genesis) {
  std::string out = "usage " + HexOrDash(result.usage_txid());
  if (result.has_receipt()) out += " (block " + std::to_string(result.receipt().height()) + ")";
  if (result.violations_size() > 0) {
    tds::UsageRecordState flagged;
    *flagged.mutable_violations() = result.violations();
    out += "; VIOLATION: " + DescribeViolations(flagged);
  }
  if (genesis.has_value()) {
    if (!result.has_receipt()) {
      out += "; receipt pending (batched metering: fetch it later with tds audit receipt)";
    } else {
      absl::StatusOr<ledger::VerifiedReceipt> v = ledger::VerifyReceipt(result.receipt(), *genesis);
      if (!v.ok()) {
        return absl::DataLossError("the run's receipt does not verify against the genesis: " +
                                   std::string(v.status().message()));
      }
      out += "; receipt verified locally";
    }
  }
  return out;
}

int RunPsi(const GlobalOptions& g, const RunArgs& a) {
  // A run spends a call of the contract: refuse what would fail afterwards first.
  if (!a.out.empty() && std::filesystem::exists(a.out)) {
    return Fail("--out " + a.out + ": exists; results are never overwritten, choose another path");
  }
  absl::StatusOr<Prepared> p = Prepare(g, a);
  if (!p.ok()) return Fail(p.status());
  const std::vector<std::string>& ids = p->table->ids();

  ProgressLine progress(std::cerr, "psi", ProgressLine::StderrIsTty());
  absl::StatusOr<sdk::PsiRunResult> run =
      p->client->RunPsi(a.contract, a.purpose, ids, a.output, ProgressTo(progress), a.protocol);
  progress.Finish();
  if (!run.ok()) return Fail(run.status());

  std::string summary = "matched " + std::to_string(run->intersection_size) + " of " +
                        std::to_string(ids.size()) + " ids (" +
                        (run->protocol == "ot" ? "OT-PSI" : "ECDH-PSI") + ")";
  if (!a.out.empty()) {
    if (run->matched.empty() && run->intersection_size > 0) {
      summary += "; no rows written (the contract reveals only the intersection size)";
    } else {
      if (absl::Status s = WriteFileExclusive(a.out, p->table->Select(run->matched), 0600);
          !s.ok()) {
        return Fail(s);
      }
      summary += "; wrote " + std::to_string(run->matched.size()) + " row(s) to " + a.out;
    }
  }
  absl::StatusOr<std::string> record = DescribeRecord(run->result, p->genesis);
  if (!record.ok()) return Fail(record.status());
  std::cout << summary << "; " << *record << "\n";
  return 0;
}

// COLUMN:KIND[:BOUNDS], BOUNDS comma-separated.
absl::StatusOr<tds::StatSpec> ParseStat(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits(':', 2));
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError("--stat " + text +
                                      ": expected COLUMN:KIND[:BOUNDS], e.g. income:sum or "
                                      "income:histogram:1000,5000");
  }
  tds::StatSpec spec;
  spec.set_column(parts[0]);
  spec.set_kind(parts[1]);
  if (parts.size() == 3) {
    for (const std::string& bound : std::vector<std::string>(absl::StrSplit(parts[2], ','))) {
      if (bound.empty()) {
        return absl::InvalidArgumentError("--stat " + text + ": an empty histogram bound");
      }
      spec.add_bounds(bound);
    }
  }
  return spec;
}

// "<=10:3 <=20:4 >20:2"
std::string Buckets(const tds::StatSpec& spec, const tds::StatValue& value) {
  std::vector<std::string> cells;
  for (int i = 0; i < value.buckets_size(); ++i) {
    const std::string label = i < spec.bounds_size()   ? "<=" + spec.bounds(i)
                              : spec.bounds_size() > 0 ? ">" + spec.bounds(spec.bounds_size() - 1)
                                                       : "all";
    cells.push_back(label + ":" + std::to_string(value.buckets(i)));
  }
  return absl::StrJoin(cells, " ");
}

int RunStats(const GlobalOptions& g, const RunArgs& a) {
  std::vector<tds::StatSpec> specs;
  for (const std::string& text : a.stats) {
    absl::StatusOr<tds::StatSpec> spec = ParseStat(text);
    if (!spec.ok()) return Fail(spec.status());
    specs.push_back(*std::move(spec));
  }
  absl::StatusOr<Prepared> p = Prepare(g, a);
  if (!p.ok()) return Fail(p.status());
  const std::vector<std::string>& ids = p->table->ids();

  ProgressLine progress(std::cerr, "stats", ProgressLine::StderrIsTty());
  absl::StatusOr<sdk::PsiRunResult> run =
      p->client->RunStats(a.contract, a.purpose, ids, specs, ProgressTo(progress));
  progress.Finish();
  if (!run.ok()) return Fail(run.status());

  Listing listing({"column", "kind", "value", "rows", "buckets"});
  for (size_t i = 0; i < run->stats.size(); ++i) {
    const tds::StatValue& v = run->stats[i];
    const tds::StatSpec& spec = i < specs.size() ? specs[i] : tds::StatSpec::default_instance();
    listing.AddRow({v.column(), v.kind(), v.value(), std::to_string(v.rows()), Buckets(spec, v)},
                   v);
  }
  absl::StatusOr<std::string> record = DescribeRecord(run->result, p->genesis);
  if (!record.ok()) return Fail(record.status());
  listing.Print(std::cout, a.format);
  // stdout is the listing (parsable in json and csv); the summary goes to stderr.
  std::cerr << "aligned " << run->intersection_size << " of " << ids.size() << " ids; " << *record
            << "\n";
  return 0;
}

// `tds run query`: one row per identifier — id, found, the requested columns.
int RunQuery(const GlobalOptions& g, const RunArgs& a) {
  if (a.ids.empty() == a.input.empty()) {
    return Fail(absl::InvalidArgumentError(
        "run query: give the identifiers either with --id (repeatable) or with --input"));
  }
  absl::StatusOr<Prepared> p = Prepare(g, a);
  if (!p.ok()) return Fail(p.status());
  const std::vector<std::string>& ids = p->table.has_value() ? p->table->ids() : a.ids;
  std::vector<std::string> columns;
  for (const std::string& list : a.columns) {
    for (absl::string_view c : absl::StrSplit(list, ',', absl::SkipEmpty())) {
      columns.emplace_back(c);
    }
  }
  absl::StatusOr<sdk::QueryRunResult> run =
      p->client->RunQuery(a.contract, a.purpose, ids, columns, a.min_k);
  if (!run.ok()) return Fail(run.status());

  std::vector<std::string> header = {"id", "found"};
  header.insert(header.end(), run->columns.begin(), run->columns.end());
  Listing listing(header);
  uint64_t found = 0;
  for (size_t i = 0; i < ids.size() && i < run->answers.size(); ++i) {
    const compute::query::QueryAnswer& answer = run->answers[i];
    google::protobuf::Struct row;
    (*row.mutable_fields())["id"].set_string_value(ids[i]);
    (*row.mutable_fields())["found"].set_bool_value(answer.found);
    std::vector<std::string> cells = {ids[i], answer.found ? "yes" : "no"};
    google::protobuf::Struct* values = (*row.mutable_fields())["columns"].mutable_struct_value();
    for (size_t c = 0; c < run->columns.size(); ++c) {
      const std::string value = answer.found && c < answer.columns.size() ? answer.columns[c] : "";
      cells.push_back(value);
      if (answer.found) (*values->mutable_fields())[run->columns[c]].set_string_value(value);
    }
    if (answer.found) ++found;
    listing.AddRow(std::move(cells), row);
  }
  absl::StatusOr<std::string> record = DescribeRecord(run->result, p->genesis);
  if (!record.ok()) return Fail(record.status());
  listing.Print(std::cout, a.format);
  // stdout is the listing (parsable in json and csv); the summary goes to stderr.
  std::cerr << "found " << found << " of " << ids.size() << " ids (anonymous query; "
            << run->result.measurement().rows_out() << " identifier(s) metered); " << *record
            << "\n";
  return 0;
}

// --- The joint operations (sdk/joint_client.h). ---

// COLUMN:KIND[:BOUNDS | :qN], or count.
absl::StatusOr<tds::JointStatSpec> ParseJointStat(const std::string& text) {
  tds::JointStatSpec spec;
  if (text == "count") {
    spec.set_kind("count");
    return spec;
  }
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits(':', 2));
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        "--stat " + text +
        ": expected count or COLUMN:KIND[:BOUNDS|:qN], e.g. income:mean, "
        "income:woe_iv:q10 or age:histogram:30,50");
  }
  spec.set_column(parts[0]);
  spec.set_kind(parts[1]);
  if (parts.size() == 3) {
    uint32_t q = 0;
    if (parts[2].size() > 1 && parts[2][0] == 'q' && absl::SimpleAtoi(parts[2].substr(1), &q)) {
      spec.set_quantiles(q);
      return spec;
    }
    for (absl::string_view bound : absl::StrSplit(parts[2], ',')) {
      double b = 0;
      if (!absl::SimpleAtod(bound, &b)) {
        return absl::InvalidArgumentError("--stat " + text + ": bound '" + std::string(bound) +
                                          "' is not a number");
      }
      spec.add_bounds(b);
    }
  }
  return spec;
}

// 0/1 values of `column` (labels, selections).
absl::StatusOr<std::vector<uint8_t>> Bits(const IdTable& table, const std::string& column,
                                          const std::string& flag) {
  absl::StatusOr<std::vector<double>> v = table.Numbers(column);
  if (!v.ok()) return absl::InvalidArgumentError(flag + ": " + std::string(v.status().message()));
  std::vector<uint8_t> out;
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    if ((*v)[i] != 0 && (*v)[i] != 1) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": column '", column, "' of record ",
                                                     i + 1, " is ", (*v)[i], "; expected 0 or 1"));
    }
    out.push_back((*v)[i] == 1 ? 1 : 0);
  }
  return out;
}

// The named columns of --input as a matrix, one row per record.
absl::StatusOr<compute::fl::Matrix> Features(const IdTable& table,
                                             const std::vector<std::string>& columns) {
  compute::fl::Matrix x(table.ids().size(), columns.size());
  for (size_t j = 0; j < columns.size(); ++j) {
    absl::StatusOr<std::vector<double>> v = table.Numbers(columns[j]);
    if (!v.ok()) return v.status();
    for (size_t i = 0; i < v->size(); ++i) x.row(i)[j] = (*v)[i];
  }
  return x;
}

std::vector<std::string> SplitList(const std::vector<std::string>& lists) {
  std::vector<std::string> out;
  for (const std::string& list : lists) {
    for (absl::string_view c : absl::StrSplit(list, ',', absl::SkipEmpty())) out.emplace_back(c);
  }
  return out;
}

std::string JoinNumbers(const std::vector<uint64_t>& v) { return absl::StrJoin(v, " "); }

int RunJointStats(const GlobalOptions& g, const RunArgs& a) {
  tds::JointStatsParams params;
  for (const std::string& text : a.stats) {
    absl::StatusOr<tds::JointStatSpec> spec = ParseJointStat(text);
    if (!spec.ok()) return Fail(spec.status());
    *params.add_stats() = *std::move(spec);
  }
  absl::StatusOr<Prepared> p = Prepare(g, a);
  if (!p.ok()) return Fail(p.status());
  std::vector<uint8_t> labels, selection;
  if (!a.label.empty()) {
    absl::StatusOr<std::vector<uint8_t>> l = Bits(*p->table, a.label, "--label");
    if (!l.ok()) return Fail(l.status());
    labels = *std::move(l);
  }
  if (!a.select.empty()) {
    absl::StatusOr<std::vector<uint8_t>> s = Bits(*p->table, a.select, "--select");
    if (!s.ok()) return Fail(s.status());
    selection = *std::move(s);
    params.set_selection(true);
  }
  const std::vector<std::string>& ids = p->table->ids();
  absl::StatusOr<sdk::JointStatsRunResult> run =
      p->client->RunJointStats(a.contract, a.purpose, ids, labels, selection, params);
  if (!run.ok()) return Fail(run.status());

  Listing listing({"kind", "column", "value", "rows", "buckets", "events", "iv"});
  for (const compute::mpc::StatResult& r : run->stats.stats) {
    tds::StatValue v;  // the JSON form
    v.set_column(r.column);
    v.set_kind(compute::mpc::StatKindName(r.kind));
    v.set_rows(r.rows);
    if (r.value.has_value()) v.set_value(absl::StrCat(*r.value));
    for (uint64_t b : r.bucket_rows) v.add_buckets(b);
    listing.AddRow({v.kind(), r.column, r.value.has_value() ? absl::StrCat(*r.value) : "-",
                    std::to_string(r.rows), JoinNumbers(r.bucket_rows),
                    JoinNumbers(r.bucket_events), r.iv.has_value() ? absl::StrCat(*r.iv) : "-"},
                   v);
  }
  absl::StatusOr<std::string> record = DescribeRecord(run->info.result, p->genesis);
  if (!record.ok()) return Fail(record.status());
  listing.Print(std::cout, a.format);
  std::cerr << "aligned " << run->info.aligned_rows << " of " << ids.size()
            << " ids (secret-shared; the provider saw no label, selection or value); " << *record
            << "\n";
  return 0;
}

int RunLrTrain(const GlobalOptions& g, const RunArgs& a) {
  if (std::filesystem::exists(a.out)) {
    return Fail("--out " + a.out + ": exists; models are never overwritten, choose another path");
  }
  const std::vector<std::string> features = SplitList(a.features);
  const std::vector<std::string> provider_columns = SplitList(a.provider_columns);
  absl::StatusOr<Prepared> p = Prepare(g, a);
  if (!p.ok()) return Fail(p.status());
  absl::StatusOr<std::vector<uint8_t>> labels = Bits(*p->table, a.label, "--label");
  if (!labels.ok()) return Fail(labels.status());
  absl::StatusOr<compute::fl::Matrix> x = Features(*p->table, features);
  if (!x.ok()) return Fail("--features: " + std::string(x.status().message()));
  const std::vector<int> y(labels->begin(), labels->end());
  const std::vector<std::string>& ids = p->table->ids();
  std::cerr << "training on the ids both sides hold (Paillier " << a.key_bits
            << "-bit keys; this takes a while)...\n";
  absl::StatusOr<sdk::LrTrainRunResult> run = p->client->TrainLr(
      a.contract, a.purpose, provider_columns, ids, features, *x, y, a.train, a.key_bits);
  if (!run.ok()) return Fail(run.status());
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(run->model, &json, options).ok()) {
    return Fail("the model does not convert to JSON");
  }
  if (absl::Status s = WriteFileExclusive(a.out, json, 0600); !s.ok()) return Fail(s);
  absl::StatusOr<std::string> record = DescribeRecord(run->info.result, p->genesis);
  if (!record.ok()) return Fail(record.status());
  std::cout << "trained model " << run->model.model_id() << " on " << run->info.aligned_rows
            << " of " << ids.size() << " ids; your half written to " << a.out
            << " (the provider's node keeps its half); " << *record << "\n";
  return 0;
}

int RunLrScore(const GlobalOptions& g, const RunArgs& a) {
  absl::StatusOr<std::string> text = ReadFile(a.model);
  if (!text.ok()) return Fail("--model: " + std::string(text.status().message()));
  tds::LrModelHalf model;
  if (!google::protobuf::util::JsonStringToMessage(*text, &model).ok() ||
      model.model_id().empty()) {
    return Fail("--model " + a.model + ": not a model written by tds run lr-train");
  }
  RunArgs args = a;
  args.contract = model.contract_id();
  absl::StatusOr<Prepared> p = Prepare(g, args);
  if (!p.ok()) return Fail(p.status());
  const std::vector<std::string> columns(model.columns().begin(), model.columns().end());
  absl::StatusOr<compute::fl::Matrix> x = Features(*p->table, columns);
  if (!x.ok()) return Fail(x.status());
  const std::vector<std::string>& ids = p->table->ids();
  absl::StatusOr<sdk::LrScoreRunResult> run = p->client->ScoreLr(a.purpose, model, ids, *x);
  if (!run.ok()) return Fail(run.status());
  Listing listing({"id", "score"});
  uint64_t scored = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!run->matched[i]) continue;
    ++scored;
    google::protobuf::Struct row;
    (*row.mutable_fields())["id"].set_string_value(ids[i]);
    (*row.mutable_fields())["score"].set_number_value(run->scores[i]);
    listing.AddRow({ids[i], absl::StrCat(run->scores[i])}, row);
  }
  absl::StatusOr<std::string> record = DescribeRecord(run->info.result, p->genesis);
  if (!record.ok()) return Fail(record.status());
  listing.Print(std::cout, a.format);
  std::cerr << "scored " << scored << " of " << ids.size() << " ids with model " << model.model_id()
            << " (" << run->info.result.measurement().rows_out() << " metered); " << *record
            << "\n";
  return 0;
}

// --- enclave-sql (sdk/enclave_client.h): a job hosted by the member's own node. ---

struct EnclaveArgs {
  std::string sql, input, name, purpose, out, genesis, binary_sha256;
  std::vector<std::string> identifiers, providers, allow;
  std::string count_column;
  uint64_t min_group_size = 0;
  uint64_t max_rows = 1000;
  OutputFormat format = OutputFormat::kTable;
};

// NAME=CONTRACT@HOST:PORT
absl::StatusOr<tds::EnclaveProviderInput> ParseProviderInput(const std::string& text) {
  const size_t eq = text.find('='), at = text.find('@');
  if (eq == std::string::npos || at == std::string::npos || eq == 0 || at < eq + 2 ||
      at + 1 == text.size()) {
    return absl::InvalidArgumentError("--provider-input " + text +
                                      ": expected NAME=CONTRACT@HOST:PORT, e.g. "
                                      "loans=c-1a2b@provider:7400");
  }
  tds::EnclaveProviderInput p;
  p.set_name(text.substr(0, eq));
  p.set_contract_id(text.substr(eq + 1, at - eq - 1));
  p.set_address(text.substr(at + 1));
  return p;
}

// The member's CSV as an enclave input: every column, typed INTEGER when every value is an
// integer, REAL when every value is a number, TEXT otherwise; the rows in row_format.
absl::StatusOr<std::pair<tds::EnclaveInputSchema, std::string>> EnclaveInputFromCsv(
    const EnclaveArgs& a) {
  absl::StatusOr<std::string> text = ReadFile(a.input);
  if (!text.ok())
    return absl::InvalidArgumentError("--input: " + std::string(text.status().message()));
  absl::StatusOr<IdTable> first = IdTable::Parse(*text, a.input, "");
  if (!first.ok()) return first.status();
  tds::EnclaveInputSchema schema;
  schema.set_name(a.name);
  std::vector<std::vector<std::string>> columns;
  for (const std::string& h : first->header()) {
    absl::StatusOr<IdTable> column = IdTable::Parse(*text, a.input, h);
    if (!column.ok()) return column.status();
    bool integer = true, real = true;
    for (const std::string& v : column->ids()) {
      int64_t i = 0;
      double d = 0;
      integer = integer && absl::SimpleAtoi(v, &i);
      real = real && absl::SimpleAtod(v, &d);
    }
    tds::EnclaveColumn* c = schema.add_columns();
    c->set_name(h);
    c->set_type(integer ? "INTEGER" : real ? "REAL" : "TEXT");
    c->set_identifier(std::find(a.identifiers.begin(), a.identifiers.end(), h) !=
                      a.identifiers.end());
    columns.push_back(column->ids());
  }
  for (const std::string& id : a.identifiers) {
    if (std::none_of(schema.columns().begin(), schema.columns().end(),
                     [&](const tds::EnclaveColumn& c) { return c.name() == id; })) {
      return absl::InvalidArgumentError("--identifier " + id + ": not a column of " + a.input);
    }
  }
  std::string rows;
  compute::enclave::RowWriter w(&rows);
  for (size_t r = 0; r < first->ids().size(); ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string& v = columns[c][r];
      const std::string& type = schema.columns(static_cast<int>(c)).type();
      int64_t i = 0;
      double d = 0;
      if (type == "INTEGER" && absl::SimpleAtoi(v, &i)) {
        w.Integer(i);
      } else if (type == "REAL" && absl::SimpleAtod(v, &d)) {
        w.Real(d);
      } else {
        w.Text(v);
      }
    }
  }
  return std::make_pair(std::move(schema), std::move(rows));
}

std::string CellText(const compute::enclave::Cell& cell) {
  if (const auto* i = std::get_if<int64_t>(&cell)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&cell)) return absl::StrCat(*d);
  if (const auto* t = std::get_if<std::string>(&cell)) return *t;
  return "";
}

int RunEnclaveSql(const GlobalOptions& g, const EnclaveArgs& a) {
  if (!a.out.empty() && std::filesystem::exists(a.out)) {
    return Fail("--out " + a.out + ": exists; results are never overwritten, choose another path");
  }
  sdk::EnclaveSqlJob job;
  absl::StatusOr<std::string> sql = ReadFile(a.sql);
  if (!sql.ok()) return Fail("--sql: " + std::string(sql.status().message()));
  job.sql = *std::move(sql);
  for (const std::string& text : a.providers) {
    absl::StatusOr<tds::EnclaveProviderInput> p = ParseProviderInput(text);
    if (!p.ok()) return Fail(p.status());
    job.providers.push_back(*std::move(p));
  }
  for (const std::string& list : a.allow) {
    for (absl::string_view c : absl::StrSplit(list, ',', absl::SkipEmpty())) {
      job.policy.add_allowed_columns(std::string(c));
    }
  }
  job.policy.set_count_column(a.count_column);
  job.policy.set_min_group_size(a.min_group_size);
  job.policy.set_max_rows(a.max_rows);
  job.purpose = a.purpose;
  job.expected_binary_sha256 = a.binary_sha256;
  absl::StatusOr<std::pair<tds::EnclaveInputSchema, std::string>> input = EnclaveInputFromCsv(a);
  if (!input.ok()) return Fail(input.status());
  job.local = input->first;
  RunArgs common;
  common.genesis = a.genesis;
  common.ids = {"-"};  // no id table: the input was read above
  absl::StatusOr<Prepared> p = Prepare(g, common);
  if (!p.ok()) return Fail(p.status());
  bool sent = false;
  absl::StatusOr<sdk::EnclaveSqlRun> run = p->client->RunEnclaveSql(job, [&](std::string* out) {
    if (!sent) out->append(input->second);
    sent = true;
    return false;
  });
  if (!run.ok()) return Fail(run.status());

  Listing listing(run->table.columns);
  for (const std::vector<compute::enclave::Cell>& row : run->table.rows) {
    google::protobuf::Struct json;
    std::vector<std::string> cells;
    for (size_t c = 0; c < row.size(); ++c) {
      cells.push_back(CellText(row[c]));
      (*json.mutable_fields())[run->table.columns[c]].set_string_value(cells.back());
    }
    listing.AddRow(std::move(cells), json);
  }
  std::string summary = absl::StrCat("enclave result: ", run->table.rows.size(),
                                     " row(s), signature and attestation verified (enclave ",
                                     run->raw.binary_sha256().substr(0, 16), "...)");
  if (!a.out.empty()) {
    std::ostringstream csv;
    listing.Print(csv, OutputFormat::kCsv);
    if (absl::Status s = WriteFileExclusive(a.out, csv.str(), 0600); !s.ok()) return Fail(s);
    summary += "; wrote " + a.out;
  }
  listing.Print(std::cout, a.format);
  std::cerr << summary << "\n";
  for (const tds::EnclaveProviderUsage& usage : run->raw.usage()) {
    absl::StatusOr<std::string> record = DescribeRecord(usage.result(), p->genesis);
    if (!record.ok()) return Fail(record.status());
    std::cerr << "input " << usage.name() << " (contract " << usage.contract_id()
              << "): " << usage.result().measurement().rows_in() << " rows; " << *record << "\n";
  }
  return 0;
}

void AddCommonOptions(CLI::App* sub, RunArgs* a) {
  sub->add_option("--contract", a->contract, "ACTIVE contract with the provider")->required();
  sub->add_option("--input", a->input, "CSV with a header row; one column holds the ids")
      ->required();
  sub->add_option("--column", a->column, "Header name of the id column (default: the first)");
  sub->add_option("--purpose", a->purpose,
                  "Purpose of this run (default: the contract's only purpose)");
  sub->add_option("--genesis", a->genesis,
                  "Genesis file you trust: verify the usage receipt locally");
}

}  // namespace

void AddRunCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* run = app.add_subcommand(
      "run", "Compute with a provider's data through its metered gateway (consumer)");
  run->require_subcommand(1);
  run->footer(
      "Needs --node (the provider's node) and --key (the consumer). Every run is checked against "
      "the contract,\nmetered on the ledger and, under strict metering, released only once its "
      "usage record has committed.");

  auto pa = std::make_shared<RunArgs>();
  CLI::App* psi = run->add_subcommand(
      "psi", "Private set intersection: which of your ids does the provider also hold?");
  AddCommonOptions(psi, pa.get());
  psi->add_option("--output", pa->output, "What the run reveals (default: the contract's)")
      ->check(CLI::IsMember({"consumer_only", "both", "size_only"}));
  psi->add_option("--protocol", pa->protocol,
                  "PSI protocol: auto (default: the contract's choice for this set size), ecdh "
                  "or ot")
      ->check(CLI::IsMember({"auto", "ecdh", "ot"}));
  psi->add_option("--out", pa->out,
                  "Write the header and the matched rows of --input here (not overwritten)");
  psi->footer(
      "Example:\n  tds --node provider:7400 --key bank.key run psi --contract c-... --input "
      "customers.csv \\\n      --column tax_id --out matched.csv --genesis genesis.json");
  OnRun(psi, ctx, [&g, pa] { return RunPsi(g, *pa); });

  auto sa = std::make_shared<RunArgs>();
  CLI::App* stats =
      run->add_subcommand("stats", "Joint statistics over the provider's rows that match your ids");
  AddCommonOptions(stats, sa.get());
  stats
      ->add_option("--stat", sa->stats,
                   "COLUMN:KIND[:BOUNDS], KIND count|sum|mean|histogram, BOUNDS ascending and "
                   "comma-separated (repeatable)")
      ->required()
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  AddOutputOption(stats, &sa->format);
  OnRun(stats, ctx, [&g, sa] { return RunStats(g, *sa); });

  auto qa = std::make_shared<RunArgs>();
  CLI::App* query = run->add_subcommand(
      "query",
      "Anonymous query: look identifiers up in the provider's table without revealing them");
  query->add_option("--contract", qa->contract, "ACTIVE contract with the provider")->required();
  query->add_option("--id", qa->ids, "An identifier to look up (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  query->add_option("--input", qa->input, "CSV with a header row; one column holds the ids");
  query->add_option("--column", qa->column, "Header name of the id column (default: the first)");
  query->add_option("--columns", qa->columns,
                    "Columns to return, comma-separated (default: every column the contract "
                    "permits)");
  query->add_option("--min-k", qa->min_k,
                    "Refuse unless every id hides among at least K rows (default: the "
                    "contract's query_k)");
  query->add_option("--purpose", qa->purpose,
                    "Purpose of this run (default: the contract's only purpose)");
  query->add_option("--genesis", qa->genesis,
                    "Genesis file you trust: verify the usage receipt locally");
  AddOutputOption(query, &qa->format);
  query->footer(
      "The provider learns how many ids you asked and, per id, a bucket of at least k rows it\n"
      "could be among; not the ids, and not whether they were found. Metered per id.\n"
      "Example:\n  tds --node provider:7400 --key bank.key run query --contract c-... --id "
      "110101199001011234 --columns score,segment");
  OnRun(query, ctx, [&g, qa] { return RunQuery(g, *qa); });

  auto ja = std::make_shared<RunArgs>();
  CLI::App* joint = run->add_subcommand(
      "joint-stats",
      "Statistics of the provider's columns over your customers, with your labels, under "
      "secret sharing");
  AddCommonOptions(joint, ja.get());
  joint
      ->add_option("--stat", ja->stats,
                   "count, or COLUMN:KIND[:BOUNDS|:qN], KIND sum|mean|variance|histogram|woe_iv, "
                   "BOUNDS ascending and comma-separated, qN N quantile buckets (repeatable)")
      ->required()
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  joint->add_option("--label", ja->label, "Column of --input with your 0/1 label (for woe_iv)");
  joint->add_option("--select", ja->select,
                    "Column of --input with 0/1: only rows with 1 count (default: all)");
  AddOutputOption(joint, &ja->format);
  joint->footer(
      "Neither side sees the other's per-row values: you learn the aggregates, the provider the\n"
      "size of each group (to enforce the contract's min_group_size). Example:\n"
      "  tds --node provider:7400 --key bank.key run joint-stats --contract c-... --input "
      "customers.csv \\\n"
      "      --label default --stat count --stat income:woe_iv:q10");
  OnRun(joint, ctx, [&g, ja] { return RunJointStats(g, *ja); });

  auto ta = std::make_shared<RunArgs>();
  CLI::App* train = run->add_subcommand(
      "lr-train", "Train a logistic regression on your labels and features plus the provider's");
  AddCommonOptions(train, ta.get());
  train->add_option("--label", ta->label, "Column of --input with the 0/1 label")->required();
  train->add_option("--features", ta->features, "Your feature columns of --input, a,b,c")
      ->required();
  train
      ->add_option("--provider-columns", ta->provider_columns,
                   "The provider's columns to train on, x,y (the contract must permit them)")
      ->required();
  train->add_option("--out", ta->out, "Write your half of the model here (JSON, not overwritten)")
      ->required();
  auto epochs = std::make_shared<uint32_t>(0), batch = std::make_shared<uint32_t>(0);
  auto rate = std::make_shared<double>(0), l2 = std::make_shared<double>(0);
  train->add_option("--epochs", *epochs, "Passes over the data (default 10)");
  train->add_option("--batch", *batch, "Rows per gradient step (default 64)");
  train->add_option("--learning-rate", *rate, "Step size (default 0.15)");
  train->add_option("--l2", *l2, "L2 penalty (default 0)");
  train->add_option("--key-bits", ta->key_bits, "Your Paillier key size (default 2048)")
      ->check(CLI::Range(1024, 4096));
  train->footer(
      "The model stays split: you keep your weights (--out), the provider's node its own; score\n"
      "with tds run lr-score --model. Example:\n"
      "  tds --node provider:7400 --key bank.key run lr-train --contract c-... --input "
      "train.csv \\\n"
      "      --label default --features age,balance --provider-columns "
      "income,debt --out model.json");
  OnRun(train, ctx, [&g, ta, epochs, batch, rate, l2] {
    ta->train.set_epochs(*epochs);
    ta->train.set_batch_size(*batch);
    ta->train.set_learning_rate(*rate);
    ta->train.set_l2(*l2);
    return RunLrTrain(g, *ta);
  });

  auto sc = std::make_shared<RunArgs>();
  CLI::App* score = run->add_subcommand(
      "lr-score", "Score customers with a jointly trained model (metered per customer)");
  score->add_option("--model", sc->model, "Your half of the model (tds run lr-train --out)")
      ->required();
  score->add_option("--input", sc->input, "CSV with a header row: the ids and the model's columns")
      ->required();
  score->add_option("--column", sc->column, "Header name of the id column (default: the first)");
  score->add_option("--purpose", sc->purpose,
                    "Purpose of this run (default: the contract's only purpose)");
  score->add_option("--genesis", sc->genesis,
                    "Genesis file you trust: verify the usage receipt locally");
  AddOutputOption(score, &sc->format);
  score->footer(
      "Prints id,score for the ids the provider also holds; the provider learns which of its\n"
      "customers you scored (PSI output both) and their partial scores stay on your side.");
  OnRun(score, ctx, [&g, sc] { return RunLrScore(g, *sc); });

  auto ea = std::make_shared<EnclaveArgs>();
  CLI::App* enclave = run->add_subcommand(
      "enclave-sql",
      "Approved SQL over your table and providers' tables, in an enclave hosted by YOUR node");
  enclave->add_option("--sql", ea->sql, "File with the SQL text every provider contract approved")
      ->required();
  enclave->add_option("--input", ea->input, "Your table: CSV with a header row (types inferred)")
      ->required();
  enclave->add_option("--name", ea->name, "Your table's name in the SQL")->required();
  enclave
      ->add_option("--identifier", ea->identifiers,
                   "A column of --input that may be joined on but never output (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  enclave
      ->add_option("--provider-input", ea->providers,
                   "NAME=CONTRACT@HOST:PORT: the provider table NAME in the SQL, released under "
                   "CONTRACT by the node at HOST:PORT (repeatable)")
      ->required()
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  enclave
      ->add_option("--allow", ea->allow,
                   "Result columns that may leave the enclave, a,b,c (within every contract's)")
      ->required();
  enclave->add_option("--count-column", ea->count_column,
                      "Result column holding each row's group size (needed with --min-group-size)");
  enclave->add_option("--min-group-size", ea->min_group_size,
                      "Refuse the result if a row's group is smaller (at least every contract's)");
  enclave->add_option("--max-rows", ea->max_rows,
                      "Refuse a result of more rows (at most every contract's; default 1000)");
  enclave->add_option("--enclave-sha256", ea->binary_sha256,
                      "Accept only this tds-enclave build (hex SHA-256)");
  enclave->add_option("--purpose", ea->purpose,
                      "Purpose of this run (default: the first contract's only purpose)");
  enclave->add_option("--out", ea->out, "Also write the result here as CSV (not overwritten)");
  enclave->add_option("--genesis", ea->genesis,
                      "Genesis file you trust: verify the usage receipts locally");
  AddOutputOption(enclave, &ea->format);
  enclave->footer(
      "--node must be YOUR OWN node (it runs as your member): it starts the sandboxed enclave,\n"
      "each provider checks the job and the enclave against its contract, records the call and\n"
      "streams its table sealed to the enclave (your node sees only ciphertext). You get the\n"
      "rows that pass the output policy, signed by the enclave, checked here. Example:\n"
      "  tds --node 127.0.0.1:7400 --key bank.key run enclave-sql --sql join.sql --input "
      "mine.csv \\\n"
      "      --name bank --identifier customer_id --provider-input "
      "loans=c-1a2b@prov:7400 \\\n"
      "      --allow region,segment,n,total --count-column n --min-group-size 10");
  OnRun(enclave, ctx, [&g, ea] { return RunEnclaveSql(g, *ea); });
}

}  // namespace tds::cli
