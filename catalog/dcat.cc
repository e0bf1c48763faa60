#include "catalog/dcat.h"

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tds::catalog {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kFrequencyBase =
    "http://publications.europa.eu/resource/authority/frequency/";

int CurrencyExponent(std::string_view c) {
  for (std::string_view z : {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                             "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}) {
    if (c == z) return 0;
  }
  for (std::string_view t : {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}) {
    if (c == t) return 3;
  }
  return 2;
}

std::string ProductIri(const tds::Product& p) {
  return absl::StrCat("urn:tds:product:", p.id(), ":v", p.version());
}

std::string MemberIri(std::string_view member) {
  return absl::StrCat("urn:tds:member:", std::string(member));
}

Json Iri(std::string_view iri) { return Json{{"@id", std::string(iri)}}; }

Json Typed(std::string value, const char* type) {
  return Json{{"@value", std::move(value)}, {"@type", type}};
}

Json Constraint(const char* left, const char* op, Json right) {
  return Json{{"odrl:leftOperand", Iri(left)},
              {"odrl:operator", Iri(op)},
              {"odrl:rightOperand", std::move(right)}};
}

std::string Frequency(std::string_view cadence) {
  const char* code = nullptr;
  if (cadence == "daily") code = "DAILY";
  if (cadence == "weekly") code = "WEEKLY";
  if (cadence == "monthly") code = "MONTHLY";
  if (cadence == "quarterly") code = "QUARTERLY";
  if (cadence == "realtime") code = "CONT";
  if (cadence == "static") code = "NEVER";
  return code == nullptr ? std::string() : absl::StrCat(std::string(kFrequencyBase), code);
}

// One odrl:compensate duty for a price component.
Json Compensate(const char* component, int64_t amount, const std::string& currency) {
  Json duty;
  duty["odrl:action"] = Iri("odrl:compensate");
  duty["tds:priceComponent"] = component;
  Json pay = Constraint("odrl:payAmount", "odrl:eq",
                        Typed(FormatMinorUnits(amount, currency), "xsd:decimal"));
  pay["odrl:unit"] = Iri(absl::StrCat("urn:iso:std:iso:4217:", currency));
  duty["odrl:constraint"] = Json::array({std::move(pay)});
  return duty;
}

Json Duties(const tds::Price& price) {
  Json duties = Json::array();
  const std::string& cur = price.currency();
  if (price.per_call() != 0) duties.push_back(Compensate("per_call", price.per_call(), cur));
  if (price.per_row() != 0) duties.push_back(Compensate("per_row", price.per_row(), cur));
  if (price.per_compute_second() != 0) {
    duties.push_back(Compensate("per_compute_second", price.per_compute_second(), cur));
  }
  if (price.subscription_fee() != 0 || price.included_calls() != 0) {
    Json d = Compensate("subscription_fee", price.subscription_fee(), cur);
    d["tds:includedCalls"] =
        Typed(std::to_string(price.included_calls()), "xsd:nonNegativeInteger");
    duties.push_back(std::move(d));
  }
  if (price.overage_per_call() != 0) {
    duties.push_back(Compensate("overage_per_call", price.overage_per_call(), cur));
  }
  uint64_t from = 1;
  for (const tds::Tier& t : price.tiers()) {
    Json d = Compensate("tier", t.per_call(), cur);
    d["tds:fromCall"] = Typed(std::to_string(from), "xsd:nonNegativeInteger");
    if (t.up_to_calls() != 0) {
      d["tds:upToCalls"] = Typed(std::to_string(t.up_to_calls()), "xsd:nonNegativeInteger");
      from = t.up_to_calls() + 1;
    }
    duties.push_back(std::move(d));
  }
  return duties;
}

Json Permission(const tds::Product& p) {
  const tds::Terms& o = p.offer();
  Json perm;
  perm["odrl:target"] = Iri(ProductIri(p));
  Json actions = Json::array();
  for (const std::string& op : o.operations()) actions.push_back(Iri(absl::StrCat("tds:", op)));
  perm["odrl:action"] = std::move(actions);

  Json constraints = Json::array();
  constraints.push_back(
      Constraint("odrl:purpose", "odrl:isAnyOf",
                 Json(std::vector<std::string>(o.purposes().begin(), o.purposes().end()))));
  if (o.columns_size() > 0) {
    constraints.push_back(
        Constraint("tds:column", "odrl:isAnyOf",
                   Json(std::vector<std::string>(o.columns().begin(), o.columns().end()))));
  }
  if (o.valid_from_ms() != 0) {
    constraints.push_back(Constraint("odrl:dateTime", "odrl:gteq",
                                     Typed(IsoTimeUtc(o.valid_from_ms()), "xsd:dateTime")));
  }
  if (o.valid_until_ms() != 0) {
    constraints.push_back(Constraint("odrl:dateTime", "odrl:lt",
                                     Typed(IsoTimeUtc(o.valid_until_ms()), "xsd:dateTime")));
  }
  auto count = [&](const char* left, const char* op, uint64_t v) {
    if (v != 0) {
      constraints.push_back(Constraint(left, op, Typed(std::to_string(v), "xsd:integer")));
    }
  };
  count("odrl:count", "odrl:lteq", o.max_calls_total());
  count("tds:callsPerDay", "odrl:lteq", o.max_calls_per_day());
  count("tds:rowsPerCall", "odrl:lteq", o.max_rows_per_call());
  count("tds:minGroupSize", "odrl:gteq", o.min_group_size());
  if (o.metering() == tds::METERING_STRICT) {
    constraints.push_back(Constraint("tds:metering", "odrl:eq", "strict"));
  } else if (o.metering() == tds::METERING_BATCHED) {
    Json c = Constraint("tds:metering", "odrl:eq", "batched");
    c["tds:batchedMaxDelayMs"] = Typed(std::to_string(o.batched_max_delay_ms()), "xsd:integer");
    constraints.push_back(std::move(c));
  }
  perm["odrl:constraint"] = std::move(constraints);
  Json duties = Duties(o.price());
  if (!duties.empty()) perm["odrl:duty"] = std::move(duties);
  return perm;
}

// Days since 1970-01-01 → civil date (proleptic Gregorian), integers only.
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

}  // namespace

std::string FormatMinorUnits(int64_t minor, std::string_view currency) {
  const int exp = CurrencyExponent(currency);
  // Magnitude as unsigned so INT64_MIN is exact.
  const bool negative = minor < 0;
  const uint64_t mag = negative ? ~static_cast<uint64_t>(minor) + 1 : static_cast<uint64_t>(minor);
  uint64_t scale = 1;
  for (int i = 0; i < exp; ++i) scale *= 10;
  std::string out = negative ? "-" : "";
  out += std::to_string(mag / scale);
  if (exp > 0) {
    std::string frac = std::to_string(mag % scale);
    out += ".";
    out += std::string(exp - frac.size(), '0');
    out += frac;
  }
  return out;
}

std::string IsoTimeUtc(int64_t ms) {
  constexpr int64_t kMsPerDay = 86400000;
  int64_t days = ms / kMsPerDay;
  int64_t rem = ms % kMsPerDay;
  if (rem < 0) rem += kMsPerDay, --days;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(y), m, d, static_cast<int>(rem / 3600000),
                static_cast<int>(rem / 60000 % 60), static_cast<int>(rem / 1000 % 60),
                static_cast<int>(rem % 1000));
  return buf;
}

std::string ExportDcat(const tds::Product& p, const tds::ProductHead& head) {
  const std::string dataset = ProductIri(p);
  Json doc;
  doc["@context"] = Json{{"dcat", "http://www.w3.org/ns/dcat#"},
                         {"dct", "http://purl.org/dc/terms/"},
                         {"odrl", "http://www.w3.org/ns/odrl/2/"},
                         {"xsd", "http://www.w3.org/2001/XMLSchema#"},
                         {"tds", "urn:tds:vocab#"}};
  doc["@id"] = dataset;
  doc["@type"] = "dcat:Dataset";
  doc["dct:identifier"] = p.id();
  doc["dct:title"] = p.title();
  doc["dct:description"] = p.description();
  doc["dcat:keyword"] = std::vector<std::string>(p.tags().begin(), p.tags().end());
  doc["dct:publisher"] = Iri(MemberIri(p.provider()));
  doc["dcat:version"] = std::to_string(p.version());
  if (p.published_height() != 0) {
    doc["dct:issued"] = Typed(IsoTimeUtc(p.published_ms()), "xsd:dateTime");
  }
  if (std::string f = Frequency(p.update_cadence()); !f.empty()) {
    doc["dct:accrualPeriodicity"] = Iri(f);
  }
  doc["tds:classificationLevel"] = p.level();
  doc["tds:rowCount"] = Typed(std::to_string(p.row_count()), "xsd:nonNegativeInteger");
  Json schema = Json::array();
  for (const tds::Column& c : p.schema()) {
    Json col{
        {"tds:column", c.name()}, {"tds:type", c.type()}, {"tds:classificationLevel", c.level()}};
    if (!c.description().empty()) col["dct:description"] = c.description();
    schema.push_back(std::move(col));
  }
  doc["tds:schema"] = std::move(schema);
  if (p.enclave_measurements_size() > 0) {
    doc["tds:enclaveMeasurement"] =
        std::vector<std::string>(p.enclave_measurements().begin(), p.enclave_measurements().end());
  }
  if (head.retired()) {
    doc["tds:retired"] = true;
    doc["tds:retiredHeight"] = head.retired_height();
    if (!head.retire_reason().empty()) doc["tds:retireReason"] = head.retire_reason();
  }

  Json service;
  service["@id"] = absl::StrCat("urn:tds:service:", p.provider(), ":gateway");
  service["@type"] = "dcat:DataService";
  service["dct:title"] = "TDS metered computation gateway";
  service["dct:description"] =
      "Privacy-preserving computations (MPC, enclave) under a signed usage contract; every call "
      "is metered on the TDS ledger.";
  service["dct:publisher"] = Iri(MemberIri(p.provider()));
  service["dcat:servesDataset"] = Iri(dataset);
  service["tds:operation"] = std::vector<std::string>(p.operations().begin(), p.operations().end());
  Json dist;
  dist["@type"] = "dcat:Distribution";
  dist["dct:description"] =
      "No download: the data stays at the provider and is used only through contracted "
      "computations.";
  dist["dcat:accessService"] = std::move(service);
  doc["dcat:distribution"] = Json::array({std::move(dist)});

  Json offer;
  offer["@id"] = absl::StrCat("urn:tds:offer:", p.id(), ":v", p.version());
  offer["@type"] = "odrl:Offer";
  offer["odrl:uid"] = Iri(absl::StrCat("urn:tds:offer:", p.id(), ":v", p.version()));
  offer["odrl:profile"] = Iri("urn:tds:odrl-profile:v1");
  offer["odrl:assigner"] = Iri(MemberIri(p.provider()));
  offer["odrl:permission"] = Json::array({Permission(p)});
  doc["odrl:hasPolicy"] = std::move(offer);
  return doc.dump(2, ' ', false, Json::error_handler_t::replace);
}

}  // namespace tds::catalog
