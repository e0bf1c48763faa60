#pragma once
// Where the catalog lives in application state (keys documented in proto/catalog.proto), and
// the reads other modules (contracts, node queries) need.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "proto/catalog.pb.h"

namespace tds::catalog {

inline constexpr std::string_view kProductPrefix = "catalog/product/";
inline constexpr std::string_view kVersionPrefix = "catalog/version/";
inline constexpr std::string_view kCostPrefix = "catalog/cost/";

std::string ProductHeadKey(std::string_view product_id);
std::string ProductVersionKey(std::string_view product_id, uint32_t version);
// "catalog/cost/<id>/<period>/<be64 index>"
std::string CostKey(std::string_view product_id, std::string_view period, uint64_t index);

absl::StatusOr<std::optional<tds::ProductHead>> ReadProductHead(const ledger::StateReader& state,
                                                                std::string_view product_id);
// version 0 = latest. NotFound naming the product (and version) when absent.
absl::StatusOr<tds::Product> ReadProduct(const ledger::StateReader& state,
                                         std::string_view product_id, uint32_t version = 0);

// Operations a product may allow, and their kind: "export" operations release provider rows
// to the consumer and are forbidden at level 3 and above; "mpc" and "enclave" ones are not.
bool KnownOperation(std::string_view op);
std::string_view OperationKind(std::string_view op);  // "mpc", "enclave", "export" or ""
// The enumerated purposes of use: credit_risk, anti_fraud, marketing, compliance, research,
// risk_control, customer_service, regulatory_reporting.
bool KnownPurpose(std::string_view purpose);
// Whether `member_id` may see (and contract for) `product`: everyone for levels 1-4, only the
// provider and the allow-list for level 5.
bool VisibleTo(const tds::Product& product, std::string_view member_id);

}  // namespace tds::catalog
