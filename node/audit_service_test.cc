// The Audit and Admin services: over the wire against a real Server (node/in_process_test.h),
// and Admin's facts (follower replication, sources) against a ledger opened in the test.

#include "node/audit_service.h"

#include <memory>
#include <set>
#include <string>

#include "common/bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "node/admin_service.h"
#include "node/in_process_test.h"
#include "sdk/query_client.h"

namespace tds::node {
namespace {

using ::testing::HasSubstr;
using namespace ::tds::node::testing;  // NOLINT: the shared fixture's members and constants

class AuditServiceTest : public InProcessDataSpaceTest {};

TEST_F(AuditServiceTest, AuditListUsageAnswersExactlyAsContractsListUsage) {
  const std::string id = ActiveContract();
  for (int i = 0; i < 3; ++i) Use(id, "credit_risk", 5 + i);
  Use(id, "marketing", 1, /*reserve=*/false);

  tds::ListUsageRequest all;
  all.mutable_page()->set_limit(3);
  tds::ListUsageRequest by_pair;
  by_pair.set_provider("zj");
  by_pair.set_consumer("bank");
  for (const Who* who : {&kBank, &kZj, &kAudit, &kStranger}) {
    for (const tds::ListUsageRequest& request : {all, by_pair}) {
      absl::StatusOr<tds::ListUsageResponse> contracts = As(who)->ListUsage(request);
      absl::StatusOr<tds::ListUsageResponse> audit = As(who)->AuditUsage(request);
      ASSERT_EQ(contracts.status(), audit.status()) << who->id;
      if (contracts.ok()) {
        EXPECT_EQ(contracts->SerializeAsString(), audit->SerializeAsString()) << who->id;
      }
    }
  }
  EXPECT_EQ(As(&kAudit)->AuditUsage(all)->items_size(), 3);
  EXPECT_EQ(As(&kStranger)->AuditUsage(all)->items_size(), 0);
  ExpectCode(As(&kStranger)->AuditUsage(by_pair).status(), absl::StatusCode::kPermissionDenied,
             "member 'stranger' may read only usage where it is the provider or the consumer");
  ExpectCode(As(nullptr)->AuditUsage(all).status(), absl::StatusCode::kUnauthenticated,
             "sign the query");
}

TEST_F(AuditServiceTest, ListViolationsShowsOnlyFlaggedRecordsFilteredByTerm) {
  const std::string id = ActiveContract();
  Use(id, "credit_risk", 5);
  tds::SubmitResponse flagged = Use(id, "marketing", 1, /*reserve=*/false);

  tds::ListViolationsRequest request;
  request.set_with_receipts(true);
  absl::StatusOr<tds::ListUsageResponse> v = As(&kAudit)->ListViolations(request);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->items_size(), 1);
  EXPECT_EQ(v->items(0).record().txid(), flagged.txid());
  EXPECT_EQ(v->items(0).record().violations(0).term(), "purpose");
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Parse(genesis_, "genesis");
  ASSERT_TRUE(genesis.ok());
  EXPECT_TRUE(ledger::VerifyReceipt(v->items(0).receipt(), *genesis).ok());

  request.set_term("purpose");
  request.set_contract_id(id);
  EXPECT_EQ(As(&kBank)->ListViolations(request)->items_size(), 1);
  request.set_term("calls_total");
  EXPECT_EQ(As(&kAudit)->ListViolations(request)->items_size(), 0);
  // Purpose and operation narrow through their own indexes.
  request.set_term("purpose");
  request.set_purpose("marketing");
  EXPECT_EQ(As(&kAudit)->ListViolations(request)->items_size(), 1);
  request.set_purpose("credit_risk");
  EXPECT_EQ(As(&kAudit)->ListViolations(request)->items_size(), 0);
  request.set_purpose("");
  request.set_operation("no-such-operation");
  EXPECT_EQ(As(&kAudit)->ListViolations(request)->items_size(), 0);
  request.set_operation(std::string(65, 'o'));
  ExpectCode(As(&kAudit)->ListViolations(request).status(), absl::StatusCode::kInvalidArgument,
             "operation: 65 bytes exceeds the limit of 64");
  request.set_operation("");
  request.mutable_page()->set_cursor("not-a-cursor");
  ExpectCode(As(&kAudit)->ListViolations(request).status(), absl::StatusCode::kInvalidArgument,
             "page.cursor");
  request.mutable_page()->set_cursor("");

  // A stranger sees nothing of someone else's contract; malformed filters name the field.
  request.set_term("");
  ExpectCode(As(&kStranger)->ListViolations(request).status(), absl::StatusCode::kPermissionDenied,
             "member 'stranger' is not a party to contract '" + id + "'");
  request.set_contract_id("");
  EXPECT_EQ(As(&kStranger)->ListViolations(request)->items_size(), 0);
  request.set_term(std::string(65, 'x'));
  ExpectCode(As(&kAudit)->ListViolations(request).status(), absl::StatusCode::kInvalidArgument,
             "term: 65 bytes exceeds the limit of 64");
  request.set_term("");
  request.set_from_ms(10);
  request.set_to_ms(5);
  ExpectCode(As(&kAudit)->ListViolations(request).status(), absl::StatusCode::kInvalidArgument,
             "to_ms: 5 is not after from_ms 10");
}

TEST_F(AuditServiceTest, ReservationsFollowTheContractsAccessRulesAndExpire) {
  const std::string id = ActiveContract();
  Use(id, "credit_risk", 5);  // reserved, then consumed by its record
  const std::string open =
      sdk::BuildUsageRequest(*keys_["bank"], "bank", id, "psi", "credit_risk", {"tax_id"}, "", "");
  MustSubmit(kZj, sdk::ReserveUsage(open, 1000));
  const std::string brief =
      sdk::BuildUsageRequest(*keys_["bank"], "bank", id, "psi", "credit_risk", {"tax_id"}, "", "");
  MustSubmit(kZj, sdk::ReserveUsage(brief, 1));
  // Another block: the one-block reservation can no longer be consumed.
  MustSubmit(kBank, sdk::RequestContract("invoices", FromYaml<tds::Terms>(kTermsYaml)));

  auto states = [&](const Who* who, tds::ListReservationsRequest request) {
    std::multiset<std::string> out;
    absl::StatusOr<tds::ListReservationsResponse> r = As(who)->ListReservations(request);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return out;
    for (const tds::Reservation& res : r->reservations()) {
      EXPECT_EQ(res.contract_id(), id);
      out.insert(tds::ReservationState_Name(res.state()));
    }
    return out;
  };
  const std::multiset<std::string> all = {"RESERVATION_CONSUMED", "RESERVATION_EXPIRED",
                                          "RESERVATION_OPEN"};
  EXPECT_EQ(states(&kAudit, {}), all);
  EXPECT_EQ(states(&kBank, {}), all);
  EXPECT_EQ(states(&kZj, {}), all);
  EXPECT_TRUE(states(&kStranger, {}).empty());
  tds::ListReservationsRequest open_only;
  open_only.set_state(tds::RESERVATION_OPEN);
  open_only.set_contract_id(id);
  EXPECT_EQ(states(&kAudit, open_only), std::multiset<std::string>{"RESERVATION_OPEN"});
  ExpectCode(As(&kStranger)->ListReservations(open_only).status(),
             absl::StatusCode::kPermissionDenied, "member 'stranger'");

  // Pages of one, resumed by the cursor, visit all three exactly once.
  tds::ListReservationsRequest paged;
  paged.mutable_page()->set_limit(1);
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<tds::ListReservationsResponse> r = As(&kAudit)->ListReservations(paged);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const tds::Reservation& res : r->reservations()) EXPECT_TRUE(seen.insert(res.id()).second);
    if (r->next_cursor().empty()) break;
    paged.mutable_page()->set_cursor(r->next_cursor());
  }
  EXPECT_EQ(seen.size(), 3u);

  tds::ListReservationsRequest bad;
  bad.mutable_page()->set_cursor("zz");
  ExpectCode(As(&kAudit)->ListReservations(bad).status(), absl::StatusCode::kInvalidArgument,
             "page.cursor");
  bad.clear_page();
  bad.set_state(static_cast<tds::ReservationState>(9));
  ExpectCode(As(&kAudit)->ListReservations(bad).status(), absl::StatusCode::kInvalidArgument,
             "unknown reservation state 9");
  ExpectCode(As(nullptr)->ListReservations({}).status(), absl::StatusCode::kUnauthenticated,
             "reservations are visible");
}

TEST_F(AuditServiceTest, ReceiptsGoToTheSubmitterThePartiesAndAuditors) {
  const std::string id = ActiveContract();
  tds::SubmitResponse used = Use(id, "credit_risk", 7);
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Parse(genesis_, "genesis");
  ASSERT_TRUE(genesis.ok());

  tds::AuditReceiptRequest usage;
  usage.set_txid(used.txid());
  for (const Who* who : {&kBank, &kZj, &kAudit, &kNode}) {
    absl::StatusOr<tds::AuditReceiptResponse> r = As(who)->AuditReceipt(usage);
    ASSERT_TRUE(r.ok()) << who->id << ": " << r.status();
    EXPECT_EQ(r->usage().contract_id(), id);
    EXPECT_EQ(r->usage().measurement().rows_out(), 7u);
    absl::StatusOr<ledger::VerifiedReceipt> verified =
        ledger::VerifyReceipt(r->receipt(), *genesis);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(std::string(AsBytes(verified->txid)), used.txid());
    EXPECT_EQ(verified->submitter, "zj");
  }
  ExpectCode(As(&kStranger)->AuditReceipt(usage).status(), absl::StatusCode::kPermissionDenied,
             "member 'stranger' may read receipts only of its own transactions and of usage "
             "records where it is a party, not of transaction " +
                 HexEncode(used.txid()) + " submitted by 'zj'");
  ExpectCode(As(nullptr)->AuditReceipt(usage).status(), absl::StatusCode::kUnauthenticated,
             "sign the query");

  // Not a usage record: only its submitter (and auditors) may read it.
  absl::StatusOr<tds::SubmitResponse> retire =
      Submit(kZj, sdk::RetireProduct("registry", "superseded"));
  ASSERT_TRUE(retire.ok()) << retire.status();
  tds::AuditReceiptRequest retired;
  retired.set_txid(retire->txid());
  absl::StatusOr<tds::AuditReceiptResponse> own = As(&kZj)->AuditReceipt(retired);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_FALSE(own->has_usage());
  EXPECT_TRUE(As(&kAudit)->AuditReceipt(retired).ok());
  ExpectCode(As(&kBank)->AuditReceipt(retired).status(), absl::StatusCode::kPermissionDenied,
             "submitted by 'zj'");

  tds::AuditReceiptRequest bad;
  bad.set_txid("abc");
  ExpectCode(As(&kAudit)->AuditReceipt(bad).status(), absl::StatusCode::kInvalidArgument, "txid");
  bad.set_txid(std::string(32, '\x01'));
  ExpectCode(As(&kAudit)->AuditReceipt(bad).status(), absl::StatusCode::kNotFound,
             "is not in the log");
}

TEST_F(AuditServiceTest, NodeStatusDescribesTheValidatorToMembersOnly) {
  ActiveContract();
  absl::StatusOr<tds::NodeStatus> status = As(&kBank)->GetNodeStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  absl::StatusOr<tds::GetStatusResponse> ledger = ledger_->GetStatus();
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(status->role(), "validator");
  EXPECT_EQ(status->member_id(), "node");
  EXPECT_EQ(status->origin(), "tds-query-test");
  EXPECT_EQ(status->height(), ledger->height());
  EXPECT_EQ(status->log_size(), ledger->log_size());
  EXPECT_EQ(status->last_block_time_ms(), ledger->last_block_time_ms());
  EXPECT_EQ(status->validator_address(), "");
  EXPECT_FALSE(status->has_replication());
  EXPECT_EQ(status->sources_size(), 0);
  EXPECT_EQ(status->version(), NodeVersion());
  EXPECT_FALSE(status->version().empty());
  ExpectCode(As(nullptr)->GetNodeStatus().status(), absl::StatusCode::kUnauthenticated,
             "node status is visible to members only");
}

TEST(AdminServiceTest, FollowerReportsReplicationLagErrorsAndItsSources) {
  ledger::testing::TempDir dir;
  absl::StatusOr<std::string> json = ledger::BuildGenesisJson(
      "admin-test", {"v:validator:" + KeyFromByte(1)->public_key().hex(),
                     "bank:consumer:" + KeyFromByte(2)->public_key().hex()});
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Parse(*json, "genesis");
  ASSERT_TRUE(genesis.ok()) << genesis.status();
  ledger::Application app;
  ledger::LedgerOptions options;
  options.data_dir = dir.Sub("data");
  options.follower = true;
  absl::StatusOr<std::unique_ptr<ledger::Ledger>> opened =
      ledger::Ledger::Open(options, *std::move(genesis), KeyFromByte(2), &app);
  ASSERT_TRUE(opened.ok()) << opened.status();

  NodeFacts facts;
  facts.validator_address = "10.0.0.7:7400";
  facts.replication = [] {
    ReplicatorStatus r;
    r.connected = false;
    r.validator_height = 12;
    r.last_error = absl::UnavailableError("stream from the validator broke: connection reset");
    return r;
  };
  for (auto [product, kind] : {std::pair{"invoices", "csv"}, std::pair{"ledger", "postgres"}}) {
    tds::ServedSource* source = &facts.sources.emplace_back();
    source->set_product(product);
    source->set_kind(kind);
  }
  facts.started = std::chrono::steady_clock::now() - std::chrono::seconds(90);
  AdminService admin(opened->get(), std::move(facts), QueryServiceOptions());

  tds::GetNodeStatusRequest request;
  request.set_auth(sdk::BuildQueryAuth(*KeyFromByte(2), "bank", NowMs()));
  tds::NodeStatus status;
  grpc::ServerContext plaintext;  // no call: no TLS certificate, `auth` decides
  ASSERT_TRUE(admin.DoGetNodeStatus(plaintext, request, &status).ok());
  EXPECT_EQ(status.role(), "follower");
  EXPECT_EQ(status.member_id(), "bank");
  EXPECT_EQ(status.origin(), "admin-test");
  EXPECT_EQ(status.height(), 0u);
  EXPECT_EQ(status.validator_address(), "10.0.0.7:7400");
  EXPECT_FALSE(status.replication().connected());
  EXPECT_EQ(status.replication().validator_height(), 12u);
  EXPECT_EQ(status.replication().lag(), 12u);
  EXPECT_EQ(status.replication().last_error(), "stream from the validator broke: connection reset");
  EXPECT_FALSE(status.replication().halted());
  ASSERT_EQ(status.sources_size(), 2);
  EXPECT_EQ(status.sources(0).product(), "invoices");
  EXPECT_EQ(status.sources(1).kind(), "postgres");
  EXPECT_GE(status.uptime_s(), 90u);

  // A signature by another key than the member's is refused, naming the check.
  request.set_auth(sdk::BuildQueryAuth(*KeyFromByte(9), "bank", NowMs()));
  absl::Status forged = admin.DoGetNodeStatus(plaintext, request, &status);
  EXPECT_EQ(forged.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(forged.message()), HasSubstr("not the key of member 'bank'"));
}

}  // namespace
}  // namespace tds::node
