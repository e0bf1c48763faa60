#include "catalog/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "catalog/catalog_testing.h"
#include "catalog/search_index.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"

namespace tds::catalog {
namespace {

using ledger::testing::KeyFromByte;
using ::testing::HasSubstr;
using testing::ValidProduct;

constexpr int64_t kClockMs = 1'709'280'000'000;  // 2024-03-01T08:00:00Z

// Members: node (validator), prov and prov2 (providers), bank and bank2 (consumers),
// aud (auditor).
const std::map<std::string, uint8_t>& MemberKeys() {
  static const auto* keys = new std::map<std::string, uint8_t>{
      {"node", 1}, {"bank", 2}, {"prov", 3}, {"prov2", 4}, {"bank2", 5}, {"aud", 6}};
  return *keys;
}

ledger::GenesisInfo CatalogGenesis() {
  auto pub = [](uint8_t b) { return KeyFromByte(b)->public_key().hex(); };
  auto json = ledger::BuildGenesisJson(
      "tds.test/catalog",
      {"node:validator:" + pub(1), "bank:consumer:" + pub(2), "prov:provider:" + pub(3),
       "prov2:provider,consumer:" + pub(4), "bank2:consumer:" + pub(5), "aud:auditor:" + pub(6)});
  EXPECT_TRUE(json.ok()) << json.status();
  return std::move(ledger::GenesisInfo::Parse(*json, "catalog-genesis")).value();
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Register(app_);
    ledger::LedgerOptions opts;
    opts.data_dir = dir_.Sub("ledger");
    opts.sync = false;
    opts.clock = [] { return kClockMs; };
    auto l = ledger::Ledger::Open(opts, CatalogGenesis(), KeyFromByte(1), &app_);
    ASSERT_TRUE(l.ok()) << l.status();
    ledger_ = std::move(*l);
    // As the node wires it: the index follows every committed block.
    ledger_->Observe(
        [this](const ledger::StateReader& s) { ASSERT_TRUE(index_.Load(s).ok()); },
        [this](uint64_t, int64_t, const ledger::Ledger::StateWrites& w) { index_.ApplyWrites(w); });
  }

  absl::StatusOr<ledger::SubmitAck> Submit(const std::string& member, std::string_view type,
                                           const std::string& body) {
    return ledger_->SubmitAndWait(ledger::testing::MakeTx(
        *KeyFromByte(MemberKeys().at(member)), member, std::string(type), body, ++nonce_));
  }
  absl::StatusOr<ledger::SubmitAck> Publish(const std::string& member, const tds::Product& p) {
    tds::PublishBody b;
    *b.mutable_product() = p;
    return Submit(member, kPublishTxType, b.SerializeAsString());
  }
  absl::StatusOr<ledger::SubmitAck> Update(const std::string& member, const tds::Product& p) {
    tds::PublishBody b;
    *b.mutable_product() = p;
    return Submit(member, kUpdateTxType, b.SerializeAsString());
  }
  absl::StatusOr<ledger::SubmitAck> Retire(const std::string& member, const std::string& id,
                                           const std::string& reason = "superseded") {
    tds::RetireBody b;
    b.set_product_id(id);
    b.set_reason(reason);
    return Submit(member, kRetireTxType, b.SerializeAsString());
  }
  absl::StatusOr<ledger::SubmitAck> DeclareCost(const std::string& member,
                                                const tds::DeclareCostBody& b) {
    return Submit(member, kDeclareCostTxType, b.SerializeAsString());
  }

  // Runs `submit`, expects it refused with `code` and a message containing `text`, and checks
  // nothing was logged or written.
  void ExpectRefused(const std::function<absl::StatusOr<ledger::SubmitAck>()>& submit,
                     absl::StatusCode code, const std::string& text) {
    const ledger::LedgerStatus before = ledger_->Status();
    auto r = submit();
    ASSERT_FALSE(r.ok()) << "accepted; expected: " << text;
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(text));
    const ledger::LedgerStatus after = ledger_->Status();
    EXPECT_EQ(after.log_size, before.log_size);
    EXPECT_EQ(after.state_digest, before.state_digest);
  }

  std::optional<tds::ProductHead> Head(const std::string& id) {
    auto h = ReadProductHead(ledger_->state(), id);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *h : std::nullopt;
  }

  std::vector<std::string> SearchIds(const tds::SearchProductsRequest& req,
                                     const std::string& requester = "") {
    std::vector<std::string> ids;
    const tds::SearchProductsResponse resp = index_.Search(req, requester);
    for (const auto& s : resp.products()) ids.push_back(s.id());
    return ids;
  }

  ledger::testing::TempDir dir_;
  ledger::Application app_;
  std::unique_ptr<ledger::Ledger> ledger_;
  SearchIndex index_;
  uint64_t nonce_ = 0;
};

TEST_F(CatalogTest, PublishStoresVersionOneStampedByTheLedger) {
  auto ack = Publish("prov", ValidProduct("tax.invoices"));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->result, "v1");
  auto p = ReadProduct(ledger_->state(), "tax.invoices");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version(), 1u);
  EXPECT_EQ(p->provider(), "prov");
  EXPECT_EQ(p->published_height(), ack->height);
  EXPECT_EQ(p->published_ms(), kClockMs);
  EXPECT_EQ(p->title(), "Enterprise credit profile");
  auto head = Head("tax.invoices");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->provider(), "prov");
  EXPECT_EQ(head->latest_version(), 1u);
  EXPECT_FALSE(head->retired());
  EXPECT_EQ(index_.size(), 1u);
}

TEST_F(CatalogTest, PublishByMemberWithoutProviderRoleIsRefused) {
  ExpectRefused([&] { return Publish("bank", ValidProduct("tax.invoices")); },
                absl::StatusCode::kPermissionDenied,
                "catalog.publish: member 'bank' lacks role 'provider'");
  ExpectRefused([&] { return Publish("aud", ValidProduct("tax.invoices")); },
                absl::StatusCode::kPermissionDenied, "member 'aud' lacks role 'provider'");
  EXPECT_FALSE(Head("tax.invoices").has_value());
}

TEST_F(CatalogTest, PublishRefusesLedgerSetFields) {
  tds::Product p = ValidProduct("tax.invoices");
  p.set_version(1);
  ExpectRefused([&] { return Publish("prov", p); }, absl::StatusCode::kInvalidArgument,
                "product.version 1 must be unset");
  p = ValidProduct("tax.invoices");
  p.set_provider("prov2");
  ExpectRefused([&] { return Publish("prov", p); }, absl::StatusCode::kInvalidArgument,
                "product.provider 'prov2' must be unset");
  p = ValidProduct("tax.invoices");
  p.set_published_ms(5);
  ExpectRefused([&] { return Publish("prov", p); }, absl::StatusCode::kInvalidArgument,
                "published_ms must be unset");
}

TEST_F(CatalogTest, PublishOfATakenIdIsRefused) {
  ASSERT_TRUE(Publish("prov", ValidProduct("tax.invoices")).ok());
  ExpectRefused([&] { return Publish("prov2", ValidProduct("tax.invoices")); },
                absl::StatusCode::kAlreadyExists,
                "product.id 'tax.invoices' is already taken (published by 'prov')");
}

TEST_F(CatalogTest, MalformedBodyIsRefused) {
  ExpectRefused([&] { return Submit("prov", kPublishTxType, "\xff\xff\xff"); },
                absl::StatusCode::kInvalidArgument, "catalog.publish: body is not a PublishBody");
  ExpectRefused([&] { return Submit("prov", kPublishTxType, ""); },
                absl::StatusCode::kInvalidArgument, "catalog.publish: body has no product");
}

struct Case {
  std::string name;
  uint32_t level;
  std::function<void(tds::Product&)> mutate;
  std::string message;
};

// Every validation rule, each refused with a message naming the field.
TEST_F(CatalogTest, EachInvalidFieldIsRefusedByName) {
  const std::vector<Case> cases = {
      {"id uppercase", 2, [](auto& p) { p.set_id("Tax"); },
       "product.id 'Tax' must match [a-z0-9][a-z0-9._-]{0,127}"},
      {"id leading dot", 2, [](auto& p) { p.set_id(".tax"); }, "product.id '.tax' must match"},
      {"id too long", 2, [](auto& p) { p.set_id(std::string(129, 'a')); }, "product.id"},
      {"title empty", 2, [](auto& p) { p.clear_title(); },
       "product.title must be 1..200 bytes, got 0"},
      {"title long", 2, [](auto& p) { p.set_title(std::string(201, 't')); },
       "product.title must be 1..200 bytes, got 201"},
      {"description long", 2, [](auto& p) { p.set_description(std::string(4001, 'd')); },
       "product.description: 4001 bytes; at most 4000"},
      {"level zero", 2, [](auto& p) { p.set_level(0); }, "product.level 0 must be 1..5"},
      {"level six", 2, [](auto& p) { p.set_level(6); }, "product.level 6 must be 1..5"},
      {"tag uppercase", 2, [](auto& p) { p.add_tags("Credit"); },
       "product.tags[2] 'Credit' must match [a-z0-9_-]{1,32}"},
      {"tag long", 2, [](auto& p) { p.add_tags(std::string(33, 'x')); }, "product.tags[2]"},
      {"tag duplicate", 2, [](auto& p) { p.add_tags("credit"); },
       "product.tags[2] 'credit' is a duplicate"},
      {"too many tags", 2,
       [](auto& p) {
         for (int i = 0; i < 31; ++i) p.add_tags(absl::StrCat("t", i));
       },
       "product.tags: 33 tags; at most 32"},
      {"no columns", 2, [](auto& p) { p.clear_schema(); },
       "product.schema: 0 columns; must be 1..512"},
      {"column name", 2, [](auto& p) { p.mutable_schema(1)->set_name("1col"); },
       "product.schema[1].name '1col' must match [a-z_][a-z0-9_]{0,63}"},
      {"column duplicate", 2, [](auto& p) { p.mutable_schema(1)->set_name("taxpayer_id"); },
       "product.schema[1].name 'taxpayer_id' is a duplicate"},
      {"column type", 2, [](auto& p) { p.mutable_schema(0)->set_type("float"); },
       "product.schema[0].type 'float' must be one of int64, double, string, bool, date, "
       "timestamp, bytes"},
      {"column level zero", 2, [](auto& p) { p.mutable_schema(1)->set_level(0); },
       "product.schema[1].level 0 must be 1..5"},
      {"column above product", 2, [](auto& p) { p.mutable_schema(1)->set_level(3); },
       "product.schema[1].level 3 exceeds the product's level 2"},
      {"no operations", 2, [](auto& p) { p.clear_operations(); },
       "product.operations must not be empty"},
      {"unknown operation", 2, [](auto& p) { p.add_operations("download"); },
       "product.operations[3] 'download' is not a known operation"},
      {"duplicate operation", 2, [](auto& p) { p.add_operations("psi"); },
       "product.operations[3] 'psi' is a duplicate"},
      {"export at level 3", 3, [](auto& p) { p.add_operations("query"); },
       "product.operations[2] 'query' releases raw rows (export) and is forbidden at level 3 "
       "and above (product.level 3)"},
      {"export at level 5", 5, [](auto& p) { p.add_operations("query"); },
       "product.operations[2] 'query' releases raw rows (export) and is forbidden at level 3 "
       "and above (product.level 5)"},
      {"no offer", 2, [](auto& p) { p.clear_offer(); }, "product.offer is required"},
      {"offer no operations", 2, [](auto& p) { p.mutable_offer()->clear_operations(); },
       "product.offer.operations must not be empty"},
      {"offer operation outside product", 2,
       [](auto& p) { p.mutable_offer()->add_operations("lr_train"); },
       "product.offer.operations[2] 'lr_train' is not among the product's operations"},
      {"offer export at level 3", 3, [](auto& p) { p.mutable_offer()->add_operations("query"); },
       "product.offer.operations[2] 'query' is not among the product's operations"},
      {"offer no purposes", 2, [](auto& p) { p.mutable_offer()->clear_purposes(); },
       "product.offer.purposes must not be empty"},
      {"offer unknown purpose", 2, [](auto& p) { p.mutable_offer()->add_purposes("gossip"); },
       "product.offer.purposes[1] 'gossip' is not a known purpose"},
      {"offer column outside schema", 2, [](auto& p) { p.mutable_offer()->add_columns("salary"); },
       "product.offer.columns[2] 'salary' is not a column of product.schema"},
      {"offer window", 2,
       [](auto& p) {
         p.mutable_offer()->set_valid_from_ms(2000);
         p.mutable_offer()->set_valid_until_ms(2000);
       },
       "product.offer.valid_until_ms 2000 must be 0 (open-ended) or after valid_from_ms 2000"},
      {"offer metering unset", 2,
       [](auto& p) { p.mutable_offer()->set_metering(tds::METERING_UNSPECIFIED); },
       "product.offer.metering must be METERING_STRICT or METERING_BATCHED"},
      {"batched without delay", 2,
       [](auto& p) { p.mutable_offer()->set_metering(tds::METERING_BATCHED); },
       "product.offer.batched_max_delay_ms 0 must be > 0 when metering is batched"},
      {"currency lowercase", 2,
       [](auto& p) { p.mutable_offer()->mutable_price()->set_currency("cny"); },
       "product.offer.price.currency: 'cny' is not an ISO 4217 code (three upper-case letters)"},
      {"negative per_row", 2, [](auto& p) { p.mutable_offer()->mutable_price()->set_per_row(-1); },
       "product.offer.price.per_row: -1 is negative"},
      {"negative subscription", 2,
       [](auto& p) { p.mutable_offer()->mutable_price()->set_subscription_fee(-5); },
       "product.offer.price.subscription_fee: -5 is negative"},
      {"tiers with per_call", 2,
       [](auto& p) { p.mutable_offer()->mutable_price()->add_tiers()->set_up_to_calls(10); },
       "product.offer.price.tiers: graduated tiers replace per_call; set one or the other"},
      {"tiers not ascending", 2,
       [](auto& p) {
         tds::Price* pr = p.mutable_offer()->mutable_price();
         pr->set_per_call(0);
         pr->add_tiers()->set_up_to_calls(100);
         pr->add_tiers()->set_up_to_calls(100);
       },
       "product.offer.price.tiers[1]: up_to_calls 100 is not above the previous tier's 100"},
      {"unbounded tier not last", 2,
       [](auto& p) {
         tds::Price* pr = p.mutable_offer()->mutable_price();
         pr->set_per_call(0);
         pr->add_tiers()->set_up_to_calls(0);
         pr->add_tiers()->set_up_to_calls(100);
       },
       "product.offer.price.tiers[0]: only the last tier may be unbounded (up_to_calls 0)"},
      {"negative tier price", 2,
       [](auto& p) {
         tds::Price* pr = p.mutable_offer()->mutable_price();
         pr->set_per_call(0);
         tds::Tier* t = pr->add_tiers();
         t->set_up_to_calls(100);
         t->set_per_call(-1);
       },
       "product.offer.price.tiers[0].per_call: -1 is negative"},
      {"cadence", 2, [](auto& p) { p.set_update_cadence("hourly"); },
       "product.update_cadence 'hourly' must be one of daily, weekly, monthly, quarterly, "
       "static, realtime"},
      {"enclave without measurements", 2, [](auto& p) { p.add_operations("enclave_sql"); },
       "product.enclave_measurements must not be empty when enclave_sql is allowed"},
      {"measurement not hex", 2, [](auto& p) { p.add_enclave_measurements(std::string(64, 'g')); },
       "product.enclave_measurements[0] '" + std::string(64, 'g') +
           "' must be 64 lowercase hex characters"},
      {"measurement short", 2, [](auto& p) { p.add_enclave_measurements("abcd"); },
       "product.enclave_measurements[0] 'abcd' must be 64 lowercase hex characters"},
      {"allow list below level 5", 4, [](auto& p) { p.add_allow_list("bank"); },
       "product.allow_list is only for level 5 products (product.level 4)"},
      {"level 5 without allow list", 5, [](auto& p) { p.clear_allow_list(); },
       "product.allow_list must not be empty at level 5"},
      {"allow list duplicate", 5, [](auto& p) { p.add_allow_list("bank"); },
       "product.allow_list[1] 'bank' is a duplicate"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    tds::Product p = ValidProduct(absl::StrCat("prod-", nonce_), c.level);
    ASSERT_TRUE(ValidateProduct(p).ok()) << ValidateProduct(p);
    c.mutate(p);
    const absl::Status direct = ValidateProduct(p);
    EXPECT_EQ(direct.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(direct.message()), HasSubstr(c.message));
    ExpectRefused([&] { return Publish("prov", p); }, absl::StatusCode::kInvalidArgument,
                  "catalog.publish: " + c.message);
  }
  EXPECT_EQ(index_.size(), 0u);
}

TEST_F(CatalogTest, ValidVariantsAreAccepted) {
  tds::Product p = ValidProduct("enclave.sales", 4);
  p.add_operations("enclave_sql");
  p.add_enclave_measurements(std::string(64, 'a'));
  p.mutable_offer()->set_metering(tds::METERING_BATCHED);
  p.mutable_offer()->set_batched_max_delay_ms(60000);
  tds::Price* pr = p.mutable_offer()->mutable_price();
  pr->set_per_call(0);
  pr->add_tiers()->set_up_to_calls(100);
  pr->add_tiers()->set_up_to_calls(1000);
  pr->add_tiers()->set_up_to_calls(0);
  auto ack = Publish("prov", p);
  ASSERT_TRUE(ack.ok()) << ack.status();
  tds::Product q = ValidProduct("important.list", 5);
  q.add_allow_list("bank2");
  q.add_allow_list("prov2");
  ASSERT_TRUE(Publish("prov", q).ok());
}

TEST_F(CatalogTest, AllowListMustNameCurrentMembers) {
  tds::Product p = ValidProduct("important.list", 5);
  p.add_allow_list("ghost");
  ExpectRefused([&] { return Publish("prov", p); }, absl::StatusCode::kInvalidArgument,
                "catalog.publish: product.allow_list[1] 'ghost' is not a current member");
}

TEST_F(CatalogTest, UpdateWritesTheNextVersionAndKeepsHistory) {
  auto v1 = Publish("prov", ValidProduct("tax.invoices"));
  ASSERT_TRUE(v1.ok());
  tds::Product p = ValidProduct("tax.invoices");
  p.set_title("Enterprise credit profile, quarterly");
  auto v2 = Update("prov", p);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->result, "v2");
  p.set_title("Enterprise credit profile, third edition");
  p.set_version(3);  // an explicit expected version is accepted when it is the next one
  auto v3 = Update("prov", p);
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(v3->result, "v3");

  EXPECT_EQ(Head("tax.invoices")->latest_version(), 3u);
  EXPECT_EQ(ReadProduct(ledger_->state(), "tax.invoices", 1)->title(), "Enterprise credit profile");
  EXPECT_EQ(ReadProduct(ledger_->state(), "tax.invoices", 2)->title(),
            "Enterprise credit profile, quarterly");
  auto latest = ReadProduct(ledger_->state(), "tax.invoices");
  EXPECT_EQ(latest->version(), 3u);
  EXPECT_EQ(latest->provider(), "prov");
  EXPECT_EQ(latest->published_height(), v3->height);

  tds::SearchProductsRequest req;
  req.set_text("third");
  auto resp = index_.Search(req, "");
  ASSERT_EQ(resp.products_size(), 1);
  EXPECT_EQ(resp.products(0).version(), 3u);
  req.set_text("quarterly");
  EXPECT_EQ(index_.Search(req, "").total(), 0u);  // the index describes the latest version
}

TEST_F(CatalogTest, UpdateRefusals) {
  ASSERT_TRUE(Publish("prov", ValidProduct("tax.invoices")).ok());
  ExpectRefused([&] { return Update("prov2", ValidProduct("tax.invoices")); },
                absl::StatusCode::kPermissionDenied,
                "catalog.update: 'prov2' is not the provider of product 'tax.invoices' (its "
                "provider is 'prov')");
  ExpectRefused([&] { return Update("prov", ValidProduct("no.such")); },
                absl::StatusCode::kNotFound, "catalog.update: product 'no.such' does not exist");
  tds::Product p = ValidProduct("tax.invoices");
  p.set_version(1);
  ExpectRefused([&] { return Update("prov", p); }, absl::StatusCode::kFailedPrecondition,
                "product.version 1 does not follow the latest version 1 (leave it unset or set 2)");
  p = ValidProduct("tax.invoices");
  p.set_provider("prov2");
  ExpectRefused([&] { return Update("prov", p); }, absl::StatusCode::kInvalidArgument,
                "product.provider 'prov2' cannot change");
  p = ValidProduct("tax.invoices", 3);
  p.add_operations("query");
  ExpectRefused([&] { return Update("prov", p); }, absl::StatusCode::kInvalidArgument,
                "catalog.update: product.operations[2] 'query' releases raw rows (export)");
  p = ValidProduct("tax.invoices", 5);
  p.add_allow_list("ghost");
  ExpectRefused([&] { return Update("prov", p); }, absl::StatusCode::kInvalidArgument,
                "product.allow_list[1] 'ghost' is not a current member");
  EXPECT_EQ(Head("tax.invoices")->latest_version(), 1u);
}

TEST_F(CatalogTest, RetireHidesFromSearchButKeepsVersionsReadable) {
  ASSERT_TRUE(Publish("prov", ValidProduct("tax.invoices")).ok());
  ASSERT_TRUE(Update("prov", ValidProduct("tax.invoices")).ok());
  ASSERT_TRUE(Publish("prov", ValidProduct("tax.other")).ok());
  tds::SearchProductsRequest req;
  req.set_text("credit");
  EXPECT_THAT(SearchIds(req), ::testing::ElementsAre("tax.invoices", "tax.other"));

  auto ack = Retire("prov", "tax.invoices", "replaced by tax.other");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->result, "retired");
  auto head = Head("tax.invoices");
  EXPECT_TRUE(head->retired());
  EXPECT_EQ(head->retired_height(), ack->height);
  EXPECT_EQ(head->retire_reason(), "replaced by tax.other");
  EXPECT_EQ(head->latest_version(), 2u);

  EXPECT_THAT(SearchIds(req), ::testing::ElementsAre("tax.other"));
  EXPECT_EQ(index_.Search(req, "").total(), 1u);
  req.set_include_retired(true);
  auto all = index_.Search(req, "");
  ASSERT_EQ(all.products_size(), 2);
  EXPECT_TRUE(all.products(0).retired());
  EXPECT_FALSE(all.products(1).retired());
  // History stays readable.
  EXPECT_TRUE(ReadProduct(ledger_->state(), "tax.invoices", 1).ok());
  EXPECT_EQ(ReadProduct(ledger_->state(), "tax.invoices")->version(), 2u);
}

TEST_F(CatalogTest, RetireRefusals) {
  ASSERT_TRUE(Publish("prov", ValidProduct("tax.invoices")).ok());
  ExpectRefused([&] { return Retire("prov2", "tax.invoices"); },
                absl::StatusCode::kPermissionDenied,
                "catalog.retire: 'prov2' is not the provider of product 'tax.invoices'");
  ExpectRefused([&] { return Retire("prov", "nope"); }, absl::StatusCode::kNotFound,
                "catalog.retire: product 'nope' does not exist");
  ExpectRefused([&] { return Retire("prov", "Bad/Id"); }, absl::StatusCode::kInvalidArgument,
                "catalog.retire: product_id 'Bad/Id' must match");
  ExpectRefused([&] { return Retire("prov", "tax.invoices", std::string(1001, 'r')); },
                absl::StatusCode::kInvalidArgument, "reason: 1001 bytes; at most 1000");
  auto ack = Retire("prov", "tax.invoices");
  ASSERT_TRUE(ack.ok());
  ExpectRefused([&] { return Retire("prov", "tax.invoices"); },
                absl::StatusCode::kFailedPrecondition,
                "catalog.retire: product 'tax.invoices' was already retired at height " +
                    std::to_string(ack->height));
  ExpectRefused([&] { return Update("prov", ValidProduct("tax.invoices")); },
                absl::StatusCode::kFailedPrecondition,
                "catalog.update: product 'tax.invoices' was retired at height " +
                    std::to_string(ack->height) + "; a retired product cannot be updated");
}

TEST_F(CatalogTest, DeclaredCostIsStoredUnderItsPeriodAndLogIndex) {
  ASSERT_TRUE(Publish("prov", ValidProduct("tax.invoices")).ok());
  tds::DeclareCostBody b;
  b.set_product_id("tax.invoices");
  b.set_period("2024-02");
  b.set_category("storage");
  b.set_amount(500000);
  b.set_currency("CNY");
  b.set_note("object storage, February");
  auto ack = DeclareCost("prov", b);
  ASSERT_TRUE(ack.ok()) << ack.status();
  auto raw = ledger_->GetState(CostKey("tax.invoices", "2024-02", ack->index));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  tds::DeclareCostBody stored;
  ASSERT_TRUE(stored.ParseFromString(**raw));
  EXPECT_EQ(stored.amount(), 500000);
  EXPECT_EQ(stored.category(), "storage");
  // A zero cost is a valid declaration.
  b.set_amount(0);
  EXPECT_TRUE(DeclareCost("prov", b).ok());
}

TEST_F(CatalogTest, DeclareCostRefusals) {
  ASSERT_TRUE(Publish("prov", ValidProduct("tax.invoices")).ok());
  tds::DeclareCostBody good;
  good.set_product_id("tax.invoices");
  good.set_period("2024-02");
  good.set_category("storage");
  good.set_amount(100);
  good.set_currency("CNY");
  auto with = [&](const std::function<void(tds::DeclareCostBody&)>& f) {
    tds::DeclareCostBody b = good;
    f(b);
    return b;
  };
  ExpectRefused([&] { return DeclareCost("prov2", good); }, absl::StatusCode::kPermissionDenied,
                "catalog.declare_cost: 'prov2' is not the provider of product 'tax.invoices'");
  ExpectRefused(
      [&] { return DeclareCost("prov", with([](auto& b) { b.set_product_id("nope"); })); },
      absl::StatusCode::kNotFound, "product 'nope' does not exist");
  ExpectRefused([&] { return DeclareCost("prov", with([](auto& b) { b.set_period("2024-13"); })); },
                absl::StatusCode::kInvalidArgument,
                "catalog.declare_cost: period '2024-13' must be a month YYYY-MM");
  ExpectRefused([&] { return DeclareCost("prov", with([](auto& b) { b.set_period("2024/02"); })); },
                absl::StatusCode::kInvalidArgument, "period '2024/02' must be a month YYYY-MM");
  ExpectRefused([&] { return DeclareCost("prov", with([](auto& b) { b.set_amount(-1); })); },
                absl::StatusCode::kInvalidArgument, "catalog.declare_cost: amount -1 must be >= 0");
  ExpectRefused([&] { return DeclareCost("prov", with([](auto& b) { b.set_currency("yuan"); })); },
                absl::StatusCode::kInvalidArgument,
                "catalog.declare_cost: currency 'yuan' must be 3 uppercase letters");
  ExpectRefused([&] { return DeclareCost("prov", with([](auto& b) { b.clear_category(); })); },
                absl::StatusCode::kInvalidArgument, "category must be 1..64 bytes, got 0");
}

TEST_F(CatalogTest, LevelFiveProductsAreListedOnlyToProviderAndAllowList) {
  tds::Product p = ValidProduct("important.list", 5);  // allow-list: bank
  p.set_title("Designated important data");
  ASSERT_TRUE(Publish("prov", p).ok());
  ASSERT_TRUE(Publish("prov", ValidProduct("ordinary.list", 2)).ok());
  tds::SearchProductsRequest req;
  EXPECT_THAT(SearchIds(req, "bank"), ::testing::ElementsAre("important.list", "ordinary.list"));
  EXPECT_THAT(SearchIds(req, "prov"), ::testing::ElementsAre("important.list", "ordinary.list"));
  EXPECT_THAT(SearchIds(req, "bank2"), ::testing::ElementsAre("ordinary.list"));
  EXPECT_THAT(SearchIds(req, ""), ::testing::ElementsAre("ordinary.list"));
  EXPECT_EQ(index_.Search(req, "bank2").total(), 1u);
  req.set_text("designated");
  EXPECT_TRUE(SearchIds(req, "").empty());
  EXPECT_EQ(index_.Search(req, "").total(), 0u);

  // An update that drops bank from the allow-list hides the product from it.
  p.clear_allow_list();
  p.add_allow_list("bank2");
  ASSERT_TRUE(Update("prov", p).ok());
  EXPECT_TRUE(SearchIds(req, "bank").empty());
  EXPECT_THAT(SearchIds(req, "bank2"), ::testing::ElementsAre("important.list"));
}

TEST_F(CatalogTest, IndexLoadedFromStateEqualsIndexFollowingCommits) {
  for (int i = 0; i < 30; ++i) {
    tds::Product p = ValidProduct(absl::StrCat("p", 100 + i), 1 + i % 5);
    p.set_title(i % 2 ? "Invoice features" : "Payment flows");
    if (i % 3 == 0) p.add_tags("fraud");
    ASSERT_TRUE(Publish(i % 4 ? "prov" : "prov2", p).ok());
  }
  for (int i = 0; i < 30; i += 7) {
    tds::Product p = ValidProduct(absl::StrCat("p", 100 + i), 1 + i % 5);
    p.set_title("Updated title");
    ASSERT_TRUE(Update(i % 4 ? "prov" : "prov2", p).ok());
  }
  ASSERT_TRUE(Retire("prov", "p101").ok());
  SearchIndex loaded;
  ASSERT_TRUE(loaded.Load(ledger_->state()).ok());
  EXPECT_EQ(loaded.size(), index_.size());
  std::vector<tds::SearchProductsRequest> reqs(6);
  reqs[1].set_text("invoice");
  reqs[2].set_text("upd");
  reqs[3].set_provider("prov2");
  reqs[4].set_tag("fraud");
  reqs[4].set_max_level(3);
  reqs[5].set_include_retired(true);
  reqs[5].mutable_page()->set_limit(7);
  for (const auto& req : reqs) {
    for (const char* who : {"", "bank", "prov"}) {
      EXPECT_EQ(loaded.Search(req, who).SerializeAsString(),
                index_.Search(req, who).SerializeAsString())
          << req.ShortDebugString() << " as '" << who << "'";
    }
  }
}

}  // namespace
}  // namespace tds::catalog
