// The data space end to end through the real binaries (`tdsd` and `tds`): a provider publishes
// products from YAML files, a consumer finds one and negotiates a contract, signed usage is
// reserved and recorded (one call breaking the terms), and billing, valuation, the usage ledger
// with receipts, and membership governance are read back — in every output format.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

#ifndef TDS_SOURCE_DIR
#error "TDS_SOURCE_DIR must name the repository root (for deploy/samples)"
#endif

namespace tds::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Sample(const std::string& path) {
  return std::string(TDS_SOURCE_DIR) + "/deploy/samples/" + path;
}

// RFC 4180: rows of fields; quoted fields may hold commas, quotes ("") and line breaks.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || !field.empty() || !row.empty()) {
    row.push_back(field);
    rows.push_back(row);
  }
  return rows;
}

// Column `name` of every data row.
std::vector<std::string> CsvColumn(const std::vector<std::vector<std::string>>& rows,
                                   const std::string& name) {
  std::vector<std::string> out;
  if (rows.empty()) return out;
  auto it = std::find(rows[0].begin(), rows[0].end(), name);
  if (it == rows[0].end()) return out;
  const size_t col = static_cast<size_t>(it - rows[0].begin());
  for (size_t r = 1; r < rows.size(); ++r) out.push_back(col < rows[r].size() ? rows[r][col] : "");
  return out;
}

class DataSpaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> genesis = MakeGenesis(dir_.path(), "dataspace.tds.test",
                                                      {{"node-1", "validator"},
                                                       {"eastbridge-bank", "consumer"},
                                                       {"zj-tax-data", "provider"},
                                                       {"stranger", "consumer"},
                                                       {"auditor-1", "auditor"}});
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    genesis_ = *genesis;
    Node::Options o;
    o.data_dir = dir_.File("data");
    o.genesis = genesis_;
    o.key = dir_.File("node-1.key");
    o.work_dir = dir_.path();
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
  }

  // tds --node ADDR --insecure-dev --key <member>.key ARGS... ("" member: anonymous).
  CommandResult As(const std::string& member, std::vector<std::string> args) {
    std::vector<std::string> full = {"--node", node_->address(), "--insecure-dev"};
    if (!member.empty()) {
      full.push_back("--key");
      full.push_back(dir_.File(member + ".key"));
    }
    full.insert(full.end(), args.begin(), args.end());
    return RunTds(full);
  }

  // Runs and expects success; returns stdout.
  std::string Ok(const std::string& member, std::vector<std::string> args) {
    CommandResult r = As(member, args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe() << node_->Log();
    return r.out;
  }

  // Runs and expects the node's refusal: exit 1, "error: <message>" on stderr, nothing on stdout.
  void Refused(const std::string& member, std::vector<std::string> args,
               const std::string& message) {
    CommandResult r = As(member, args);
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_THAT(r.err, StartsWith("error: ")) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr(message)) << r.Describe();
    EXPECT_EQ(r.out, "") << r.Describe();
  }

  nlohmann::json Json(const std::string& member, std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    const std::string out = Ok(member, args);
    nlohmann::json parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(parsed.is_array()) << out;
    return parsed;
  }

  std::vector<std::vector<std::string>> Csv(const std::string& member,
                                            std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("csv");
    return ParseCsv(Ok(member, args));
  }

  // Publishes both sample products and negotiates an ACTIVE contract; returns its id.
  std::string NegotiatedContract() {
    Ok("zj-tax-data", {"product", "publish", Sample("products/zj-invoice-features.yaml")});
    Ok("zj-tax-data", {"product", "publish", Sample("products/national-credit-registry.yaml")});
    const std::string requested =
        Ok("eastbridge-bank", {"contract", "request", "zj-invoice-features", "--terms",
                               Sample("terms/bank-request.yaml")});
    std::smatch m;
    EXPECT_TRUE(std::regex_search(requested, m, std::regex("result: (c-[0-9a-f]{32})\n")))
        << requested;
    const std::string id = m[1];
    Ok("zj-tax-data",
       {"contract", "counter", id, "--terms", Sample("terms/provider-counter.yaml")});
    Ok("eastbridge-bank", {"contract", "accept", id});
    return id;
  }

  // The consumer signs a request; the provider reserves (if asked) and records it.
  void Use(const std::string& contract, const std::string& name, const std::string& purpose,
           const std::string& rows_out, const std::string& compute_ms, bool reserve = true) {
    const std::string file = dir_.File(name + ".req");
    Ok("eastbridge-bank", {"usage", "request", contract, "--operation", "psi", "--purpose", purpose,
                           "--columns", "tax_id,issued_amount", "--out", file});
    if (reserve) Ok("zj-tax-data", {"usage", "reserve", "--request", file});
    Ok("zj-tax-data", {"usage", "record", "--request", file, "--rows-in", "5000", "--rows-out",
                       rows_out, "--compute-ms", compute_ms});
  }

  TempDir dir_;
  std::string genesis_;
  std::unique_ptr<Node> node_;
};

TEST_F(DataSpaceTest, PublishSearchAndLevelFiveVisibility) {
  const std::string published =
      Ok("zj-tax-data", {"product", "publish", Sample("products/zj-invoice-features.yaml")});
  EXPECT_THAT(published, HasSubstr("published product zj-invoice-features (v1)"));
  EXPECT_THAT(published, ::testing::ContainsRegex("txid:   [0-9a-f]{64}\n"));
  Ok("zj-tax-data", {"product", "publish", Sample("products/national-credit-registry.yaml")});

  // The consumer finds the invoice product by words of its description, in any format.
  nlohmann::json found = Json("eastbridge-bank", {"product", "search", "vat", "invoice"});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["id"], "zj-invoice-features");
  EXPECT_EQ(found[0]["provider"], "zj-tax-data");
  EXPECT_EQ(found[0]["level"], 3);
  // Chinese text matches too.
  EXPECT_EQ(Json("eastbridge-bank", {"product", "search", "发票"}).size(), 1u);

  // The level-5 registry: listed to its allow list (the bank) and auditors, not to a stranger.
  auto ids = [](const std::vector<std::vector<std::string>>& rows) {
    return CsvColumn(rows, "id");
  };
  EXPECT_THAT(ids(Csv("eastbridge-bank", {"product", "search", "credit"})),
              ElementsAre("national-credit-registry", "zj-invoice-features"));
  EXPECT_THAT(ids(Csv("stranger", {"product", "search", "credit"})),
              ElementsAre("zj-invoice-features"));
  EXPECT_THAT(ids(Csv("", {"product", "list"})), ElementsAre("zj-invoice-features"));
  Refused("stranger", {"product", "show", "national-credit-registry"},
          "product 'national-credit-registry' not found");
  EXPECT_THAT(Ok("auditor-1", {"product", "show", "national-credit-registry"}),
              HasSubstr("allow list:   eastbridge-bank"));

  const std::string shown = Ok("", {"product", "show", "zj-invoice-features"});
  EXPECT_THAT(shown, HasSubstr("level:        3"));
  EXPECT_THAT(shown, HasSubstr("price: 2.00 CNY per call, 0.01 CNY per row, 0.05 CNY per "
                               "compute second"));
  EXPECT_THAT(Ok("", {"product", "export-dcat", "zj-invoice-features"}),
              HasSubstr("\"@type\": \"dcat:Dataset\""));

  // The catalog's own refusal, word for word: a second publish of the same id.
  Refused("zj-tax-data", {"product", "publish", Sample("products/zj-invoice-features.yaml")},
          "catalog.publish: product.id 'zj-invoice-features'");
  // And the strict file loader names the key.
  std::ofstream(dir_.File("bad.yaml")) << "id: x\ntitel: typo\n";
  CommandResult bad = As("zj-tax-data", {"product", "publish", dir_.File("bad.yaml")});
  EXPECT_EQ(bad.exit_code, 1) << bad.Describe();
  EXPECT_THAT(bad.err, HasSubstr("titel"));
}

TEST_F(DataSpaceTest, NegotiateUseBillValue) {
  const std::string id = NegotiatedContract();

  // The wrong party cannot answer: the node's message is printed as is.
  Refused("eastbridge-bank",
          {"contract", "counter", id, "--terms", Sample("terms/bank-request.yaml")},
          "contract " + id + ": 'counter' is not allowed in state ACTIVE");
  Refused("stranger", {"contract", "show", id},
          "member 'stranger' is not a party to contract '" + id + "'");

  const std::string shown = Ok("eastbridge-bank", {"contract", "show", id});
  EXPECT_THAT(shown, HasSubstr("state:         ACTIVE"));
  EXPECT_THAT(shown, HasSubstr("round:         2 (proposed by zj-tax-data)"));
  std::vector<std::vector<std::string>> history = Csv("zj-tax-data", {"contract", "show", id});
  EXPECT_THAT(CsvColumn(history, "event"), ElementsAre("request", "counter", "accept"));
  EXPECT_THAT(CsvColumn(history, "to"), ElementsAre("REQUESTED", "COUNTERED", "ACTIVE"));
  nlohmann::json listed = Json("eastbridge-bank", {"contract", "list", "--state", "ACTIVE"});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["state"], "ACTIVE");

  // Two good calls and one whose purpose the contract does not allow (recorded, flagged).
  Use(id, "call-1", "credit_risk", "300", "2500");
  Use(id, "call-2", "credit_risk", "200", "1000");
  Use(id, "call-3", "marketing", "50", "100", /*reserve=*/false);
  // A strict contract refuses to reserve for a purpose it does not allow.
  Ok("eastbridge-bank", {"usage", "request", id, "--operation", "psi", "--purpose", "marketing",
                         "--out", dir_.File("call-4.req")});
  Refused("zj-tax-data", {"usage", "reserve", "--request", dir_.File("call-4.req")}, "purpose");
  // The two reserved calls' reservations, each consumed by its record; the refused one left none.
  std::vector<std::vector<std::string>> reservations =
      Csv("auditor-1", {"audit", "reservations", "--contract", id});
  EXPECT_THAT(CsvColumn(reservations, "state"), ElementsAre("consumed", "consumed"));
  EXPECT_EQ(Json("auditor-1", {"audit", "reservations", "--state", "open"}).size(), 0u);
  // --limit reads one page and says where the next begins; --cursor goes on from there.
  CommandResult first = As("auditor-1", {"audit", "reservations", "--limit", "1", "-o", "json"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  EXPECT_EQ(nlohmann::json::parse(first.out).size(), 1u);
  const std::string more = "more: --cursor ";
  ASSERT_THAT(first.err, StartsWith(more)) << first.Describe();
  const std::string cursor = first.err.substr(more.size(), first.err.find('\n') - more.size());
  CommandResult rest = As("auditor-1", {"audit", "reservations", "--cursor", cursor, "-o", "json"});
  ASSERT_EQ(rest.exit_code, 0) << rest.Describe();
  EXPECT_EQ(nlohmann::json::parse(rest.out).size(), 1u);
  EXPECT_EQ(rest.err, "");
  EXPECT_NE(nlohmann::json::parse(rest.out)[0]["id"], nlohmann::json::parse(first.out)[0]["id"]);
  Refused("stranger", {"audit", "reservations", "--contract", id}, "member 'stranger'");

  nlohmann::json violations = Json("auditor-1", {"usage", "list", "--violations"});
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0]["record"]["purpose"], "marketing");
  EXPECT_EQ(violations[0]["record"]["violations"][0]["term"], "purpose");
  const std::string period = violations[0]["record"]["period"];

  // Every record, with receipts that verify offline against nothing but the genesis file.
  std::vector<std::vector<std::string>> usage =
      Csv("eastbridge-bank",
          {"usage", "list", "--contract", id, "--receipts-dir", dir_.File("receipts")});
  EXPECT_THAT(CsvColumn(usage, "purpose"), ElementsAre("credit_risk", "credit_risk", "marketing"));
  EXPECT_THAT(CsvColumn(usage, "rows_out"), ElementsAre("300", "200", "50"));
  int verified = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.File("receipts"))) {
    CommandResult v = RunTds({"verify", entry.path().string(), "--genesis", genesis_});
    EXPECT_EQ(v.exit_code, 0) << v.Describe();
    EXPECT_THAT(v.out, StartsWith("OK: tx ")) << v.Describe();
    ++verified;
  }
  EXPECT_EQ(verified, 3);
  Refused("stranger", {"usage", "list", "--contract", id}, "is not a party to contract");

  // The statement, by hand, under the agreed (countered) price: 2.00/call, 0.01/row,
  // 0.05/compute second charged per call as ceil(ms × 5 / 1000). The violation is not billed.
  //   per_call  2 × 200 = 400;  per_row (300 + 200) × 1 = 500;
  //   compute   ceil(2500 × 5 / 1000) + ceil(1000 × 5 / 1000) = 13 + 5 = 18;  total 918.
  std::vector<std::vector<std::string>> lines =
      Csv("eastbridge-bank", {"bill", "--period", period, "--provider", "zj-tax-data"});
  EXPECT_THAT(CsvColumn(lines, "component"), ElementsAre("per_call", "per_row", "compute"));
  EXPECT_THAT(CsvColumn(lines, "quantity"), ElementsAre("2", "500", "3500"));
  EXPECT_THAT(CsvColumn(lines, "amount"), ElementsAre("400", "500", "18"));
  const std::string bill = Ok("zj-tax-data", {"bill", "--period", period});
  EXPECT_THAT(bill, HasSubstr("statement: provider zj-tax-data, consumer eastbridge-bank"));
  EXPECT_THAT(bill, HasSubstr("total: 9.18 CNY (918 minor units)"));
  EXPECT_THAT(bill, HasSubstr("records: 3 (1 violation(s) listed, not billed"));
  nlohmann::json statements = Json("zj-tax-data", {"bill", "--period", period});
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(statements[0]["totals"][0]["amount"], "918");
  Refused(
      "stranger",
      {"bill", "--period", period, "--provider", "zj-tax-data", "--consumer", "eastbridge-bank"},
      "may read only statements where it is the provider or the consumer");

  // The valuation prints its inputs, figures and every method line.
  Ok("zj-tax-data", {"product", "cost", "zj-invoice-features", "--period", period, "--category",
                     "storage", "--amount", "120000", "--currency", "CNY"});
  const std::string value = Ok("zj-tax-data", {"value", "zj-invoice-features", "--as-of", period,
                                               "--discount-rate-bp", "1200", "--horizon", "24"});
  EXPECT_THAT(value, HasSubstr("as of period:      " + period));
  EXPECT_THAT(value, HasSubstr("discount rate:     1200 bp a year"));
  EXPECT_THAT(value, HasSubstr("horizon:           24 periods"));
  EXPECT_THAT(value, HasSubstr("trailing revenue:      9.18 CNY"));
  EXPECT_THAT(value, HasSubstr("cost approach value:   1200.00 CNY"));
  EXPECT_THAT(value, HasSubstr("method:\n"));
  EXPECT_THAT(value, HasSubstr("  trailing_revenue = "));
  EXPECT_THAT(value, HasSubstr("  income_value = "));
  EXPECT_THAT(value, HasSubstr("  cost_value = "));
  nlohmann::json valuation = Json("auditor-1", {"value", "zj-invoice-features"});
  ASSERT_EQ(valuation.size(), 1u);
  EXPECT_EQ(valuation[0]["trailing_revenue"], "918");
  EXPECT_FALSE(valuation[0]["method"].empty());
  Refused("eastbridge-bank", {"value", "zj-invoice-features"},
          "may not read the valuation of product 'zj-invoice-features'");
}

TEST_F(DataSpaceTest, GovernanceAdmitsAMemberWhoCanThenAct) {
  CommandResult pub = RunTds({"keygen", "--out", dir_.File("new-bank.key")});
  ASSERT_EQ(pub.exit_code, 0) << pub.Describe();
  const std::string key = pub.out.substr(0, 64);

  const std::string proposed =
      Ok("zj-tax-data", {"member", "propose", "add", "new-bank", "--roles", "consumer",
                         "--public-key", key, "--name", "New Bank", "--reason", "joins"});
  EXPECT_THAT(proposed, HasSubstr("proposal 1 to add member new-bank is open"));
  // Not yet a member: its key is refused by name.
  Refused("new-bank", {"product", "list"}, "is not the key of a current member");

  EXPECT_THAT(Ok("eastbridge-bank", {"member", "vote", "1", "--approve"}),
              HasSubstr("approved proposal 1: now OPEN"));
  Refused("eastbridge-bank", {"member", "vote", "1", "--approve"}, "gov.vote");
  Ok("auditor-1", {"member", "vote", "1", "--approve"});
  EXPECT_THAT(Ok("node-1", {"member", "vote", "1", "--approve"}),
              HasSubstr("approved proposal 1: now PASSED"));

  std::vector<std::vector<std::string>> members = Csv("", {"member", "list"});
  EXPECT_THAT(CsvColumn(members, "id"), ElementsAre("auditor-1", "eastbridge-bank", "new-bank",
                                                    "node-1", "stranger", "zj-tax-data"));
  nlohmann::json proposals = Json("", {"member", "proposals"});
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_EQ(proposals[0]["status"], "PROPOSAL_PASSED");
  EXPECT_EQ(proposals[0]["votes"].size(), 4u);
  EXPECT_THAT(Ok("", {"member", "proposals"}), HasSubstr("add member new-bank (consumer)"));

  // The new member signs queries and transactions at once.
  Ok("new-bank", {"product", "list"});
  Ok("new-bank", {"member", "propose", "remove", "stranger", "--reason", "inactive"});
  Refused("stranger", {"member", "vote", "9", "--approve"}, "gov.vote");
}

TEST_F(DataSpaceTest, EveryListingPrintsTableJsonAndCsv) {
  Ok("zj-tax-data", {"product", "publish", Sample("products/zj-invoice-features.yaml")});
  const std::vector<std::vector<std::string>> listings = {
      {"product", "list"},  {"product", "search", "invoice"},
      {"contract", "list"}, {"usage", "list"},
      {"member", "list"},   {"member", "proposals"}};
  for (const std::vector<std::string>& args : listings) {
    const std::string table = Ok("auditor-1", args);
    EXPECT_FALSE(table.empty()) << args[0] << " " << args[1];
    EXPECT_TRUE(Json("auditor-1", args).is_array()) << args[0] << " " << args[1];
    std::vector<std::vector<std::string>> rows = Csv("auditor-1", args);
    ASSERT_FALSE(rows.empty()) << args[0] << " " << args[1];
    for (const auto& row : rows) EXPECT_EQ(row.size(), rows[0].size()) << args[0];
  }
  CommandResult bad = As("auditor-1", {"member", "list", "-o", "yaml"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("yaml"));
  CommandResult help = RunTds({"usage", "record", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--compute-ms"));
}

TEST_F(DataSpaceTest, AuditCommandsReadTheUsageLedgerAndReceipts) {
  const std::string id = NegotiatedContract();
  Use(id, "call-1", "credit_risk", "300", "2500");
  Use(id, "call-2", "marketing", "50", "100", /*reserve=*/false);

  // `audit usage` is `usage list` under the Audit service: the same rows.
  EXPECT_EQ(Csv("auditor-1", {"audit", "usage"}), Csv("auditor-1", {"usage", "list"}));
  EXPECT_EQ(Csv("eastbridge-bank", {"audit", "usage", "--contract", id}),
            Csv("eastbridge-bank", {"usage", "list", "--contract", id}));
  EXPECT_EQ(Json("stranger", {"audit", "usage"}).size(), 0u);
  Refused("stranger", {"audit", "usage", "--contract", id},
          "member 'stranger' is not a party to contract '" + id + "'");

  // Violations, narrowed by the term they broke.
  std::vector<std::vector<std::string>> flagged = Csv("auditor-1", {"audit", "violations"});
  EXPECT_THAT(CsvColumn(flagged, "purpose"), ElementsAre("marketing"));
  EXPECT_THAT(CsvColumn(flagged, "violations")[0], StartsWith("purpose: "));
  EXPECT_EQ(Json("auditor-1", {"audit", "violations", "--term", "calls_total"}).size(), 0u);
  EXPECT_EQ(Json("eastbridge-bank", {"audit", "violations", "--term", "purpose"}).size(), 1u);
  const std::string txid = CsvColumn(flagged, "txid")[0];
  ASSERT_EQ(txid.size(), 64u);

  // A receipt with its usage record, verified offline before it is written.
  const std::string path = dir_.File("violation.json");
  CommandResult receipt =
      As("auditor-1", {"audit", "receipt", txid, "--out", path, "--genesis", genesis_});
  ASSERT_EQ(receipt.exit_code, 0) << receipt.Describe();
  EXPECT_THAT(receipt.err, HasSubstr("usage record"));
  EXPECT_THAT(receipt.err, HasSubstr("VIOLATION: purpose: "));
  EXPECT_THAT(receipt.err, HasSubstr("verified offline against " + genesis_));
  CommandResult verified = RunTds({"verify", path, "--genesis", genesis_});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  EXPECT_THAT(verified.out, HasSubstr("OK: tx " + txid));
  // The receipt alone goes to stdout without --out.
  CommandResult to_stdout = As("eastbridge-bank", {"audit", "receipt", txid});
  EXPECT_EQ(to_stdout.exit_code, 0) << to_stdout.Describe();
  EXPECT_THAT(to_stdout.out, HasSubstr("\"txid\": \"" + txid + "\""));

  // Against a genesis of another data space the receipt does not verify: one line, exit 1.
  std::filesystem::create_directories(dir_.File("other"));
  ASSERT_TRUE(
      MakeGenesis(dir_.File("other"), "other.tds.test", {{"v", "validator"}}, "other.json").ok());
  CommandResult forged =
      As("auditor-1", {"audit", "receipt", txid, "--genesis", dir_.File("other/other.json")});
  EXPECT_EQ(forged.exit_code, 1) << forged.Describe();
  EXPECT_THAT(forged.err, StartsWith("error: the node's receipt does not verify against "));
  EXPECT_EQ(std::count(forged.err.begin(), forged.err.end(), '\n'), 1) << forged.err;
  EXPECT_EQ(forged.out, "");

  Refused("stranger", {"audit", "receipt", txid},
          "member 'stranger' may read receipts only of its own transactions");
  Refused("auditor-1", {"audit", "receipt", "abc"}, "TXID");
  Refused("auditor-1", {"audit", "receipt", std::string(64, '0')}, "is not in the log");
  CommandResult anonymous = As("", {"audit", "usage"});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, StartsWith("error: this command signs"));
}

TEST_F(DataSpaceTest, NodeStatusOfTheValidatorAndOfAFollower) {
  const std::string validator = Ok("eastbridge-bank", {"node", "status"});
  EXPECT_THAT(validator, HasSubstr("role:            validator\n"));
  EXPECT_THAT(validator, HasSubstr("member:          node-1\n"));
  EXPECT_THAT(validator, HasSubstr("origin:          dataspace.tds.test\n"));
  EXPECT_THAT(validator, HasSubstr("validator:       -\n"));
  EXPECT_THAT(validator, HasSubstr("sources:         -\n"));
  CommandResult json = As("eastbridge-bank", {"node", "status", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  nlohmann::json status = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(status.is_object()) << json.out;
  EXPECT_EQ(status["role"], "validator");
  EXPECT_FALSE(status["version"].get<std::string>().empty());
  CommandResult anonymous = As("", {"node", "status"});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, StartsWith("error: "));

  // A follower reports whom it follows and how far behind it is.
  Ok("zj-tax-data", {"product", "publish", Sample("products/zj-invoice-features.yaml")});
  Node::Options o;
  o.data_dir = dir_.File("follower-data");
  o.genesis = genesis_;
  o.key = dir_.File("auditor-1.key");
  o.work_dir = dir_.File("follower");
  std::filesystem::create_directories(o.work_dir);
  o.extra_flags = {"--validator", node_->address()};
  absl::StatusOr<std::unique_ptr<Node>> follower = Node::Start(o);
  ASSERT_TRUE(follower.ok()) << follower.status();
  std::vector<std::string> args = {"--node",
                                   (*follower)->address(),
                                   "--insecure-dev",
                                   "--key",
                                   dir_.File("eastbridge-bank.key"),
                                   "node",
                                   "status",
                                   "-o",
                                   "csv"};
  std::vector<std::vector<std::string>> rows;
  for (int attempt = 0; attempt < 100; ++attempt) {  // until it has caught up
    CommandResult r = RunTds(args);
    ASSERT_EQ(r.exit_code, 0) << r.Describe() << (*follower)->Log();
    rows = ParseCsv(r.out);
    if (r.out.find("connected, validator height 1, lag 0") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::map<std::string, std::string> fields;
  for (const auto& row : rows) {
    if (row.size() == 2) fields[row[0]] = row[1];
  }
  EXPECT_EQ(fields["role"], "follower");
  EXPECT_EQ(fields["member"], "auditor-1");
  EXPECT_EQ(fields["validator"], node_->address());
  EXPECT_EQ(fields["height"], "1");
  EXPECT_EQ(fields["replication"], "connected, validator height 1, lag 0 block(s)");
  EXPECT_EQ(fields["last_error"], "-");
}

}  // namespace
}  // namespace tds::testing
