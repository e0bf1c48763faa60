#pragma once
// tds.Catalog (proto/query_service.proto): search, product versions and DCAT export.
//
// Search answers from the in-memory catalog::SearchIndex (current as of the latest committed
// block); the other calls read committed state. A level-5 product the caller may not see
// (node/auth.h, MaySeeProduct) is answered exactly like a product that does not exist:
// NOT_FOUND "product 'x' not found", so its existence does not leak.

#include <memory>

#include "node/query_service.h"
#include "proto/query_service.grpc.pb.h"

namespace tds::node {

class CatalogService final : public tds::Catalog::CallbackService {
 public:
  // `env` must outlive the service.
  CatalogService(const QueryEnv* env, std::shared_ptr<const catalog::SearchIndex> index);

  grpc::ServerUnaryReactor* SearchProducts(grpc::CallbackServerContext* ctx,
                                           const tds::SearchProductsRequest* request,
                                           tds::SearchProductsResponse* response) override;
  grpc::ServerUnaryReactor* GetProduct(grpc::CallbackServerContext* ctx,
                                       const tds::GetProductRequest* request,
                                       tds::GetProductResponse* response) override;
  grpc::ServerUnaryReactor* ProductHistory(grpc::CallbackServerContext* ctx,
                                           const tds::ProductHistoryRequest* request,
                                           tds::ProductHistoryResponse* response) override;
  grpc::ServerUnaryReactor* ExportDcat(grpc::CallbackServerContext* ctx,
                                       const tds::ExportDcatRequest* request,
                                       tds::ExportDcatResponse* response) override;

  // The calls for an authenticated caller, without the gRPC plumbing (the web console).
  absl::Status DoSearchProducts(const Caller& caller, const tds::SearchProductsRequest& request,
                                tds::SearchProductsResponse* response) const;
  absl::Status DoGetProduct(const Caller& caller, const tds::GetProductRequest& request,
                            tds::GetProductResponse* response) const;
  absl::Status DoProductHistory(const Caller& caller, const tds::ProductHistoryRequest& request,
                                tds::ProductHistoryResponse* response) const;
  absl::Status DoExportDcat(const Caller& caller, const tds::ExportDcatRequest& request,
                            tds::ExportDcatResponse* response) const;

 private:
  const QueryEnv* const env_;
  const std::shared_ptr<const catalog::SearchIndex> index_;
};

}  // namespace tds::node
