#include "sdk/cli/run_cmd.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/file.h"
#include "google/protobuf/struct.pb.h"
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
}

}  // namespace tds::cli
