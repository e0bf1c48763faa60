#include "compute/enclave/confidential_sql.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/sha256.h"
#include "compute/enclave/enclave_test_util.h"

namespace tds::compute::enclave {
namespace {

using testing::Bank;
using testing::Defaults;
using ::testing::HasSubstr;
using testing::JoinSpec;
using testing::kJoinSql;
using testing::Loans;
using testing::TestTable;

// Loads `tables` (fed in pieces of `piece` bytes) and runs the job.
absl::StatusOr<SqlRun> RunJob(const JobSpec& spec, const std::vector<const TestTable*>& tables,
                              size_t piece = 1000) {
  auto q = ConfidentialSql::Create(spec);
  if (!q.ok()) return q.status();
  for (size_t i = 0; i < tables.size(); ++i) {
    const std::string bytes = tables[i]->Encode();
    for (size_t off = 0; off < bytes.size(); off += piece) {
      absl::Status s = (*q)->AddInput(i, std::string_view(bytes).substr(off, piece));
      if (!s.ok()) return s;
    }
    absl::Status s = (*q)->FinishInput(i);
    if (!s.ok()) return s;
  }
  return (*q)->Run();
}

struct Scenario {
  TestTable loans = Loans(0, 300);
  TestTable defaults = Defaults(100, 400);
  TestTable bank = Bank(0, 250);
  std::vector<const TestTable*> tables{&loans, &defaults, &bank};
};

TEST(ConfidentialSqlTest, ThreeInputJoinMatchesPlainSqlite) {
  Scenario s;
  auto run = RunJob(JoinSpec(s.tables, kJoinSql), s.tables);
  ASSERT_TRUE(run.ok()) << run.status();
  const auto expected = testing::PlainSqlite(s.tables, kJoinSql);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(run->result.rows, expected);
  EXPECT_EQ(run->result.columns,
            (std::vector<std::string>{"region", "segment", "n", "defaults", "avg_score"}));
  ASSERT_EQ(run->inputs.size(), 3u);
  EXPECT_EQ(run->inputs[0].rows, 300u);
  EXPECT_EQ(run->inputs[0].digest, Sha256(s.loans.Encode()));
}

TEST(ConfidentialSqlTest, RowsSplitAtEveryByteGiveTheSameResult) {
  Scenario s;
  auto whole = RunJob(JoinSpec(s.tables, kJoinSql), s.tables, 1 << 20);
  auto bytewise = RunJob(JoinSpec(s.tables, kJoinSql), s.tables, 1);
  ASSERT_TRUE(whole.ok() && bytewise.ok());
  EXPECT_EQ(whole->result.rows, bytewise->result.rows);
}

TEST(ConfidentialSqlTest, SqlDifferingFromTheApprovedDigestRefused) {
  Scenario s;
  JobSpec spec = JoinSpec(s.tables, kJoinSql);
  spec.sql += " LIMIT 1";  // the digest still names the approved text
  auto q = ConfidentialSql::Create(spec);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(q.status().message()),
              HasSubstr("differs from the job's approved digest"));
}

TEST(ConfidentialSqlTest, WritingOrMultipleStatementsRefused) {
  Scenario s;
  for (const char* sql : {"DELETE FROM loans", "SELECT 1 AS n; SELECT 2 AS n", "ATTACH 'x.db' AS x",
                          "PRAGMA page_count"}) {
    SCOPED_TRACE(sql);
    auto q = ConfidentialSql::Create(JoinSpec(s.tables, sql));
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ConfidentialSqlTest, ForbiddenColumnRefused) {
  Scenario s;
  JobSpec spec = JoinSpec(s.tables, kJoinSql);
  spec.policy.allowed_columns = {"region", "segment", "n", "defaults"};
  auto run = RunJob(spec, s.tables);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(run.status().message()),
              HasSubstr("output policy: allowed columns: result column 'avg_score'"));
}

TEST(ConfidentialSqlTest, GroupBelowKRefused) {
  Scenario s;
  auto run = RunJob(JoinSpec(s.tables, kJoinSql, /*k=*/20), s.tables);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(run.status().message()),
              HasSubstr("output policy: minimum group size: row 1 has group size"));
  // Without the count column a k rule cannot be checked: refused as well.
  const std::string no_count =
      "SELECT l.region AS region FROM loans l GROUP BY l.region HAVING COUNT(*) >= 20";
  run = RunJob(JoinSpec(s.tables, no_count), s.tables);
  EXPECT_THAT(std::string(run.status().message()), HasSubstr("no count column 'n'"));
}

TEST(ConfidentialSqlTest, TooManyRowsRefused) {
  Scenario s;
  JobSpec spec = JoinSpec(s.tables, kJoinSql);
  spec.policy.max_rows = 5;  // the join yields 12 groups
  auto run = RunJob(spec, s.tables);
  EXPECT_THAT(std::string(run.status().message()),
              HasSubstr("output policy: maximum rows: the result has more than max_rows=5"));
}

TEST(ConfidentialSqlTest, IdentifierColumnRefusedEvenWhenRenamed) {
  Scenario s;
  for (const char* sql :
       {"SELECT customer_id, COUNT(*) AS n FROM loans GROUP BY customer_id",
        "SELECT l.customer_id AS region, COUNT(*) AS n FROM loans l GROUP BY l.customer_id"}) {
    SCOPED_TRACE(sql);
    JobSpec spec = JoinSpec(s.tables, sql, /*k=*/1);
    spec.policy.allowed_columns.push_back("customer_id");
    auto run = RunJob(spec, s.tables);
    EXPECT_EQ(run.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(run.status().message()),
                HasSubstr("output policy: no identifier columns"));
  }
}

TEST(ConfidentialSqlTest, MistypedOrTruncatedInputRefused) {
  Scenario s;
  auto q = *ConfidentialSql::Create(JoinSpec(s.tables, kJoinSql));
  std::string bad;
  RowWriter w(&bad);
  w.Integer(5);  // customer_id is TEXT
  w.Text("R1");
  w.Integer(1);
  auto st = q->AddInput(0, bad);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.message()), HasSubstr("column 'customer_id': an INTEGER value"));

  auto q2 = *ConfidentialSql::Create(JoinSpec(s.tables, kJoinSql));
  const std::string bytes = s.loans.Encode();
  ASSERT_TRUE(q2->AddInput(0, std::string_view(bytes).substr(0, bytes.size() - 3)).ok());
  EXPECT_THAT(std::string(q2->FinishInput(0).message()), HasSubstr("ended inside row 300"));
  EXPECT_EQ(q2->Run().status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tds::compute::enclave
