#include "node/console/console_api.h"

#include <google/protobuf/util/json_util.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "ledger/receipt.h"
#include "node/audit_service.h"
#include "node/catalog_service.h"
#include "node/contracts_service.h"
#include "node/governance_service.h"
#include "node/query_service.h"

namespace tds::node::console {
namespace {

// Larger request bodies are refused by the HTTP server before they reach here; this bounds
// what one parse may allocate all the same.
constexpr size_t kMaxRequestJsonBytes = 64 * 1024;

template <typename Request>
absl::StatusOr<Request> ParseRequest(std::string_view json) {
  if (json.size() > kMaxRequestJsonBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request: ", json.size(), " bytes exceeds the limit of ", kMaxRequestJsonBytes));
  }
  Request request;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return request;  // {} alike
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &request, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request: ", status.ToString()));
  }
  // The session is the identity; signed query identities are for gRPC callers.
  const google::protobuf::FieldDescriptor* auth = Request::descriptor()->FindFieldByName("auth");
  if (auth != nullptr) request.GetReflection()->ClearField(&request, auth);
  return request;
}

absl::StatusOr<std::string> PrintResponse(const google::protobuf::Message& response) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  const auto status = google::protobuf::util::MessageToJsonString(response, &out, options);
  if (!status.ok()) return absl::InternalError(absl::StrCat("response: ", status.ToString()));
  return out;
}

}  // namespace

template <typename Request, typename Response, typename Fn>
void ConsoleApi::Add(std::string name, Fn fn) {
  methods_.emplace(
      std::move(name),
      [fn](const Caller& caller, std::string_view json) -> absl::StatusOr<std::string> {
        TDS_ASSIGN_OR_RETURN(Request request, ParseRequest<Request>(json));
        Response response;
        TDS_RETURN_IF_ERROR(fn(caller, request, &response));
        return PrintResponse(response);
      });
}

template <typename Service, typename Request, typename Response>
void ConsoleApi::Add(std::string name, const Service* service,
                     absl::Status (Service::*call)(const Caller&, const Request&, Response*)
                         const) {
  Add<Request, Response>(std::move(name),
                         [service, call](const Caller& c, const Request& req, Response* resp) {
                           return (service->*call)(c, req, resp);
                         });
}

template <typename Service, typename Request, typename Response>
void ConsoleApi::Add(std::string name, const Service* service,
                     absl::Status (Service::*call)(const Request&, Response*) const) {
  Add<Request, Response>(std::move(name),
                         [service, call](const Caller&, const Request& req, Response* resp) {
                           return (service->*call)(req, resp);
                         });
}

ConsoleApi::ConsoleApi(const QueryServices* queries, const AuditService* audit) : audit_(audit) {
  const CatalogService* catalog = &queries->catalog();
  Add("Catalog.SearchProducts", catalog, &CatalogService::DoSearchProducts);
  Add("Catalog.GetProduct", catalog, &CatalogService::DoGetProduct);
  Add("Catalog.ProductHistory", catalog, &CatalogService::DoProductHistory);
  const ContractsService* contracts = &queries->contracts();
  Add("Contracts.ListContracts", contracts, &ContractsService::DoListContracts);
  Add("Contracts.GetContract", contracts, &ContractsService::DoGetContract);
  Add("Contracts.ListUsage", contracts, &ContractsService::DoListUsage);
  Add("Contracts.GetStatement", contracts, &ContractsService::DoGetStatement);
  Add("Contracts.GetValuation", contracts, &ContractsService::DoGetValuation);
  // Membership is public, as over gRPC.
  const GovernanceService* governance = &queries->governance();
  Add("Governance.ListMembers", governance, &GovernanceService::DoListMembers);
  Add("Governance.ListProposals", governance, &GovernanceService::DoListProposals);
  Add("Audit.ListUsage", audit, &AuditService::DoListUsage);
  Add("Audit.ListViolations", audit, &AuditService::DoListViolations);
  Add("Audit.ListReservations", audit, &AuditService::DoListReservations);
}

absl::StatusOr<std::string> ConsoleApi::Call(std::string_view method, const Caller& caller,
                                             std::string_view json) const {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    return absl::NotFoundError(absl::StrCat("no console method '", std::string(method), "'"));
  }
  return it->second(caller, json);
}

absl::StatusOr<std::string> ConsoleApi::Receipt(const Caller& caller,
                                                std::string_view txid_hex) const {
  TDS_ASSIGN_OR_RETURN(Hash txid, HashFromHex(txid_hex, "txid"));
  tds::AuditReceiptRequest request;
  request.set_txid(std::string(AsBytes(txid)));
  tds::AuditReceiptResponse response;
  TDS_RETURN_IF_ERROR(audit_->DoGetReceipt(caller, request, &response));
  return ledger::ReceiptToJson(response.receipt());
}

std::vector<std::string> ConsoleApi::Methods() const {
  std::vector<std::string> names;
  for (const auto& [name, method] : methods_) names.push_back(name);
  return names;
}

}  // namespace tds::node::console
