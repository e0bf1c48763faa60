#include "contracts/terms.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/sha256.h"

namespace tds::contracts {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kDay = 86'400'000;

// Product p1: level 2; psi, stats, query and enclave_sql, of which the offer allows psi, stats
// and query, for credit_risk and anti_fraud, on columns id and income (not region), strict
// metering, 100 calls, 10 a day, 1000 rows a call, groups of at least 10, CNY 100 a call.
tds::Product BaseProduct() {
  tds::Product p;
  p.set_id("p1");
  p.set_version(1);
  p.set_provider("prov");
  p.set_level(2);
  for (const char* op : {"psi", "stats", "query", "enclave_sql"}) p.add_operations(op);
  for (const char* col : {"id", "income", "region"}) {
    tds::Column* c = p.add_schema();
    c->set_name(col);
    c->set_type("string");
    c->set_level(2);
  }
  tds::Terms* o = p.mutable_offer();
  for (const char* op : {"psi", "stats", "query"}) o->add_operations(op);
  o->add_purposes("credit_risk");
  o->add_purposes("anti_fraud");
  o->add_columns("id");
  o->add_columns("income");
  o->set_max_calls_total(100);
  o->set_max_calls_per_day(10);
  o->set_max_rows_per_call(1000);
  o->set_min_group_size(10);
  o->set_metering(tds::METERING_STRICT);
  o->mutable_price()->set_currency("CNY");
  o->mutable_price()->set_per_call(100);
  return p;
}

tds::Terms GoodTerms() {
  tds::Terms t;
  t.add_operations("psi");
  t.add_operations("stats");
  t.add_purposes("credit_risk");
  t.add_columns("id");
  t.set_valid_from_ms(kNow);
  t.set_valid_until_ms(kNow + 30 * kDay);
  t.set_max_calls_total(100);
  t.set_max_calls_per_day(10);
  t.set_max_rows_per_call(500);
  t.set_min_group_size(10);
  t.set_metering(tds::METERING_STRICT);
  t.mutable_price()->set_currency("CNY");
  t.mutable_price()->set_per_call(80);
  return t;
}

// A batched offer: delays up to one hour.
tds::Product BatchedProduct() {
  tds::Product p = BaseProduct();
  p.mutable_offer()->set_metering(tds::METERING_BATCHED);
  p.mutable_offer()->set_batched_max_delay_ms(3'600'000);
  return p;
}

// Product p1 with enclave_sql in its offer and one accepted enclave build; terms granting it.
constexpr char kSqlDigest[] = "5f9c4ab08cac7457e9111a30e4664920607ea2c115a1433d7be98e97e64244ca";
constexpr char kBinaryDigest[] = "0d6e4079e36703ebd37c00722f5891d28b0e2811dc114b129215123adcce3605";

tds::Product EnclaveProduct() {
  tds::Product p = BaseProduct();
  p.mutable_offer()->add_operations("enclave_sql");
  p.add_enclave_measurements(kBinaryDigest);
  return p;
}

void GrantEnclave(tds::Terms& t, tds::Product& p) {
  p = EnclaveProduct();
  t.add_operations("enclave_sql");
  t.add_columns("income");
  tds::EnclaveTerms* e = t.mutable_enclave();
  e->set_sql_sha256(kSqlDigest);
  e->set_binary_sha256(kBinaryDigest);
  e->add_output_columns("segment");
  e->add_output_columns("n");
  e->set_count_column("n");
  e->set_max_rows(100);
  e->add_identifier_columns("id");
  e->add_platforms("software");
}

struct RefusalCase {
  std::string name;
  std::function<void(tds::Terms&, tds::Product&)> change;
  std::string message;
};

std::vector<RefusalCase> RefusalCases() {
  return {
      {"UnknownField",
       [](tds::Terms& t, tds::Product&) {
         t.GetReflection()->MutableUnknownFields(&t)->AddVarint(99, 1);
       },
       "terms: field number 99 is not part of tds.Terms (the parties may sign only what "
       "validators enforce)"},
      {"NoOperations", [](tds::Terms& t, tds::Product&) { t.clear_operations(); },
       "terms.operations: at least one operation is required"},
      {"UnknownOperation", [](tds::Terms& t, tds::Product&) { t.add_operations("sql"); },
       "terms.operations: 'sql' is not a known operation"},
      {"DuplicateOperation", [](tds::Terms& t, tds::Product&) { t.add_operations("psi"); },
       "terms.operations: 'psi' is listed twice"},
      {"ExportAtLevel3",
       [](tds::Terms& t, tds::Product& p) {
         p.set_level(3);
         t.add_operations("query");
       },
       "terms.operations: 'query' releases rows and product p1 is level 3 (levels 3-5 allow only "
       "MPC and enclave operations)"},
      {"ExportAtLevel5",
       [](tds::Terms& t, tds::Product& p) {
         p.set_level(5);
         t.add_operations("query");
       },
       "terms.operations: 'query' releases rows and product p1 is level 5 (levels 3-5 allow only "
       "MPC and enclave operations)"},
      {"OperationNotOfTheProduct",
       [](tds::Terms& t, tds::Product&) { t.add_operations("lr_train"); },
       "terms.operations: 'lr_train' is not an operation of product p1"},
      {"OperationBeyondTheOffer",
       [](tds::Terms& t, tds::Product&) { t.add_operations("enclave_sql"); },
       "terms.operations: 'enclave_sql' is not allowed by the offer of product p1"},
      {"NoPurposes", [](tds::Terms& t, tds::Product&) { t.clear_purposes(); },
       "terms.purposes: at least one purpose is required"},
      {"UnknownPurpose", [](tds::Terms& t, tds::Product&) { t.add_purposes("curiosity"); },
       "terms.purposes: 'curiosity' is not a known purpose"},
      {"DuplicatePurpose", [](tds::Terms& t, tds::Product&) { t.add_purposes("credit_risk"); },
       "terms.purposes: 'credit_risk' is listed twice"},
      {"PurposeBeyondTheOffer", [](tds::Terms& t, tds::Product&) { t.add_purposes("marketing"); },
       "terms.purposes: 'marketing' is not allowed by the offer of product p1"},
      {"DuplicateColumn", [](tds::Terms& t, tds::Product&) { t.add_columns("id"); },
       "terms.columns: 'id' is listed twice"},
      {"ColumnNotInTheSchema", [](tds::Terms& t, tds::Product&) { t.add_columns("ssn"); },
       "terms.columns: 'ssn' is not a column of product p1"},
      {"ColumnBeyondTheOffer", [](tds::Terms& t, tds::Product&) { t.add_columns("region"); },
       "terms.columns: 'region' is not allowed by the offer of product p1"},
      {"NegativeStart", [](tds::Terms& t, tds::Product&) { t.set_valid_from_ms(-1); },
       "terms.valid_from_ms: -1 is negative"},
      {"OpenEnded", [](tds::Terms& t, tds::Product&) { t.set_valid_until_ms(0); },
       "terms.valid_until_ms: a contract must end (0 is only allowed in an offer)"},
      {"EndNotAfterStart", [](tds::Terms& t, tds::Product&) { t.set_valid_until_ms(kNow); },
       "terms.valid_until_ms: 1800000000000 is not after valid_from_ms 1800000000000"},
      {"StartBeforeTheOffer",
       [](tds::Terms& t, tds::Product& p) { p.mutable_offer()->set_valid_from_ms(kNow + 1); },
       "terms.valid_from_ms: 1800000000000 is before the offer's 1800000000001"},
      {"EndAfterTheOffer",
       [](tds::Terms& t, tds::Product& p) { p.mutable_offer()->set_valid_until_ms(kNow + kDay); },
       "terms.valid_until_ms: 1802592000000 is after the offer's 1800086400000"},
      {"WindowAlreadyOver",
       [](tds::Terms& t, tds::Product&) {
         t.set_valid_from_ms(kNow - 2 * kDay);
         t.set_valid_until_ms(kNow - kDay);
       },
       "terms.valid_until_ms: the window already ended at 1799913600000 (block time is "
       "1800000000000)"},
      {"WindowEndingAtBlockTime",
       [](tds::Terms& t, tds::Product&) {
         t.set_valid_from_ms(kNow - kDay);
         t.set_valid_until_ms(kNow);
       },
       "terms.valid_until_ms: the window already ended at 1800000000000 (block time is "
       "1800000000000)"},
      {"CallsTotalAboveTheOffer", [](tds::Terms& t, tds::Product&) { t.set_max_calls_total(500); },
       "terms.max_calls_total: 500 exceeds the offer's 100"},
      {"CallsTotalUnlimitedUnderALimitedOffer",
       [](tds::Terms& t, tds::Product&) { t.set_max_calls_total(0); },
       "terms.max_calls_total: the offer limits it to 100, so the contract must set a limit (0 "
       "means none)"},
      {"CallsPerDayAboveTheOffer",
       [](tds::Terms& t, tds::Product&) { t.set_max_calls_per_day(11); },
       "terms.max_calls_per_day: 11 exceeds the offer's 10"},
      {"CallsPerDayUnlimitedUnderALimitedOffer",
       [](tds::Terms& t, tds::Product&) { t.set_max_calls_per_day(0); },
       "terms.max_calls_per_day: the offer limits it to 10, so the contract must set a limit (0 "
       "means none)"},
      {"RowsPerCallAboveTheOffer",
       [](tds::Terms& t, tds::Product&) { t.set_max_rows_per_call(1001); },
       "terms.max_rows_per_call: 1001 exceeds the offer's 1000"},
      {"RowsPerCallUnlimitedUnderALimitedOffer",
       [](tds::Terms& t, tds::Product&) { t.set_max_rows_per_call(0); },
       "terms.max_rows_per_call: the offer limits it to 1000, so the contract must set a limit (0 "
       "means none)"},
      {"GroupSizeBelowTheOffer", [](tds::Terms& t, tds::Product&) { t.set_min_group_size(9); },
       "terms.min_group_size: 9 is below the offer's 10"},
      {"MeteringUnset", [](tds::Terms& t, tds::Product&) { t.clear_metering(); },
       "terms.metering: required (strict or batched)"},
      {"MeteringUnknownValue",
       [](tds::Terms& t, tds::Product&) { t.set_metering(static_cast<tds::MeteringMode>(7)); },
       "terms.metering: 7 is not strict or batched"},
      {"BatchedUnderAStrictOffer",
       [](tds::Terms& t, tds::Product&) {
         t.set_metering(tds::METERING_BATCHED);
         t.set_batched_max_delay_ms(1000);
       },
       "terms.metering: the offer of product p1 requires strict metering (a contract may not "
       "relax it to batched)"},
      {"BatchedWithoutDelay",
       [](tds::Terms& t, tds::Product& p) {
         p = BatchedProduct();
         t.set_metering(tds::METERING_BATCHED);
       },
       "terms.batched_max_delay_ms: batched metering needs a delay above 0"},
      {"BatchedDelayAboveTheOffer",
       [](tds::Terms& t, tds::Product& p) {
         p = BatchedProduct();
         t.set_metering(tds::METERING_BATCHED);
         t.set_batched_max_delay_ms(3'600'001);
       },
       "terms.batched_max_delay_ms: 3600001 exceeds the offer's 3600000"},
      {"NegativeDelay", [](tds::Terms& t, tds::Product&) { t.set_batched_max_delay_ms(-5); },
       "terms.batched_max_delay_ms: -5 is negative"},
      {"NegativePerCall", [](tds::Terms& t, tds::Product&) { t.mutable_price()->set_per_call(-1); },
       "terms.price.per_call: -1 is negative"},
      {"NegativePerRow", [](tds::Terms& t, tds::Product&) { t.mutable_price()->set_per_row(-2); },
       "terms.price.per_row: -2 is negative"},
      {"NegativeComputePrice",
       [](tds::Terms& t, tds::Product&) { t.mutable_price()->set_per_compute_second(-3); },
       "terms.price.per_compute_second: -3 is negative"},
      {"NegativeSubscription",
       [](tds::Terms& t, tds::Product&) { t.mutable_price()->set_subscription_fee(-4); },
       "terms.price.subscription_fee: -4 is negative"},
      {"NegativeOverage",
       [](tds::Terms& t, tds::Product&) { t.mutable_price()->set_overage_per_call(-5); },
       "terms.price.overage_per_call: -5 is negative"},
      {"NegativeTierPrice",
       [](tds::Terms& t, tds::Product&) {
         t.mutable_price()->clear_per_call();
         t.mutable_price()->add_tiers()->set_per_call(-6);
       },
       "terms.price.tiers[0].per_call: -6 is negative"},
      {"UnboundedTierBeforeTheLast",
       [](tds::Terms& t, tds::Product&) {
         tds::Price* price = t.mutable_price();
         price->clear_per_call();
         price->add_tiers()->set_per_call(10);
         price->add_tiers()->set_per_call(5);
       },
       "terms.price.tiers[0]: only the last tier may be unbounded (up_to_calls 0)"},
      {"TiersNotAscending",
       [](tds::Terms& t, tds::Product&) {
         tds::Price* price = t.mutable_price();
         price->clear_per_call();
         tds::Tier* a = price->add_tiers();
         a->set_up_to_calls(100);
         a->set_per_call(10);
         tds::Tier* b = price->add_tiers();
         b->set_up_to_calls(100);
         b->set_per_call(5);
       },
       "terms.price.tiers[1]: up_to_calls 100 is not above the previous tier's 100"},
      {"TiersWithPerCall",
       [](tds::Terms& t, tds::Product&) { t.mutable_price()->add_tiers()->set_per_call(5); },
       "terms.price.tiers: graduated tiers replace per_call; set one or the other"},
      {"TooManyTiers",
       [](tds::Terms& t, tds::Product&) {
         tds::Price* price = t.mutable_price();
         price->clear_per_call();
         for (int i = 1; i <= 33; ++i) {
           tds::Tier* tier = price->add_tiers();
           tier->set_up_to_calls(i < 33 ? i * 10 : 0);
           tier->set_per_call(100 - i);
         }
       },
       "terms.price.tiers: 33 tiers; at most 32"},
      {"UnknownFieldInPrice",
       [](tds::Terms& t, tds::Product&) {
         tds::Price* price = t.mutable_price();
         price->GetReflection()->MutableUnknownFields(price)->AddVarint(42, 1);
       },
       "terms.price: field number 42 is not part of tds.Price (the parties may sign only what "
       "validators enforce)"},
      {"LowerCaseCurrency",
       [](tds::Terms& t, tds::Product& p) {
         t.mutable_price()->set_currency("cny");
         p.mutable_offer()->mutable_price()->set_currency("cny");
       },
       "terms.price.currency: 'cny' is not an ISO 4217 code (three upper-case letters)"},
      {"PriceWithoutCurrency",
       [](tds::Terms& t, tds::Product& p) { t.mutable_price()->clear_currency(); },
       "terms.price.currency: required once a price is set"},
      {"CurrencyOtherThanTheOffer",
       [](tds::Terms& t, tds::Product&) { t.mutable_price()->set_currency("USD"); },
       "terms.price.currency: 'USD' differs from the offer's 'CNY'"},
      {"UnknownPsiProtocol", [](tds::Terms& t, tds::Product&) { t.set_psi_protocol("OT"); },
       "terms.psi_protocol: 'OT' is not auto, ecdh or ot"},
      {"OtPsiWithSizeOnly",
       [](tds::Terms& t, tds::Product&) {
         t.set_psi_protocol("ot");
         t.set_psi_output("size_only");
       },
       "terms.psi_protocol: 'ot' cannot run psi_output 'size_only' (an OT-PSI receiver always "
       "learns which of its items matched); use ecdh or auto"},
      {"QueryKBelowTheOffer",
       [](tds::Terms& t, tds::Product& p) {
         p.mutable_offer()->set_query_k(500);
         t.set_query_k(499);
       },
       "terms.query_k: 499 is below the offer's 500"},
      {"DefaultQueryKBelowTheOffer",
       [](tds::Terms& t, tds::Product& p) { p.mutable_offer()->set_query_k(101); },
       "terms.query_k: 100 is below the offer's 101"},
      {"EnclaveTermsWithoutEnclaveSql",
       [](tds::Terms& t, tds::Product&) { t.mutable_enclave()->set_max_rows(1); },
       "terms.enclave: set, but enclave_sql is not among terms.operations"},
      {"EnclaveSqlWithoutEnclaveTerms",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.clear_enclave();
       },
       "terms.enclave: required with enclave_sql (the approved SQL, enclave binary, output "
       "policy and platforms)"},
      {"EnclaveSqlDigestNotHex",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->set_sql_sha256("SELECT 1");
       },
       "terms.enclave.sql_sha256: 'SELECT 1' is not a SHA-256 in 64 lowercase hex characters"},
      {"EnclaveBinaryDigestUpperCase",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->set_binary_sha256(std::string(64, 'A'));
       },
       "terms.enclave.binary_sha256: '" + std::string(64, 'A') +
           "' is not a SHA-256 in 64 lowercase hex characters"},
      {"EnclaveBinaryTheProductDoesNotAccept",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->set_binary_sha256(std::string(64, 'a'));
       },
       "terms.enclave.binary_sha256: " + std::string(64, 'a') +
           " is not among the enclave builds product p1 accepts (product.enclave_measurements)"},
      {"EnclaveNoOutputColumns",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->clear_output_columns();
       },
       "terms.enclave.output_columns: at least one result column is required"},
      {"EnclaveOutputColumnNotAnIdentifier",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->add_output_columns("a-b");
       },
       "terms.enclave.output_columns: 'a-b' is not an SQL identifier ([A-Za-z_][A-Za-z0-9_]*, "
       "at most 64)"},
      {"EnclaveCountColumnNotOutput",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->set_count_column("rows");
       },
       "terms.enclave.count_column: 'rows' must be one of output_columns: with min_group_size 10 "
       "it holds each result row's group size"},
      {"EnclaveMaxRowsZero",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->set_max_rows(0);
       },
       "terms.enclave.max_rows: 0 is outside 1..1000000"},
      {"EnclaveIdentifierNotAGrantedColumn",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->add_identifier_columns("region");
       },
       "terms.enclave.identifier_columns: 'region' is not among terms.columns"},
      {"EnclaveIdentifierOutput",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->add_output_columns("id");
       },
       "terms.enclave.output_columns: 'id' is an identifier column, which is never output"},
      {"EnclaveNoPlatform",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->clear_platforms();
       },
       "terms.enclave.platforms: at least one platform is required"},
      {"EnclaveUnknownPlatform",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         t.mutable_enclave()->add_platforms("sgx");
       },
       "terms.enclave.platforms: 'sgx' is not software, sgx-dcap, tdx or sev-snp"},
      {"EnclaveSoftwareAboveLevel3",
       [](tds::Terms& t, tds::Product& p) {
         GrantEnclave(t, p);
         p.set_level(4);
       },
       "terms.enclave.platforms: 'software' is not accepted for product p1 of level 4 (its "
       "host's operator could read the enclave's memory; software enclaves serve levels up to "
       "3)"},
  };
}

TEST(ValidateTermsTest, AcceptsTermsWithinTheOffer) {
  EXPECT_TRUE(ValidateTerms(GoodTerms(), BaseProduct(), kNow).ok());
}

TEST(ValidateTermsTest, AcceptsEveryPsiProtocolAndAQueryKAtLeastTheOffers) {
  for (const char* protocol : {"", "auto", "ecdh", "ot"}) {
    tds::Terms t = GoodTerms();
    t.set_psi_protocol(protocol);
    EXPECT_TRUE(ValidateTerms(t, BaseProduct(), kNow).ok()) << protocol;
  }
  for (const char* protocol : {"", "auto", "ecdh"}) {
    tds::Terms t = GoodTerms();
    t.set_psi_protocol(protocol);
    t.set_psi_output("size_only");
    EXPECT_TRUE(ValidateTerms(t, BaseProduct(), kNow).ok()) << protocol;
  }
  tds::Product p = BaseProduct();
  p.mutable_offer()->set_query_k(100);
  tds::Terms t = GoodTerms();
  EXPECT_TRUE(ValidateTerms(t, p, kNow).ok());  // 0 means kDefaultQueryK = 100
  t.set_query_k(1000);
  EXPECT_TRUE(ValidateTerms(t, p, kNow).ok());
  EXPECT_EQ(QueryKOf(t), 1000u);
  EXPECT_EQ(QueryKOf(tds::Terms()), kDefaultQueryK);
}

TEST(ValidateTermsTest, AcceptsTermsEqualToTheOffer) {
  tds::Product p = BaseProduct();
  tds::Terms t = p.offer();
  t.set_valid_until_ms(kNow + 1);
  t.set_max_rows_per_call(1000);
  t.mutable_price()->set_per_call(100);
  EXPECT_TRUE(ValidateTerms(t, p, kNow).ok()) << ValidateTerms(t, p, kNow);
}

TEST(ValidateTermsTest, EveryRefusalNamesTheTermThatFailed) {
  for (const RefusalCase& c : RefusalCases()) {
    SCOPED_TRACE(c.name);
    tds::Terms terms = GoodTerms();
    tds::Product product = BaseProduct();
    c.change(terms, product);
    const absl::Status s = ValidateTerms(terms, product, kNow);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), c.message);
  }
}

TEST(ValidateTermsTest, MpcAndEnclaveOperationsAreAllowedAtEveryLevel) {
  tds::Product p;
  tds::Terms t = GoodTerms();
  GrantEnclave(t, p);
  // Hardware platforms at every level; software up to kMaxSoftwareEnclaveLevel.
  t.mutable_enclave()->clear_platforms();
  t.mutable_enclave()->add_platforms("sgx-dcap");
  t.mutable_enclave()->add_platforms("sev-snp");
  for (uint32_t level = 1; level <= 5; ++level) {
    p.set_level(level);
    EXPECT_TRUE(ValidateTerms(t, p, kNow).ok())
        << "level " << level << ": " << ValidateTerms(t, p, kNow);
  }
  t.mutable_enclave()->add_platforms("software");
  for (uint32_t level = 1; level <= kMaxSoftwareEnclaveLevel; ++level) {
    p.set_level(level);
    EXPECT_TRUE(ValidateTerms(t, p, kNow).ok()) << "level " << level;
  }
  // Without a minimum group size the count column is not required.
  t.set_min_group_size(0);
  p.mutable_offer()->set_min_group_size(0);
  t.mutable_enclave()->clear_count_column();
  EXPECT_TRUE(ValidateTerms(t, p, kNow).ok()) << ValidateTerms(t, p, kNow);
}

TEST(ValidateTermsTest, ExportIsAllowedBelowLevel3) {
  tds::Terms t = GoodTerms();
  t.add_operations("query");
  tds::Product p = BaseProduct();
  for (uint32_t level : {1u, 2u}) {
    p.set_level(level);
    EXPECT_TRUE(ValidateTerms(t, p, kNow).ok()) << "level " << level;
  }
}

TEST(ValidateTermsTest, WindowInsideABoundedOfferIsAccepted) {
  tds::Product p = BaseProduct();
  p.mutable_offer()->set_valid_from_ms(kNow - kDay);
  p.mutable_offer()->set_valid_until_ms(kNow + 30 * kDay);
  EXPECT_TRUE(ValidateTerms(GoodTerms(), p, kNow).ok());
}

TEST(ValidateTermsTest, AWindowThatHasNotStartedYetIsAccepted) {
  tds::Terms t = GoodTerms();
  t.set_valid_from_ms(kNow + kDay);
  EXPECT_TRUE(ValidateTerms(t, BaseProduct(), kNow).ok());
}

TEST(ValidateTermsTest, UnlimitedOfferLeavesLimitsToTheParties) {
  tds::Product p = BaseProduct();
  p.mutable_offer()->clear_max_calls_total();
  p.mutable_offer()->clear_max_calls_per_day();
  p.mutable_offer()->clear_max_rows_per_call();
  tds::Terms t = GoodTerms();
  t.set_max_calls_total(0);
  t.set_max_calls_per_day(1'000'000);
  t.set_max_rows_per_call(0);
  EXPECT_TRUE(ValidateTerms(t, p, kNow).ok());
}

TEST(ValidateTermsTest, StricterGroupSizeIsAccepted) {
  tds::Terms t = GoodTerms();
  t.set_min_group_size(50);
  EXPECT_TRUE(ValidateTerms(t, BaseProduct(), kNow).ok());
}

TEST(ValidateTermsTest, StrictMayTightenABatchedOffer) {
  tds::Terms t = GoodTerms();
  t.set_metering(tds::METERING_STRICT);
  EXPECT_TRUE(ValidateTerms(t, BatchedProduct(), kNow).ok());
  t.set_metering(tds::METERING_BATCHED);
  t.set_batched_max_delay_ms(60'000);
  EXPECT_TRUE(ValidateTerms(t, BatchedProduct(), kNow).ok());
}

TEST(ValidateTermsTest, PriceIsNegotiatedBelowOrAboveTheListPrice) {
  tds::Terms t = GoodTerms();
  for (int64_t per_call : {0, 1, 100, 1'000'000}) {
    t.mutable_price()->set_per_call(per_call);
    EXPECT_TRUE(ValidateTerms(t, BaseProduct(), kNow).ok()) << per_call;
  }
}

TEST(ValidateTermsTest, WellFormedCompositePriceIsAccepted) {
  tds::Terms t = GoodTerms();
  tds::Price* price = t.mutable_price();
  price->clear_per_call();
  price->set_per_row(2);
  price->set_per_compute_second(30);
  price->set_subscription_fee(100'000);
  price->set_included_calls(50);
  price->set_overage_per_call(120);
  tds::Tier* a = price->add_tiers();
  a->set_up_to_calls(10);
  a->set_per_call(100);
  tds::Tier* b = price->add_tiers();
  b->set_up_to_calls(100);
  b->set_per_call(80);
  price->add_tiers()->set_per_call(50);
  EXPECT_TRUE(ValidateTerms(t, BaseProduct(), kNow).ok()) << ValidateTerms(t, BaseProduct(), kNow);
}

TEST(ValidateTermsTest, FreeTermsUnderAFreeOfferNeedNoCurrency) {
  tds::Product p = BaseProduct();
  p.mutable_offer()->clear_price();
  tds::Terms t = GoodTerms();
  t.clear_price();
  EXPECT_TRUE(ValidateTerms(t, p, kNow).ok());
}

TEST(TermsDigestTest, IsDomainSeparatedSha256OfTheExactBytes) {
  const std::string bytes = GoodTerms().SerializeAsString();
  EXPECT_EQ(TermsDigest(bytes), Sha256(std::string("tds-terms-v1") + '\0' + bytes));
  EXPECT_NE(TermsDigest(bytes), Sha256(bytes));
  EXPECT_NE(TermsDigest(bytes), TermsDigest(bytes + '\0'));
  EXPECT_EQ(HexEncode(TermsDigest("")), HexEncode(Sha256(std::string_view("tds-terms-v1\0", 13))));
}

}  // namespace
}  // namespace tds::contracts
