#include "compute/enclave/enclave_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/file.h"
#include "common/keys.h"
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

// A row source over one table's encoded rows, in pieces of 10 000 bytes.
LocalInputProvider::RowSource SourceOf(const TestTable& t) {
  auto bytes = std::make_shared<std::string>(t.Encode());
  auto pos = std::make_shared<size_t>(0);
  return [bytes, pos](std::string* out) {
    const size_t n = std::min<size_t>(10000, bytes->size() - *pos);
    out->append(*bytes, *pos, n);
    *pos += n;
    return *pos < bytes->size();
  };
}

struct Node {
  std::unique_ptr<SigningKey> platform_key = *SigningKey::FromSeed(std::string(32, 'p'));
  SoftwareBackend backend{*platform_key};
  EnclaveJobOptions options;
  Node() {
    options.enclave_binary = TDS_ENCLAVE_BINARY;
    options.backend = &backend;
  }
  // A verifier that accepts exactly `spec` run by the built enclave binary.
  VerifierPolicy PolicyFor(const JobSpec& spec) const {
    VerifierPolicy p;
    p.accepted_measurements = {
        std::string(AsBytes(*SoftwareMeasurementOfFile(options.enclave_binary, spec)))};
    p.software_platform_keys = {platform_key->public_key()};
    return p;
  }
};

TEST(EnclaveJobTest, TwoProvidersJoinedWithTheBankMatchPlainSqlite) {
  Node node;
  const TestTable loans = Loans(0, 3000), defaults = Defaults(1000, 4000), bank = Bank(0, 2500);
  const std::vector<const TestTable*> tables{&loans, &defaults, &bank};
  const JobSpec spec = JoinSpec(tables, kJoinSql);
  // Each party verifies with its own verifier (its own nonces).
  AttestationVerifier va(node.PolicyFor(spec)), vb(node.PolicyFor(spec)),
      vbank(node.PolicyFor(spec)), consumer(node.PolicyFor(spec));
  LocalInputProvider a("loans", &va, SourceOf(loans));
  LocalInputProvider b("defaults", &vb, SourceOf(defaults));
  LocalInputProvider c("bank", &vbank, SourceOf(bank));
  const Nonce consumer_nonce = consumer.IssueNonce();
  auto job = RunEnclaveJob(node.options, spec, {&a, &b, &c}, consumer_nonce);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_TRUE(job->exit.exited && job->exit.code == 0) << job->exit.Describe();

  // The consumer checks the enclave and the signed result, then reads it.
  auto enclave = consumer.Verify(job->consumer_report, consumer_nonce);
  ASSERT_TRUE(enclave.ok()) << enclave.status();
  auto statement = VerifySignedResult(*enclave, JobSpecDigest(spec), job->signed_result);
  ASSERT_TRUE(statement.ok()) << statement.status();
  auto result = DecodeSqlResult(job->signed_result.result);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, testing::PlainSqlite(tables, kJoinSql));
  EXPECT_EQ(result->rows.size(), 12u);

  // Each provider can match the statement's digest of its input to what it sent.
  ASSERT_EQ(statement->inputs.size(), 3u);
  EXPECT_EQ(statement->inputs[0].digest, a.plaintext_digest());
  EXPECT_EQ(statement->inputs[1].digest, b.plaintext_digest());
  EXPECT_EQ(statement->inputs[2].rows, 2500u);

  // A result altered by the host does not verify.
  SignedResult altered = job->signed_result;
  altered.result[altered.result.size() - 1] ^= 1;
  EXPECT_FALSE(VerifySignedResult(*enclave, JobSpecDigest(spec), altered).ok());
}

TEST(EnclaveJobTest, ProviderRefusesAChangedJob) {
  Node node;
  const TestTable loans = Loans(0, 100), defaults = Defaults(0, 100), bank = Bank(0, 100);
  const std::vector<const TestTable*> tables{&loans, &defaults, &bank};
  const JobSpec approved = JoinSpec(tables, kJoinSql);
  JobSpec changed = approved;
  changed.sql = std::string(kJoinSql) + " LIMIT 3";
  changed.sql_digest = Sha256(changed.sql);
  AttestationVerifier va(node.PolicyFor(approved)), vb(node.PolicyFor(approved)),
      vc(node.PolicyFor(approved));
  LocalInputProvider a("loans", &va, SourceOf(loans));
  LocalInputProvider b("defaults", &vb, SourceOf(defaults));
  LocalInputProvider c("bank", &vc, SourceOf(bank));
  auto job = RunEnclaveJob(node.options, changed, {&a, &b, &c});
  EXPECT_EQ(job.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(job.status().message()),
              HasSubstr("provider of input 'loans' refused the enclave"));
  EXPECT_THAT(std::string(job.status().message()),
              HasSubstr("not among the accepted measurements"));
}

TEST(EnclaveJobTest, ProviderRefusesAChangedEnclaveBinary) {
  Node node;
  const TestTable loans = Loans(0, 100), defaults = Defaults(0, 100), bank = Bank(0, 100);
  const std::vector<const TestTable*> tables{&loans, &defaults, &bank};
  const JobSpec spec = JoinSpec(tables, kJoinSql);
  AttestationVerifier va(node.PolicyFor(spec)), vb(node.PolicyFor(spec)), vc(node.PolicyFor(spec));
  // The same program with one byte appended: it still runs, but it is not what was approved.
  auto binary = ReadFile(node.options.enclave_binary);
  ASSERT_TRUE(binary.ok());
  char dir[] = "/tmp/tds-enclave-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string changed = std::string(dir) + "/tds-enclave";
  ASSERT_TRUE(WriteFileExclusive(changed, *binary + std::string(1, '\0'), 0755).ok());
  node.options.enclave_binary = changed;
  LocalInputProvider a("loans", &va, SourceOf(loans));
  LocalInputProvider b("defaults", &vb, SourceOf(defaults));
  LocalInputProvider c("bank", &vc, SourceOf(bank));
  auto job = RunEnclaveJob(node.options, spec, {&a, &b, &c});
  ::unlink(changed.c_str());
  ::rmdir(dir);
  EXPECT_EQ(job.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(job.status().message()),
              HasSubstr("not among the accepted measurements"));
}

TEST(EnclaveJobTest, EnclaveRefusesSqlNotMatchingTheDigest) {
  Node node;
  const TestTable loans = Loans(0, 10), defaults = Defaults(0, 10), bank = Bank(0, 10);
  const std::vector<const TestTable*> tables{&loans, &defaults, &bank};
  JobSpec spec = JoinSpec(tables, kJoinSql);
  spec.sql_digest = Sha256("SELECT 1");
  AttestationVerifier v(node.PolicyFor(spec));
  LocalInputProvider a("loans", &v, SourceOf(loans)), b("defaults", &v, SourceOf(defaults)),
      c("bank", &v, SourceOf(bank));
  auto job = RunEnclaveJob(node.options, spec, {&a, &b, &c});
  EXPECT_EQ(job.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(job.status().message()), HasSubstr("differs from the job's approved"));
}

TEST(EnclaveJobTest, OutputPolicyRefusalComesBackFromTheEnclave) {
  Node node;
  const TestTable loans = Loans(0, 100), defaults = Defaults(0, 100), bank = Bank(0, 100);
  const std::vector<const TestTable*> tables{&loans, &defaults, &bank};
  const JobSpec spec = JoinSpec(tables, kJoinSql, /*k=*/50);
  AttestationVerifier v(node.PolicyFor(spec));
  LocalInputProvider a("loans", &v, SourceOf(loans)), b("defaults", &v, SourceOf(defaults)),
      c("bank", &v, SourceOf(bank));
  auto job = RunEnclaveJob(node.options, spec, {&a, &b, &c});
  EXPECT_EQ(job.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(job.status().message()), HasSubstr("output policy: minimum group size"));
}

// 10^6 rows of ~90 bytes stream through the enclave: its peak RSS stays below what SQLite
// itself holds (its heap high-water mark, which contains the database) plus a fixed 40 MiB for
// the process, one chunk and one row. Buffering the whole input anywhere in the enclave would
// add its ~90 MB and break the bound.
TEST(EnclaveJobTest, MillionRowInputStreamsInBoundedMemory) {
  Node node;
  static constexpr int kRows = 1000000;
  JobSpec spec;
  spec.sql = "SELECT region, COUNT(*) AS n, SUM(amount) AS total FROM big GROUP BY region";
  spec.sql_digest = Sha256(spec.sql);
  spec.inputs = {{"big",
                  {{"customer_id", ColumnType::kText, true},
                   {"region", ColumnType::kText},
                   {"amount", ColumnType::kInteger},
                   {"note", ColumnType::kText}}}};
  spec.policy = {{"region", "n", "total"}, "n", 10, 100};
  AttestationVerifier v(node.PolicyFor(spec));
  auto next = std::make_shared<int>(0);
  const std::string note(48, 'x');
  LocalInputProvider p(
      "big", &v,
      [next, note](std::string* out) {
        RowWriter w(out);
        for (int end = std::min(kRows, *next + 1000); *next < end; ++*next) {
          w.Text(testing::CustomerId(*next));
          w.Text(*next % 2 ? "north" : "south");
          w.Integer(*next % 97);
          w.Text(note);
        }
        return *next < kRows;
      },
      256 << 10);
  auto job = RunEnclaveJob(node.options, spec, {&p});
  ASSERT_TRUE(job.ok()) << job.status();
  auto result = DecodeSqlResult(job->signed_result.result);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(result->rows[0][1]) + std::get<int64_t>(result->rows[1][1]), kRows);

  const double input_mb = p.plaintext_bytes() / 1048576.0;
  const double sqlite_mb = job->sqlite_peak_bytes / 1048576.0;
  const double bound_mb = sqlite_mb + 40;
  ASSERT_GT(input_mb, 80);  // so that buffering the input would break the bound
  EXPECT_LT(job->exit.peak_rss_mb, bound_mb)
      << "input " << input_mb << " MB, sqlite peak " << sqlite_mb << " MB, database "
      << job->database_bytes / 1048576.0 << " MB";
  std::printf(
      "1e6 rows: input %.1f MB, enclave peak RSS %.1f MB, sqlite peak %.1f MB, "
      "database %.1f MB\n",
      input_mb, job->exit.peak_rss_mb, sqlite_mb, job->database_bytes / 1048576.0);
}

}  // namespace
}  // namespace tds::compute::enclave
