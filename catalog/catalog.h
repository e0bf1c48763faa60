#pragma once
// The data-product catalog as ledger transactions (数据产品目录).
//
// Transaction types (bodies in proto/catalog.proto; state layout in catalog/catalog_state.h):
//   catalog.publish       PublishBody      submitter holds role "provider"; the id is unused.
//                                          Writes head (latest_version 1) and version 1.
//                                          Result "v1".
//   catalog.update        PublishBody      submitter is the product's provider and still holds
//                                          role "provider"; product not retired; a full new
//                                          description with the same id. Writes version
//                                          latest + 1 and the head. Result "v<n>".
//   catalog.retire        RetireBody       submitter is the product's provider; not yet retired.
//                                          Sets head.retired, retired_height, retire_reason:
//                                          the product leaves search and takes no new contracts;
//                                          its versions stay readable. Result "retired".
//   catalog.declare_cost  DeclareCostBody  submitter is the product's provider (retired or not).
//                                          Writes CostKey(product, period, log index). Result "".
//
// Every refusal is a typed status whose message starts with the transaction type and names the
// field, party or state that failed, e.g.
//   "catalog.publish: product.operations[1] 'query' releases raw rows (export) and is
//    forbidden at level 3 and above (product.level 4)".
// InvalidArgument: malformed body or field; PermissionDenied: wrong party or role; NotFound:
// unknown product; AlreadyExists: id taken; FailedPrecondition: product retired.

#include <string_view>

#include "absl/status/status.h"
#include "ledger/application.h"
#include "proto/catalog.pb.h"

namespace tds::catalog {

inline constexpr std::string_view kPublishTxType = "catalog.publish";
inline constexpr std::string_view kUpdateTxType = "catalog.update";
inline constexpr std::string_view kRetireTxType = "catalog.retire";
inline constexpr std::string_view kDeclareCostTxType = "catalog.declare_cost";

// Limits of a product description.
inline constexpr size_t kMaxTitleBytes = 200;
inline constexpr size_t kMaxDescriptionBytes = 4000;
inline constexpr int kMaxTags = 32;
inline constexpr int kMaxColumns = 512;
inline constexpr int kMaxAllowList = 1000;
inline constexpr int kMaxEnclaveMeasurements = 64;
inline constexpr size_t kMaxTextBytes = 1000;  // column descriptions, retire reasons, cost notes

// Registers the four catalog.* handlers. REQUIRES: none of them registered yet.
void Register(ledger::Application& app);

// The stateless checks publish and update apply to a product description (everything except
// the membership of the allow-list and the ledger-set fields), for clients that want to check
// before they sign. InvalidArgument naming the field ("product.schema[2].level: ...").
absl::Status ValidateProduct(const tds::Product& product);

}  // namespace tds::catalog
