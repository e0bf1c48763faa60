#include "catalog/dcat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "catalog/catalog_testing.h"
#include "nlohmann/json.hpp"

namespace tds::catalog {
namespace {

using ::testing::ElementsAre;
using Json = nlohmann::ordered_json;

TEST(FormatMinorUnitsTest, ConvertsExactlyWithTheCurrencyExponent) {
  EXPECT_EQ(FormatMinorUnits(12345, "CNY"), "123.45");
  EXPECT_EQ(FormatMinorUnits(5, "CNY"), "0.05");
  EXPECT_EQ(FormatMinorUnits(100, "USD"), "1.00");
  EXPECT_EQ(FormatMinorUnits(0, "EUR"), "0.00");
  EXPECT_EQ(FormatMinorUnits(500, "JPY"), "500");
  EXPECT_EQ(FormatMinorUnits(1234, "KWD"), "1.234");
  EXPECT_EQ(FormatMinorUnits(7, "BHD"), "0.007");
  EXPECT_EQ(FormatMinorUnits(-250, "CNY"), "-2.50");
  // Beyond double precision: still exact.
  EXPECT_EQ(FormatMinorUnits(std::numeric_limits<int64_t>::max(), "CNY"), "92233720368547758.07");
  EXPECT_EQ(FormatMinorUnits(std::numeric_limits<int64_t>::min(), "CNY"), "-92233720368547758.08");
}

TEST(IsoTimeUtcTest, FormatsBlockTimeInUtc) {
  EXPECT_EQ(IsoTimeUtc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTimeUtc(1'709'280'000'123), "2024-03-01T08:00:00.123Z");
  EXPECT_EQ(IsoTimeUtc(951'782'400'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(IsoTimeUtc(-1), "1969-12-31T23:59:59.999Z");
}

class DcatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    product_ = testing::ValidProduct("tax.invoices", 3);
    product_.set_version(2);
    product_.set_provider("prov");
    product_.set_published_height(17);
    product_.set_published_ms(1'709'280'000'000);
    tds::Terms* o = product_.mutable_offer();
    o->add_purposes("anti_fraud");
    o->set_valid_from_ms(1'704'067'200'000);   // 2024-01-01
    o->set_valid_until_ms(1'735'689'600'000);  // 2025-01-01
    o->set_max_calls_per_day(50);
    head_.set_id("tax.invoices");
    head_.set_provider("prov");
    head_.set_latest_version(2);
  }
  Json Export() {
    const std::string out = ExportDcat(product_, head_);
    EXPECT_TRUE(Json::accept(out)) << out;
    return Json::parse(out);
  }

  tds::Product product_;
  tds::ProductHead head_;
};

TEST_F(DcatTest, DatasetCarriesTheCatalogEntry) {
  const Json j = Export();
  for (const char* prefix : {"dcat", "dct", "odrl", "xsd", "tds"}) {
    EXPECT_TRUE(j["@context"].contains(prefix)) << prefix;
  }
  EXPECT_EQ(j["@context"]["dcat"], "http://www.w3.org/ns/dcat#");
  EXPECT_EQ(j["@context"]["odrl"], "http://www.w3.org/ns/odrl/2/");
  EXPECT_EQ(j["@type"], "dcat:Dataset");
  EXPECT_EQ(j["@id"], "urn:tds:product:tax.invoices:v2");
  EXPECT_EQ(j["dct:identifier"], "tax.invoices");
  EXPECT_EQ(j["dct:title"], "Enterprise credit profile");
  EXPECT_EQ(j["dcat:keyword"], Json::array({"credit", "tax"}));
  EXPECT_EQ(j["dct:publisher"]["@id"], "urn:tds:member:prov");
  EXPECT_EQ(j["dcat:version"], "2");
  EXPECT_EQ(j["dct:issued"]["@value"], "2024-03-01T08:00:00.000Z");
  EXPECT_EQ(j["dct:issued"]["@type"], "xsd:dateTime");
  EXPECT_EQ(j["dct:accrualPeriodicity"]["@id"],
            "http://publications.europa.eu/resource/authority/frequency/MONTHLY");
  EXPECT_EQ(j["tds:classificationLevel"], 3);
  EXPECT_EQ(j["tds:rowCount"]["@value"], "250000");
  ASSERT_EQ(j["tds:schema"].size(), 2u);
  EXPECT_EQ(j["tds:schema"][0]["tds:column"], "taxpayer_id");
  EXPECT_EQ(j["tds:schema"][0]["tds:classificationLevel"], 3);
  EXPECT_FALSE(j.contains("tds:retired"));
}

TEST_F(DcatTest, DistributionIsAComputationServiceNotADownload) {
  const Json j = Export();
  ASSERT_EQ(j["dcat:distribution"].size(), 1u);
  const Json& dist = j["dcat:distribution"][0];
  EXPECT_EQ(dist["@type"], "dcat:Distribution");
  EXPECT_FALSE(dist.contains("dcat:downloadURL"));
  EXPECT_FALSE(dist.contains("dcat:accessURL"));
  const Json& service = dist["dcat:accessService"];
  EXPECT_EQ(service["@type"], "dcat:DataService");
  EXPECT_EQ(service["dcat:servesDataset"]["@id"], j["@id"]);
  EXPECT_EQ(service["tds:operation"], Json::array({"psi", "stats"}));
}

TEST_F(DcatTest, OfferIsAnOdrlPolicyWithConstraintsAndPrice) {
  const Json j = Export();
  const Json& offer = j["odrl:hasPolicy"];
  EXPECT_EQ(offer["@type"], "odrl:Offer");
  EXPECT_EQ(offer["odrl:uid"]["@id"], "urn:tds:offer:tax.invoices:v2");
  EXPECT_EQ(offer["odrl:assigner"]["@id"], "urn:tds:member:prov");
  ASSERT_EQ(offer["odrl:permission"].size(), 1u);
  const Json& perm = offer["odrl:permission"][0];
  EXPECT_EQ(perm["odrl:target"]["@id"], j["@id"]);
  EXPECT_EQ(perm["odrl:action"],
            Json::array({Json{{"@id", "tds:psi"}}, Json{{"@id", "tds:stats"}}}));

  std::map<std::string, Json> by_key;  // "leftOperand operator" → rightOperand
  for (const Json& c : perm["odrl:constraint"]) {
    by_key[c["odrl:leftOperand"]["@id"].get<std::string>() + " " +
           c["odrl:operator"]["@id"].get<std::string>()] = c["odrl:rightOperand"];
  }
  EXPECT_EQ(by_key["odrl:purpose odrl:isAnyOf"], Json::array({"credit_risk", "anti_fraud"}));
  EXPECT_EQ(by_key["tds:column odrl:isAnyOf"], Json::array({"taxpayer_id", "monthly_invoices"}));
  EXPECT_EQ(by_key["odrl:dateTime odrl:gteq"]["@value"], "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(by_key["odrl:dateTime odrl:lt"]["@value"], "2025-01-01T00:00:00.000Z");
  EXPECT_EQ(by_key["odrl:count odrl:lteq"]["@value"], "1000");
  EXPECT_EQ(by_key["tds:callsPerDay odrl:lteq"]["@value"], "50");
  EXPECT_EQ(by_key["tds:metering odrl:eq"], "strict");
  EXPECT_FALSE(by_key.contains("tds:rowsPerCall odrl:lteq"));  // unlimited: no constraint

  ASSERT_EQ(perm["odrl:duty"].size(), 1u);
  const Json& duty = perm["odrl:duty"][0];
  EXPECT_EQ(duty["odrl:action"]["@id"], "odrl:compensate");
  EXPECT_EQ(duty["tds:priceComponent"], "per_call");
  const Json& pay = duty["odrl:constraint"][0];
  EXPECT_EQ(pay["odrl:leftOperand"]["@id"], "odrl:payAmount");
  EXPECT_EQ(pay["odrl:operator"]["@id"], "odrl:eq");
  EXPECT_EQ(pay["odrl:rightOperand"]["@value"], "123.45");
  EXPECT_EQ(pay["odrl:rightOperand"]["@type"], "xsd:decimal");
  EXPECT_EQ(pay["odrl:unit"]["@id"], "urn:iso:std:iso:4217:CNY");
}

TEST_F(DcatTest, TieredAndSubscriptionPricesBecomeOneDutyEach) {
  tds::Price* pr = product_.mutable_offer()->mutable_price();
  pr->set_per_call(0);
  pr->set_subscription_fee(100000);
  pr->set_included_calls(500);
  auto* t = pr->add_tiers();
  t->set_up_to_calls(100);
  t->set_per_call(50);
  t = pr->add_tiers();
  t->set_up_to_calls(0);
  t->set_per_call(20);
  const Json j = Export();
  const Json& duties = j["odrl:hasPolicy"]["odrl:permission"][0]["odrl:duty"];
  ASSERT_EQ(duties.size(), 3u);
  EXPECT_EQ(duties[0]["tds:priceComponent"], "subscription_fee");
  EXPECT_EQ(duties[0]["odrl:constraint"][0]["odrl:rightOperand"]["@value"], "1000.00");
  EXPECT_EQ(duties[0]["tds:includedCalls"]["@value"], "500");
  EXPECT_EQ(duties[1]["tds:priceComponent"], "tier");
  EXPECT_EQ(duties[1]["tds:fromCall"]["@value"], "1");
  EXPECT_EQ(duties[1]["tds:upToCalls"]["@value"], "100");
  EXPECT_EQ(duties[1]["odrl:constraint"][0]["odrl:rightOperand"]["@value"], "0.50");
  EXPECT_EQ(duties[2]["tds:fromCall"]["@value"], "101");
  EXPECT_FALSE(duties[2].contains("tds:upToCalls"));
}

TEST_F(DcatTest, FreeOfferHasNoDuty) {
  product_.mutable_offer()->mutable_price()->set_per_call(0);
  const Json j = Export();
  EXPECT_FALSE(j["odrl:hasPolicy"]["odrl:permission"][0].contains("odrl:duty"));
}

TEST_F(DcatTest, RetiredProductIsMarked) {
  head_.set_retired(true);
  head_.set_retired_height(40);
  head_.set_retire_reason("superseded");
  const Json j = Export();
  EXPECT_EQ(j["tds:retired"], true);
  EXPECT_EQ(j["tds:retiredHeight"], 40);
  EXPECT_EQ(j["tds:retireReason"], "superseded");
}

TEST_F(DcatTest, NonAsciiTextSurvivesAsUtf8) {
  product_.set_title("企业征信数据");
  const Json j = Export();
  EXPECT_EQ(j["dct:title"], "企业征信数据");
}

}  // namespace
}  // namespace tds::catalog
