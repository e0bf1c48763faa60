// The query services in process: a real Server (ledger on disk, port 0) fed real signed
// transactions through the SDK, queried by members with different rights.

#include "node/query_service.h"

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/file.h"
#include "common/period.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "ledger/test_util.h"
#include "node/in_process_test.h"
#include "node/server.h"
#include "proto/query_service.grpc.pb.h"
#include "sdk/client.h"
#include "sdk/query_client.h"
#include "sdk/tx_builders.h"

namespace tds::node {
namespace {

using ::testing::HasSubstr;
using namespace ::tds::node::testing;  // NOLINT: the shared fixture's members and constants

// The fixture lives in node/in_process_test.h (shared with the audit, admin and SDK tests).
class QueryServiceTest : public InProcessDataSpaceTest {};

TEST_F(QueryServiceTest, BeforeTheFirstBlockTheMembersAreGenesisAndSignedQueriesWork) {
  absl::StatusOr<tds::ListMembersResponse> members = As(nullptr)->ListMembers();
  ASSERT_TRUE(members.ok()) << members.status();
  std::vector<std::string> ids;
  for (const tds::Member& m : members->members()) ids.push_back(m.id());
  EXPECT_THAT(ids, ::testing::ElementsAre("audit", "bank", "node", "stranger", "zj"));
  EXPECT_EQ(*As(nullptr)->MemberIdFor(keys_["zj"]->public_key()), "zj");
  absl::StatusOr<tds::SearchProductsResponse> search = As(&kBank)->SearchProducts({});
  ASSERT_TRUE(search.ok()) << search.status();
  EXPECT_EQ(search->total(), 0u);
}

TEST_F(QueryServiceTest, SearchFollowsCommitsAndHidesLevelFiveFromStrangers) {
  MustSubmit(kZj, sdk::PublishProduct(FromYaml<tds::Product>(kProductYaml)));
  MustSubmit(kZj, sdk::PublishProduct(FromYaml<tds::Product>(kSecretYaml)));
  auto ids = [](const absl::StatusOr<tds::SearchProductsResponse>& r) {
    std::vector<std::string> out;
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      for (const tds::ProductSummary& p : r->products()) out.push_back(p.id());
    }
    return out;
  };
  tds::SearchProductsRequest credit;
  credit.set_text("credit");
  EXPECT_THAT(ids(As(&kBank)->SearchProducts(credit)),
              ::testing::ElementsAre("invoices", "registry"));
  EXPECT_THAT(ids(As(&kZj)->SearchProducts(credit)),
              ::testing::ElementsAre("invoices", "registry"));
  EXPECT_THAT(ids(As(&kStranger)->SearchProducts(credit)), ::testing::ElementsAre("invoices"));
  EXPECT_THAT(ids(As(nullptr)->SearchProducts(credit)), ::testing::ElementsAre("invoices"));

  // A hidden product reads exactly like one that does not exist.
  tds::GetProductRequest get;
  get.set_product_id("registry");
  absl::Status hidden = As(&kStranger)->GetProduct(get).status();
  get.set_product_id("no-such-product");
  absl::Status missing = As(&kStranger)->GetProduct(get).status();
  ExpectCode(hidden, absl::StatusCode::kNotFound, "product 'registry' not found");
  ExpectCode(missing, absl::StatusCode::kNotFound, "product 'no-such-product' not found");
  get.set_product_id("registry");
  absl::StatusOr<tds::GetProductResponse> seen = As(&kAudit)->GetProduct(get);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->product().provider(), "zj");
  EXPECT_EQ(seen->head().latest_version(), 1u);

  // Updates show up in search, history and DCAT.
  tds::Product v2 = FromYaml<tds::Product>(kProductYaml);
  v2.set_title("SME invoice features, monthly refresh");
  MustSubmit(kZj, sdk::UpdateProduct(v2));
  tds::SearchProductsRequest refresh;
  refresh.set_text("refresh");
  EXPECT_THAT(ids(As(nullptr)->SearchProducts(refresh)), ::testing::ElementsAre("invoices"));
  tds::ProductHistoryRequest history;
  history.set_product_id("invoices");
  absl::StatusOr<tds::ProductHistoryResponse> h = As(nullptr)->ProductHistory(history);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->versions_size(), 2);
  EXPECT_EQ(h->versions(0).version(), 1u);
  EXPECT_EQ(h->versions(1).title(), "SME invoice features, monthly refresh");
  get.set_product_id("invoices");
  get.set_version(3);
  ExpectCode(As(nullptr)->GetProduct(get).status(), absl::StatusCode::kNotFound,
             "has no version 3 (latest is 2)");
  tds::ExportDcatRequest dcat;
  dcat.set_product_id("invoices");
  absl::StatusOr<tds::ExportDcatResponse> d = As(nullptr)->ExportDcat(dcat);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->json_ld(), HasSubstr("dcat:Dataset"));
  dcat.set_product_id("registry");
  ExpectCode(As(&kStranger)->ExportDcat(dcat).status(), absl::StatusCode::kNotFound, "not found");
}

TEST_F(QueryServiceTest, ContractsAreListedToTheirPartiesAndAuditors) {
  const std::string id = ActiveContract();
  tds::ListContractsRequest mine;
  absl::StatusOr<tds::ListContractsResponse> bank = As(&kBank)->ListContracts(mine);
  ASSERT_TRUE(bank.ok()) << bank.status();
  ASSERT_EQ(bank->contracts_size(), 1);
  EXPECT_EQ(bank->contracts(0).id(), id);
  EXPECT_EQ(bank->contracts(0).state(), tds::ACTIVE);
  EXPECT_EQ(As(&kStranger)->ListContracts(mine)->contracts_size(), 0);

  tds::ListContractsRequest of_bank;
  of_bank.set_party("bank");
  ExpectCode(As(&kStranger)->ListContracts(of_bank).status(), absl::StatusCode::kPermissionDenied,
             "member 'stranger' may list only its own contracts, not those of 'bank'");
  ExpectCode(As(nullptr)->ListContracts(of_bank).status(), absl::StatusCode::kUnauthenticated,
             "sign the query");
  EXPECT_EQ(As(&kAudit)->ListContracts(of_bank)->contracts_size(), 1);
  EXPECT_EQ(As(&kAudit)->ListContracts({})->contracts_size(), 1);

  tds::ListContractsRequest requested;
  requested.set_state(tds::REQUESTED);
  EXPECT_EQ(As(&kBank)->ListContracts(requested)->contracts_size(), 0);

  tds::GetContractRequest get;
  get.set_contract_id(id);
  ExpectCode(As(&kStranger)->GetContract(get).status(), absl::StatusCode::kPermissionDenied,
             "member 'stranger' is not a party to contract '" + id + "'");
  get.set_contract_id("c-ffffffffffffffffffffffffffffffff");
  ExpectCode(As(&kBank)->GetContract(get).status(), absl::StatusCode::kNotFound,
             "contract 'c-ffffffffffffffffffffffffffffffff' not found");
  get.set_contract_id("c-xyz");
  ExpectCode(As(&kBank)->GetContract(get).status(), absl::StatusCode::kInvalidArgument,
             "contract_id: expected");
}

TEST_F(QueryServiceTest, UsagePagesWalkEveryRecordOnceAndReceiptsVerify) {
  const std::string id = ActiveContract();
  for (int i = 0; i < 5; ++i) Use(id, "credit_risk", 10 + i);
  Use(id, "marketing", 1, /*reserve=*/false);  // a violation

  tds::ListUsageRequest request;
  request.set_contract_id(id);
  request.set_with_receipts(true);
  request.mutable_page()->set_limit(2);
  std::vector<uint64_t> seen;
  int pages = 0;
  auto genesis = ledger::GenesisInfo::Parse(genesis_, "genesis");
  ASSERT_TRUE(genesis.ok());
  while (true) {
    absl::StatusOr<tds::ListUsageResponse> page = As(&kBank)->ListUsage(request);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const tds::UsageItem& item : page->items()) {
      seen.push_back(item.record().index());
      EXPECT_EQ(item.receipt().index(), item.record().index());
      EXPECT_TRUE(ledger::VerifyReceipt(item.receipt(), *genesis).ok());
    }
    if (page->next_cursor().empty()) break;
    request.mutable_page()->set_cursor(page->next_cursor());
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), 6u);

  // The same records through each index, and the violation alone.
  for (auto fill : std::vector<std::function<void(tds::ListUsageRequest&)>>{
           [](tds::ListUsageRequest& r) { r.set_product_id("invoices"); },
           [](tds::ListUsageRequest& r) {
             r.set_provider("zj");
             r.set_consumer("bank");
           },
           [](tds::ListUsageRequest&) {}}) {
    tds::ListUsageRequest r;
    fill(r);
    r.mutable_page()->set_limit(4);
    absl::StatusOr<tds::ListUsageResponse> first = As(&kZj)->ListUsage(r);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->items_size(), 4);
    ASSERT_FALSE(first->next_cursor().empty());
    r.mutable_page()->set_cursor(first->next_cursor());
    absl::StatusOr<tds::ListUsageResponse> second = As(&kZj)->ListUsage(r);
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_EQ(second->items_size(), 2);
    EXPECT_EQ(second->next_cursor(), "");
  }
  tds::ListUsageRequest violations;
  violations.set_violations_only(true);
  absl::StatusOr<tds::ListUsageResponse> v = As(&kAudit)->ListUsage(violations);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->items_size(), 1);
  EXPECT_EQ(v->items(0).record().purpose(), "marketing");
  EXPECT_EQ(v->items(0).record().violations(0).term(), "purpose");

  // A stranger sees none of it.
  EXPECT_EQ(As(&kStranger)->ListUsage({})->items_size(), 0);
  tds::ListUsageRequest theirs;
  theirs.set_provider("zj");
  theirs.set_consumer("bank");
  ExpectCode(As(&kStranger)->ListUsage(theirs).status(), absl::StatusCode::kPermissionDenied,
             "may read only usage where it is the provider or the consumer");
  tds::ListUsageRequest bad;
  bad.mutable_page()->set_limit(5000);
  ExpectCode(As(&kBank)->ListUsage(bad).status(), absl::StatusCode::kInvalidArgument,
             "page.limit: 5000 exceeds the limit of 1000");
  bad.mutable_page()->set_limit(0);
  bad.mutable_page()->set_cursor("abc");
  ExpectCode(As(&kBank)->ListUsage(bad).status(), absl::StatusCode::kInvalidArgument,
             "page.cursor");
}

TEST_F(QueryServiceTest, StatementsAndValuationsFollowTheirReaders) {
  const std::string id = ActiveContract();
  Use(id, "credit_risk", 100);
  Use(id, "credit_risk", 20);
  const std::string period = PeriodOf(NowMs());

  tds::GetStatementRequest request;
  request.set_provider("zj");
  request.set_period(period);
  absl::StatusOr<tds::GetStatementResponse> provider = As(&kZj)->GetStatement(request);
  ASSERT_TRUE(provider.ok()) << provider.status();
  ASSERT_EQ(provider->statements_size(), 1);
  const tds::Statement& s = provider->statements(0);
  EXPECT_EQ(s.consumer(), "bank");
  ASSERT_EQ(s.totals_size(), 1);
  EXPECT_EQ(s.totals(0).amount(), 2 * 150 + 120 * 1);  // per call + per row
  // The consumer gets its own statement without naming itself; a stranger nothing.
  absl::StatusOr<tds::GetStatementResponse> consumer = As(&kBank)->GetStatement(request);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  EXPECT_EQ(consumer->statements(0).totals(0).amount(), 420);
  request.set_consumer("bank");
  ExpectCode(As(&kStranger)->GetStatement(request).status(), absl::StatusCode::kPermissionDenied,
             "member 'stranger' may read only statements where it is the provider or the "
             "consumer");
  request.set_period("2025-3");
  ExpectCode(As(&kZj)->GetStatement(request).status(), absl::StatusCode::kInvalidArgument,
             "period: expected YYYY-MM");

  tds::GetValuationRequest value;
  value.set_product_id("invoices");
  absl::StatusOr<tds::GetValuationResponse> v = As(&kZj)->GetValuation(value);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->valuation().as_of_period(), period);
  EXPECT_EQ(v->valuation().trailing_revenue(), 420);
  EXPECT_EQ(v->valuation().discount_rate_bp(), 1000u);
  EXPECT_EQ(v->valuation().horizon_periods(), 36u);
  EXPECT_FALSE(v->valuation().method().empty());
  EXPECT_TRUE(As(&kAudit)->GetValuation(value).ok());
  ExpectCode(As(&kBank)->GetValuation(value).status(), absl::StatusCode::kPermissionDenied,
             "may not read the valuation of product 'invoices'");
  value.set_product_id("registry");
  ExpectCode(As(&kStranger)->GetValuation(value).status(), absl::StatusCode::kNotFound,
             "product 'registry' not found");
}

TEST_F(QueryServiceTest, ProposalsShowVotesAndExpireOnceNoVoteCanLand) {
  tds::Member joiner;
  joiner.set_id("new-bank");
  joiner.set_name("New Bank");
  joiner.add_roles("consumer");
  joiner.set_public_key(KeyFromByte(9)->public_key().hex());
  MustSubmit(kZj, sdk::ProposeAddMember(joiner, "joins", 0));
  MustSubmit(kBank, sdk::ProposeRemoveMember("stranger", "left", 1));  // expires after 1 block
  MustSubmit(kNode, sdk::Vote(1, true));
  MustSubmit(kAudit, sdk::Vote(1, true));
  MustSubmit(kStranger, sdk::Vote(1, true));  // 4 of 5: passed

  tds::ListProposalsRequest request;
  request.mutable_page()->set_limit(1);
  absl::StatusOr<tds::ListProposalsResponse> first = As(nullptr)->ListProposals(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->proposals_size(), 1);
  EXPECT_EQ(first->proposals(0).status(), tds::PROPOSAL_PASSED);
  EXPECT_EQ(first->proposals(0).votes_size(), 4);
  EXPECT_EQ(first->next_cursor(), "1");
  request.mutable_page()->set_cursor(first->next_cursor());
  absl::StatusOr<tds::ListProposalsResponse> second = As(nullptr)->ListProposals(request);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->proposals_size(), 1);
  EXPECT_EQ(second->proposals(0).id(), 2u);
  EXPECT_EQ(second->proposals(0).status(), tds::PROPOSAL_EXPIRED);
  EXPECT_EQ(second->next_cursor(), "");

  absl::StatusOr<tds::ListMembersResponse> members = As(nullptr)->ListMembers();
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->members_size(), 6);
  // The admitted member can sign queries at once.
  EXPECT_EQ(*As(nullptr)->MemberIdFor(KeyFromByte(9)->public_key()), "new-bank");
  keys_["new-bank"] = KeyFromByte(9);
  const Who joined{"new-bank", 9};
  EXPECT_TRUE(As(&joined)->ListContracts({}).ok());
}

TEST_F(QueryServiceTest, StaleOrForgedIdentitiesAreUnauthenticatedOverTheWire) {
  auto stub = tds::Contracts::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  auto call = [&](const std::string& auth) {
    grpc::ClientContext ctx;
    tds::ListContractsRequest request;
    request.set_auth(auth);
    tds::ListContractsResponse response;
    return stub->ListContracts(&ctx, request, &response);
  };
  grpc::Status stale = call(sdk::BuildQueryAuth(*keys_["bank"], "bank", NowMs() - 10 * 60 * 1000));
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(stale.error_message(), HasSubstr("behind the node's clock"));
  grpc::Status forged = call(sdk::BuildQueryAuth(*keys_["stranger"], "bank", NowMs()));
  EXPECT_EQ(forged.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(forged.error_message(), HasSubstr("not the key of member 'bank'"));
  EXPECT_TRUE(call(sdk::BuildQueryAuth(*keys_["bank"], "bank", NowMs())).ok());
}

}  // namespace
}  // namespace tds::node
