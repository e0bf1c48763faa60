#include "sdk/tx_builders.h"

#include <memory>
#include <string>

#include "common/envelope.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tds::sdk {
namespace {

std::unique_ptr<SigningKey> Key(char b) { return *SigningKey::FromSeed(std::string(32, b)); }

TEST(TxBuildersTest, UsageRequestIsSignedByTheConsumerUnderItsOwnContext) {
  auto key = Key(7);
  const std::string digest(32, '\x11');
  const std::string nonce(16, '\x22');
  std::string envelope =
      BuildUsageRequest(*key, "bank", "c-00112233445566778899aabbccddeeff", "psi", "credit_risk",
                        {"tax_id", "revenue"}, digest, nonce);

  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(envelope, "tds.usage_request.v1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->signer, key->public_key());
  tds::UsageRequest request;
  ASSERT_TRUE(request.ParseFromString(opened->payload));
  EXPECT_EQ(request.contract_id(), "c-00112233445566778899aabbccddeeff");
  EXPECT_EQ(request.consumer(), "bank");
  EXPECT_EQ(request.operation(), "psi");
  EXPECT_EQ(request.purpose(), "credit_risk");
  EXPECT_THAT(request.columns(), ::testing::ElementsAre("tax_id", "revenue"));
  EXPECT_EQ(request.params_digest(), digest);
  EXPECT_EQ(request.nonce(), nonce);
  EXPECT_GT(request.created_ms(), 0);

  // Not a transaction and not a query identity: the context separates them.
  EXPECT_FALSE(OpenEnvelope(envelope, kTxContext).ok());
  EXPECT_FALSE(OpenEnvelope(envelope, "tds.query.v1").ok());
}

TEST(TxBuildersTest, UsageRequestWithoutNonceGetsAFreshRandomOne) {
  auto key = Key(7);
  auto nonce_of = [&] {
    std::string envelope = BuildUsageRequest(*key, "bank", "c-1", "psi", "credit_risk", {}, "", "");
    tds::UsageRequest request;
    EXPECT_TRUE(request.ParseFromString(OpenEnvelope(envelope, "tds.usage_request.v1")->payload));
    return request.nonce();
  };
  std::string a = nonce_of(), b = nonce_of();
  EXPECT_EQ(a.size(), kUsageNonceBytes);
  EXPECT_EQ(b.size(), kUsageNonceBytes);
  EXPECT_NE(a, b);
}

TEST(TxBuildersTest, ContractBodiesCarryTheirFields) {
  tds::Terms terms;
  terms.add_operations("psi");
  terms.set_max_calls_total(100);
  TxBody request = RequestContract("tax-invoices", terms);
  EXPECT_EQ(request.type, "contract.request");
  tds::ContractActionBody body;
  ASSERT_TRUE(body.ParseFromString(request.body));
  EXPECT_EQ(body.product_id(), "tax-invoices");
  tds::Terms carried;
  ASSERT_TRUE(carried.ParseFromString(body.terms()));
  EXPECT_EQ(carried.max_calls_total(), 100u);

  TxBody accept = AcceptContract("c-1", std::string(32, 'd'));
  EXPECT_EQ(accept.type, "contract.accept");
  ASSERT_TRUE(body.ParseFromString(accept.body));
  EXPECT_EQ(body.contract_id(), "c-1");
  EXPECT_EQ(body.terms_digest(), std::string(32, 'd'));

  EXPECT_EQ(CounterContract("c-1", terms).type, "contract.counter");
  EXPECT_EQ(RejectContract("c-1", "no").type, "contract.reject");
  EXPECT_EQ(TerminateContract("c-1", "done").type, "contract.terminate");
  EXPECT_EQ(SuspendContract("c-1", "audit").type, "contract.suspend");
  EXPECT_EQ(ResumeContract("c-1").type, "contract.resume");
  EXPECT_EQ(ExpireContract("c-1").type, "contract.expire");
  ASSERT_TRUE(body.ParseFromString(SuspendContract("c-1", "audit").body));
  EXPECT_EQ(body.reason(), "audit");
}

TEST(TxBuildersTest, UsageBodiesCarryTheRequestBytesUnchanged) {
  const std::string envelope = "exact envelope bytes \x01\x02";
  TxBody reserve = ReserveUsage(envelope, 7);
  EXPECT_EQ(reserve.type, "usage.reserve");
  tds::ReserveBody r;
  ASSERT_TRUE(r.ParseFromString(reserve.body));
  EXPECT_EQ(r.request(), envelope);
  EXPECT_EQ(r.ttl_blocks(), 7u);

  tds::Measurement m;
  m.set_rows_out(42);
  TxBody record = RecordUsage(envelope, m);
  EXPECT_EQ(record.type, "usage.record");
  tds::UsageRecordBody u;
  ASSERT_TRUE(u.ParseFromString(record.body));
  EXPECT_EQ(u.request(), envelope);
  EXPECT_EQ(u.measurement().rows_out(), 42u);
}

TEST(TxBuildersTest, CatalogAndGovernanceBodies) {
  tds::Product product;
  product.set_id("tax-invoices");
  EXPECT_EQ(PublishProduct(product).type, "catalog.publish");
  EXPECT_EQ(UpdateProduct(product).type, "catalog.update");
  tds::RetireBody retire;
  ASSERT_TRUE(retire.ParseFromString(RetireProduct("tax-invoices", "stale").body));
  EXPECT_EQ(retire.reason(), "stale");
  tds::DeclareCostBody cost;
  TxBody c = DeclareCost("tax-invoices", "2025-03", "storage", 1200, "CNY", "disks");
  EXPECT_EQ(c.type, "catalog.declare_cost");
  ASSERT_TRUE(cost.ParseFromString(c.body));
  EXPECT_EQ(cost.amount(), 1200);
  EXPECT_EQ(cost.period(), "2025-03");

  tds::Member m;
  m.set_id("new-bank");
  TxBody add = ProposeAddMember(m, "joins", 50);
  EXPECT_EQ(add.type, "gov.propose");
  tds::ProposeBody p;
  ASSERT_TRUE(p.ParseFromString(add.body));
  EXPECT_EQ(p.add_member().id(), "new-bank");
  EXPECT_EQ(p.reason(), "joins");
  EXPECT_EQ(p.ttl_blocks(), 50u);
  ASSERT_TRUE(p.ParseFromString(ProposeSetRoles("bank", {"consumer", "auditor"}, "", 0).body));
  EXPECT_THAT(p.set_roles().roles(), ::testing::ElementsAre("consumer", "auditor"));
  ASSERT_TRUE(p.ParseFromString(ProposeRemoveMember("bank", "left", 0).body));
  EXPECT_EQ(p.remove_member(), "bank");

  TxBody vote = Vote(3, false);
  EXPECT_EQ(vote.type, "gov.vote");
  tds::VoteBody v;
  ASSERT_TRUE(v.ParseFromString(vote.body));
  EXPECT_EQ(v.proposal_id(), 3u);
  EXPECT_FALSE(v.approve());
}

}  // namespace
}  // namespace tds::sdk
