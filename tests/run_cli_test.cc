// `tds run psi|stats` and the C++ SDK example against a real tdsd whose gateway serves a CSV
// product of the node's own member: a bank negotiates a contract with the CLI, intersects a CSV
// of its customers, runs joint statistics, and verifies the receipts offline.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "common/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace tds::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kProduct[] = R"(id: bureau
title: Bureau income records
description: Declared incomes by tax id
tags: [income, credit]
level: 3
update_cadence: monthly
operations: [psi, stats]
schema:
  - {name: tax_id, type: string, level: 3}
  - {name: income, type: int64, level: 2}
offer:
  operations: [psi, stats]
  purposes: [credit_risk, anti_fraud]
  columns: [tax_id, income]
  psi_output: both
  max_calls_total: 100
  metering: METERING_STRICT
  price: {currency: CNY, per_call: 100}
)";

constexpr char kTerms[] = R"(operations: [psi, stats]
purposes: [credit_risk]
columns: [tax_id, income]
psi_output: both
valid_until_ms: 4102444800000
max_calls_total: 20
metering: METERING_STRICT
price: {currency: CNY, per_call: 100}
)";

// The bank's customers: three of them (T003 twice) are in the bureau's T000..T019.
constexpr char kCustomers[] =
    "name,tax_id\r\n"
    "\"Li, Wei\",T003\r\n"
    "Zhang,X999\r\n"
    "Wang,T017\r\n"
    "\"Zhao \"\"Jr\"\"\",T003\r\n"
    "Qian,Y123\r\n";

// The same rows as a level-2 product open to anonymous query.
constexpr char kRegistry[] = R"(id: registry
title: Income registry
description: Declared incomes by tax id, for anonymous lookup
level: 2
update_cadence: monthly
operations: [query]
schema:
  - {name: tax_id, type: string, level: 2}
  - {name: income, type: int64, level: 2}
offer:
  operations: [query]
  purposes: [credit_risk]
  columns: [tax_id, income]
  max_calls_total: 100
  metering: METERING_STRICT
  price: {currency: CNY, per_call: 10, per_row: 1}
)";

constexpr char kQueryTerms[] = R"(operations: [query]
purposes: [credit_risk]
columns: [tax_id, income]
query_k: 5
valid_until_ms: 4102444800000
max_calls_total: 20
metering: METERING_STRICT
price: {currency: CNY, per_call: 10, per_row: 1}
)";

class RunCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> genesis = MakeGenesis(
        dir_.path(), "run.tds.test",
        {{"node-1", "validator,provider"}, {"bank", "consumer"}, {"stranger", "consumer"}});
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    genesis_ = *genesis;
    std::string csv = "tax_id,income\n";
    for (int i = 0; i < 20; ++i) {
      csv += "T0" + std::string(i < 10 ? "0" : "") + std::to_string(i) + "," +
             std::to_string(1000 * i) + "\n";
    }
    ASSERT_TRUE(WriteFileAtomic(dir_.File("bureau.csv"), csv).ok());
    ASSERT_TRUE(WriteFileAtomic(
                    dir_.File("node.yaml"),
                    "sources:\n  - {product: bureau, kind: csv, path: " + dir_.File("bureau.csv") +
                        ", id_column: tax_id}\n  - {product: registry, kind: csv, "
                        "path: " +
                        dir_.File("bureau.csv") + ", id_column: tax_id}\n")
                    .ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.File("bureau.yaml"), kProduct).ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.File("terms.yaml"), kTerms).ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.File("customers.csv"), kCustomers).ok());
    Node::Options o;
    o.data_dir = dir_.File("data");
    o.genesis = genesis_;
    o.key = dir_.File("node-1.key");
    o.work_dir = dir_.path();
    o.extra_flags = {"--config", dir_.File("node.yaml")};
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);

    Ok("node-1", {"product", "publish", dir_.File("bureau.yaml")});
    const std::string requested =
        Ok("bank", {"contract", "request", "bureau", "--terms", dir_.File("terms.yaml")});
    std::smatch m;
    ASSERT_TRUE(std::regex_search(requested, m, std::regex("result: (c-[0-9a-f]{32})\n")))
        << requested;
    contract_ = m[1];
    Ok("node-1", {"contract", "accept", contract_});
  }

  CommandResult As(const std::string& member, std::vector<std::string> args) {
    std::vector<std::string> full = {"--node", node_->address(), "--insecure-dev", "--key",
                                     dir_.File(member + ".key")};
    full.insert(full.end(), args.begin(), args.end());
    return RunTds(full);
  }

  std::string Ok(const std::string& member, std::vector<std::string> args) {
    CommandResult r = As(member, args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe() << node_->Log();
    return r.out;
  }

  // Exit 1 and exactly one line on stderr, "error: ...", containing `message`.
  void OneLineError(const CommandResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_THAT(r.err, StartsWith("error: ")) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr(message)) << r.Describe();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.Describe();
  }

  size_t UsageRecords() {
    CommandResult r = As("bank", {"audit", "usage", "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return nlohmann::json::parse(r.out, nullptr, false).size();
  }

  TempDir dir_;
  std::string genesis_;
  std::unique_ptr<Node> node_;
  std::string contract_;
};

TEST_F(RunCliTest, PsiWritesTheMatchedRowsAndVerifiesTheReceipt) {
  const std::string out = dir_.File("matched.csv");
  CommandResult r =
      As("bank", {"run", "psi", "--contract", contract_, "--input", dir_.File("customers.csv"),
                  "--column", "tax_id", "--out", out, "--genesis", genesis_});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << node_->Log();
  // One line: what matched, where it went, the usage record, the offline check.
  EXPECT_THAT(r.out,
              ContainsRegex("^matched 3 of 5 ids \\(ECDH-PSI\\); wrote 3 row\\(s\\) to " + out +
                            "; usage [0-9a-f]{64} \\(block [0-9]+\\); receipt verified "
                            "locally\n$"));
  // Progress went to stderr as whole lines (not a terminal).
  EXPECT_THAT(r.err, ContainsRegex("(^|\n)psi: [a-z-]+"));
  // The matched rows of the input, byte for byte, header first.
  absl::StatusOr<std::string> matched = ReadFile(out);
  ASSERT_TRUE(matched.ok());
  EXPECT_EQ(*matched,
            "name,tax_id\r\n"
            "\"Li, Wei\",T003\r\n"
            "Wang,T017\r\n"
            "\"Zhao \"\"Jr\"\"\",T003\r\n");
  EXPECT_EQ(UsageRecords(), 1u);

  // The result file is never overwritten, and the refusal comes before a call is spent.
  CommandResult again =
      As("bank", {"run", "psi", "--contract", contract_, "--input", dir_.File("customers.csv"),
                  "--column", "tax_id", "--out", out});
  OneLineError(again, "--out " + out + ": exists");
  EXPECT_EQ(UsageRecords(), 1u);
}

TEST_F(RunCliTest, StatsPrintTheAggregatesInEveryFormat) {
  CommandResult r =
      As("bank", {"run", "stats", "--contract", contract_, "--input", dir_.File("customers.csv"),
                  "--column", "tax_id", "--stat", "income:sum", "--stat", "income:count", "--stat",
                  "income:histogram:5000,10000", "-o", "csv", "--genesis", genesis_});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << node_->Log();
  // The provider aggregates its rows T003 and T017 (its own rows, each once); CSV is RFC 4180.
  EXPECT_THAT(r.out, StartsWith("column,kind,value,rows,buckets\r\n"));
  EXPECT_THAT(r.out, HasSubstr("income,sum,20000,2,\r\n"));
  EXPECT_THAT(r.out, HasSubstr("income,count,2,2,\r\n"));
  EXPECT_THAT(r.out, HasSubstr("income,histogram,"));
  EXPECT_THAT(r.out, HasSubstr("<=5000:1 <=10000:0 >10000:1"));
  EXPECT_THAT(r.err, ContainsRegex("aligned [0-9]+ of 5 ids; usage [0-9a-f]{64} \\(block "
                                   "[0-9]+\\); receipt verified locally\n"));
  CommandResult json =
      As("bank", {"run", "stats", "--contract", contract_, "--input", dir_.File("customers.csv"),
                  "--column", "tax_id", "--stat", "income:mean", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  nlohmann::json rows = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(rows.is_array()) << json.out;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["kind"], "mean");
  EXPECT_EQ(rows[0]["value"], "10000.000000");
}

TEST_F(RunCliTest, EveryErrorIsOneLine) {
  const std::vector<std::string> base = {"run",     "psi",     "--contract",
                                         contract_, "--input", dir_.File("customers.csv")};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  // The gateway's refusal, word for word.
  OneLineError(As("bank", with({"--column", "tax_id", "--purpose", "marketing"})), "marketing");
  OneLineError(As("stranger", with({"--column", "tax_id"})), contract_);
  // Input problems, before anything is sent.
  OneLineError(As("bank", with({"--column", "tin"})),
               "no column 'tin' in the header (columns: name, tax_id)");
  OneLineError(
      As("bank", {"run", "psi", "--contract", contract_, "--input", dir_.File("none.csv")}),
      "none.csv");
  OneLineError(As("bank", {"run", "stats", "--contract", contract_, "--input",
                           dir_.File("customers.csv"), "--stat", "income"}),
               "--stat income: expected COLUMN:KIND[:BOUNDS]");
  OneLineError(As("bank", with({"--column", "tax_id", "--genesis", dir_.File("nope.json")})),
               "--genesis");
  EXPECT_EQ(UsageRecords(), 0u);
}

TEST_F(RunCliTest, TheSdkExampleIntersectsAndVerifies) {
  // The example's reader is minimal: ids in the first column, no quoting.
  ASSERT_TRUE(WriteFileAtomic(dir_.File("ids.csv"), "tax_id\nT003\nX999\nT017\n").ok());
  CommandResult r = RunCommand({BinPath("tds_example_bank_psi"), "--node", node_->address(),
                                "--key", dir_.File("bank.key"), "--insecure-dev", "--search",
                                "income", "--ids", dir_.File("ids.csv"), "--genesis", genesis_});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << node_->Log();
  EXPECT_THAT(r.out, HasSubstr("connected to " + node_->address() + " as bank\n"));
  EXPECT_THAT(r.out, HasSubstr("product bureau v1 by node-1: Bureau income records\n"));
  EXPECT_THAT(r.out, HasSubstr("contract " + contract_ + ": purposes credit_risk"));
  EXPECT_THAT(r.out, HasSubstr("intersection: 2 of 3 ids\n"));
  EXPECT_THAT(r.out, HasSubstr("receipt verified offline: block "));
}

TEST_F(RunCliTest, QueryPrintsEachIdFoundOrNotWithTheRequestedColumns) {
  ASSERT_TRUE(WriteFileAtomic(dir_.File("registry.yaml"), kRegistry).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_.File("query-terms.yaml"), kQueryTerms).ok());
  Ok("node-1", {"product", "publish", dir_.File("registry.yaml")});
  const std::string requested =
      Ok("bank", {"contract", "request", "registry", "--terms", dir_.File("query-terms.yaml")});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(requested, m, std::regex("result: (c-[0-9a-f]{32})\n")))
      << requested;
  const std::string contract = m[1];
  Ok("node-1", {"contract", "accept", contract});

  CommandResult r = As("bank", {"run", "query", "--contract", contract, "--id", "T003", "--id",
                                "X999", "--columns", "income", "-o", "csv", "--genesis", genesis_});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << node_->Log();
  EXPECT_EQ(r.out, "id,found,income\r\nT003,yes,3000\r\nX999,no,\r\n");  // RFC 4180
  EXPECT_THAT(r.err, ContainsRegex("found 1 of 2 ids \\(anonymous query; 2 identifier\\(s\\) "
                                   "metered\\); usage [0-9a-f]{64} \\(block [0-9]+\\); receipt "
                                   "verified locally"));
  // The node's anonymous query secrets: the master secret (0600) and the contract's pinned
  // bucket count, beside the ledger.
  const std::filesystem::path master = dir_.File("data") + "/query-master.key";
  ASSERT_TRUE(std::filesystem::exists(master));
  EXPECT_EQ(std::filesystem::file_size(master), 32u);
  EXPECT_EQ(std::filesystem::status(master).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_TRUE(std::filesystem::exists(dir_.File("data") + "/query-buckets/" + contract));
  // Neither --id nor --input: refused before anything is spent.
  OneLineError(As("bank", {"run", "query", "--contract", contract}),
               "give the identifiers either with --id (repeatable) or with --input");
}

}  // namespace
}  // namespace tds::testing
