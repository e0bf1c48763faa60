#include "node/catalog_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "catalog/dcat.h"
#include "catalog/search_index.h"
#include "common/status_macros.h"
#include "ledger/ledger.h"
#include "node/request_checks.h"

namespace tds::node {
namespace {

absl::Status ProductNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("product '", std::string(id), "' not found"));
}

// The head and latest version of a product the caller may see; NotFound alike whether it does
// not exist or is hidden from the caller.
struct VisibleProduct {
  tds::ProductHead head;
  tds::Product latest;
};

absl::StatusOr<VisibleProduct> ReadVisibleProduct(const ledger::StateReader& state,
                                                  const Caller& caller, std::string_view id) {
  TDS_ASSIGN_OR_RETURN(std::optional<tds::ProductHead> head, catalog::ReadProductHead(state, id));
  if (!head.has_value()) return ProductNotFound(id);
  TDS_ASSIGN_OR_RETURN(tds::Product latest,
                       catalog::ReadProduct(state, id, head->latest_version()));
  // Visibility follows the latest version (its level and allow list govern the product now).
  if (!MaySeeProduct(caller, latest)) return ProductNotFound(id);
  return VisibleProduct{*std::move(head), std::move(latest)};
}

// Checks the product id and reads what the caller may see of it.
absl::StatusOr<VisibleProduct> ReadProductForCall(const QueryEnv& env, const Caller& caller,
                                                  const std::string& id) {
  TDS_RETURN_IF_ERROR(CheckProductId("product_id", id, true));
  return ReadVisibleProduct(env.ledger().state(), caller, id);
}

}  // namespace

CatalogService::CatalogService(const QueryEnv* env,
                               std::shared_ptr<const catalog::SearchIndex> index)
    : env_(env), index_(std::move(index)) {}

grpc::ServerUnaryReactor* CatalogService::SearchProducts(grpc::CallbackServerContext* ctx,
                                                         const tds::SearchProductsRequest* request,
                                                         tds::SearchProductsResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoSearchProducts(caller, *request, response);
               }));
}

absl::Status CatalogService::DoSearchProducts(const Caller& caller,
                                              const tds::SearchProductsRequest& request,
                                              tds::SearchProductsResponse* response) const {
  TDS_RETURN_IF_ERROR(catalog::ValidateSearchRequest(request));
  TDS_RETURN_IF_ERROR(CheckMemberId("provider", request.provider(), false));
  TDS_RETURN_IF_ERROR(CheckProductId("page.cursor", request.page().cursor(), false));
  *response = index_->Search(request, caller.member_id, caller.ReadsEverything());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CatalogService::GetProduct(grpc::CallbackServerContext* ctx,
                                                     const tds::GetProductRequest* request,
                                                     tds::GetProductResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoGetProduct(caller, *request, response);
               }));
}

absl::Status CatalogService::DoGetProduct(const Caller& caller,
                                          const tds::GetProductRequest& request,
                                          tds::GetProductResponse* response) const {
  TDS_ASSIGN_OR_RETURN(VisibleProduct p, ReadProductForCall(*env_, caller, request.product_id()));
  const ledger::StateReader& state = env_->ledger().state();
  const uint32_t version = request.version();
  if (version == 0 || version == p.head.latest_version()) {
    *response->mutable_product() = std::move(p.latest);
  } else if (version > p.head.latest_version()) {
    return absl::NotFoundError(absl::StrCat("product '", request.product_id(), "' has no version ",
                                            version, " (latest is ", p.head.latest_version(), ")"));
  } else {
    TDS_ASSIGN_OR_RETURN(*response->mutable_product(),
                         catalog::ReadProduct(state, request.product_id(), version));
  }
  *response->mutable_head() = std::move(p.head);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CatalogService::ProductHistory(grpc::CallbackServerContext* ctx,
                                                         const tds::ProductHistoryRequest* request,
                                                         tds::ProductHistoryResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoProductHistory(caller, *request, response);
               }));
}

absl::Status CatalogService::DoProductHistory(const Caller& caller,
                                              const tds::ProductHistoryRequest& request,
                                              tds::ProductHistoryResponse* response) const {
  TDS_ASSIGN_OR_RETURN(VisibleProduct p, ReadProductForCall(*env_, caller, request.product_id()));
  const ledger::StateReader& state = env_->ledger().state();
  for (uint32_t v = 1; v < p.head.latest_version(); ++v) {
    TDS_ASSIGN_OR_RETURN(*response->add_versions(),
                         catalog::ReadProduct(state, request.product_id(), v));
  }
  *response->add_versions() = std::move(p.latest);
  *response->mutable_head() = std::move(p.head);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CatalogService::ExportDcat(grpc::CallbackServerContext* ctx,
                                                     const tds::ExportDcatRequest* request,
                                                     tds::ExportDcatResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoExportDcat(caller, *request, response);
               }));
}

absl::Status CatalogService::DoExportDcat(const Caller& caller,
                                          const tds::ExportDcatRequest& request,
                                          tds::ExportDcatResponse* response) const {
  TDS_ASSIGN_OR_RETURN(VisibleProduct p, ReadProductForCall(*env_, caller, request.product_id()));
  response->set_json_ld(catalog::ExportDcat(p.latest, p.head));
  return absl::OkStatus();
}

}  // namespace tds::node
