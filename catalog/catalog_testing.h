#pragma once
// Test-only fixtures for the catalog tests: a product description that passes validation.

#include <string>

#include "proto/catalog.pb.h"

namespace tds::catalog::testing {

// A valid level-`level` product (levels 1-2 also allow "query"; level 5 allow-lists "bank")
// with a strict offer priced 123.45 CNY per call. Ledger-set fields are left unset.
inline tds::Product ValidProduct(const std::string& id, uint32_t level = 2) {
  tds::Product p;
  p.set_id(id);
  p.set_title("Enterprise credit profile");
  p.set_description("Monthly tax and invoice features of small businesses");
  p.add_tags("credit");
  p.add_tags("tax");
  p.set_level(level);
  auto* c = p.add_schema();
  c->set_name("taxpayer_id");
  c->set_type("string");
  c->set_level(level);
  c = p.add_schema();
  c->set_name("monthly_invoices");
  c->set_type("int64");
  c->set_level(1);
  p.add_operations("psi");
  p.add_operations("stats");
  if (level < 3) p.add_operations("query");
  tds::Terms* o = p.mutable_offer();
  o->add_operations("psi");
  o->add_operations("stats");
  o->add_purposes("credit_risk");
  o->add_columns("taxpayer_id");
  o->add_columns("monthly_invoices");
  o->set_max_calls_total(1000);
  o->set_metering(tds::METERING_STRICT);
  o->mutable_price()->set_currency("CNY");
  o->mutable_price()->set_per_call(12345);
  p.set_row_count(250000);
  p.set_update_cadence("monthly");
  if (level == 5) p.add_allow_list("bank");
  return p;
}

}  // namespace tds::catalog::testing
