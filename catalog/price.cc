#include "catalog/price.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/proto_fields.h"
#include "common/status_macros.h"

namespace tds::catalog {
namespace {

absl::Status Refuse(std::string_view field, std::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", std::string(detail)));
}

absl::Status NonNegative(int64_t amount, std::string_view field, std::string_view component) {
  if (amount >= 0) return absl::OkStatus();
  return Refuse(absl::StrCat(std::string(field), ".", std::string(component)),
                absl::StrCat(amount, " is negative"));
}

}  // namespace

bool IsCurrencyCode(std::string_view c) {
  return c.size() == 3 &&
         std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

absl::Status ValidatePrice(const tds::Price& price, std::string_view field) {
  const std::string f(field);
  TDS_RETURN_IF_ERROR(RejectUnknownFields(price, f));
  TDS_RETURN_IF_ERROR(NonNegative(price.per_call(), f, "per_call"));
  TDS_RETURN_IF_ERROR(NonNegative(price.per_row(), f, "per_row"));
  TDS_RETURN_IF_ERROR(NonNegative(price.per_compute_second(), f, "per_compute_second"));
  TDS_RETURN_IF_ERROR(NonNegative(price.subscription_fee(), f, "subscription_fee"));
  TDS_RETURN_IF_ERROR(NonNegative(price.overage_per_call(), f, "overage_per_call"));
  if (price.tiers_size() > kMaxPriceTiers) {
    return Refuse(absl::StrCat(f, ".tiers"),
                  absl::StrCat(price.tiers_size(), " tiers; at most ", kMaxPriceTiers));
  }
  for (int i = 0; i < price.tiers_size(); ++i) {
    const std::string tier = absl::StrCat(f, ".tiers[", i, "]");
    const tds::Tier& t = price.tiers(i);
    TDS_RETURN_IF_ERROR(RejectUnknownFields(t, tier));
    TDS_RETURN_IF_ERROR(NonNegative(t.per_call(), tier, "per_call"));
    if (t.up_to_calls() == 0 && i + 1 < price.tiers_size()) {
      return Refuse(tier, "only the last tier may be unbounded (up_to_calls 0)");
    }
    if (i > 0 && t.up_to_calls() != 0 && t.up_to_calls() <= price.tiers(i - 1).up_to_calls()) {
      return Refuse(
          tier, absl::StrCat("up_to_calls ", t.up_to_calls(), " is not above the previous tier's ",
                             price.tiers(i - 1).up_to_calls()));
    }
  }
  if (!price.tiers().empty() && price.per_call() != 0) {
    return Refuse(absl::StrCat(f, ".tiers"),
                  "graduated tiers replace per_call; set one or the other");
  }
  const bool priced = price.per_call() != 0 || price.per_row() != 0 ||
                      price.per_compute_second() != 0 || price.subscription_fee() != 0 ||
                      price.overage_per_call() != 0 || price.included_calls() != 0 ||
                      !price.tiers().empty();
  if (price.currency().empty()) {
    if (priced) return Refuse(absl::StrCat(f, ".currency"), "required once a price is set");
  } else if (!IsCurrencyCode(price.currency())) {
    return Refuse(absl::StrCat(f, ".currency"),
                  absl::StrCat("'", price.currency(),
                               "' is not an ISO 4217 code (three upper-case letters)"));
  }
  return absl::OkStatus();
}

}  // namespace tds::catalog
