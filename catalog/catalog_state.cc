#include "catalog/catalog_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace tds::catalog {

std::string ProductHeadKey(std::string_view product_id) {
  return absl::StrCat(std::string(kProductPrefix), std::string(product_id));
}

std::string ProductVersionKey(std::string_view product_id, uint32_t version) {
  std::string k = absl::StrCat(std::string(kVersionPrefix), std::string(product_id), "/");
  PutFixed32BE(&k, version);
  return k;
}

std::string CostKey(std::string_view product_id, std::string_view period, uint64_t index) {
  std::string k = absl::StrCat(std::string(kCostPrefix), std::string(product_id), "/",
                               std::string(period), "/");
  PutFixed64BE(&k, index);
  return k;
}

absl::StatusOr<std::optional<tds::ProductHead>> ReadProductHead(const ledger::StateReader& state,
                                                                std::string_view product_id) {
  auto raw = state.Get(ProductHeadKey(product_id));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::nullopt;
  tds::ProductHead head;
  if (!head.ParseFromString(**raw)) {
    return absl::DataLossError(
        absl::StrCat("state: product head '", std::string(product_id), "' is corrupt"));
  }
  return head;
}

absl::StatusOr<tds::Product> ReadProduct(const ledger::StateReader& state,
                                         std::string_view product_id, uint32_t version) {
  if (version == 0) {
    auto head = ReadProductHead(state, product_id);
    if (!head.ok()) return head.status();
    if (!head->has_value()) {
      return absl::NotFoundError(
          absl::StrCat("product '", std::string(product_id), "' does not exist"));
    }
    version = (*head)->latest_version();
  }
  auto raw = state.Get(ProductVersionKey(product_id, version));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) {
    return absl::NotFoundError(
        absl::StrCat("product '", std::string(product_id), "' has no version ", version));
  }
  tds::Product p;
  if (!p.ParseFromString(**raw)) {
    return absl::DataLossError(
        absl::StrCat("state: product '", std::string(product_id), "' v", version, " is corrupt"));
  }
  return p;
}

bool KnownOperation(std::string_view op) { return !OperationKind(op).empty(); }

std::string_view OperationKind(std::string_view op) {
  if (op == "psi" || op == "stats" || op == "joint_stats" || op == "lr_train" || op == "lr_score") {
    return "mpc";
  }
  if (op == "enclave_sql") return "enclave";
  if (op == "query") return "export";
  return "";
}

bool KnownPurpose(std::string_view p) {
  for (std::string_view known : {"credit_risk", "anti_fraud", "marketing", "compliance", "research",
                                 "risk_control", "customer_service", "regulatory_reporting"}) {
    if (p == known) return true;
  }
  return false;
}

bool VisibleTo(const tds::Product& product, std::string_view member_id) {
  if (product.level() < 5) return true;
  if (!member_id.empty() && product.provider() == member_id) return true;
  return !member_id.empty() && std::find(product.allow_list().begin(), product.allow_list().end(),
                                         member_id) != product.allow_list().end();
}

}  // namespace tds::catalog
