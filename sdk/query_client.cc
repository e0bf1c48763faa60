#include "sdk/query_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/envelope.h"
#include "common/wall_clock.h"
#include "proto/node_service.grpc.pb.h"
#include "proto/query_service.grpc.pb.h"

namespace tds::sdk {

std::string BuildQueryAuth(const SigningKey& key, const std::string& member_id, int64_t issued_ms,
                           std::string_view context) {
  tds::QueryIdentity identity;
  identity.set_member_id(member_id);
  identity.set_issued_ms(issued_ms);
  return SealEnvelope(key, context, identity.SerializeAsString());
}

struct QueryClient::Impl {
  int64_t timeout_ms = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<tds::Catalog::Stub> catalog;
  std::unique_ptr<tds::Contracts::Stub> contracts;
  std::unique_ptr<tds::Governance::Stub> governance;
  std::unique_ptr<tds::Audit::Stub> audit;
  std::unique_ptr<tds::Admin::Stub> admin;
  const SigningKey* key = nullptr;
  std::string member_id;

  std::string Auth() const {
    if (key == nullptr) return "";
    return BuildQueryAuth(*key, member_id, WallClockMs());
  }

  // One unary call: a fresh context with the deadline, the node's status as absl::Status.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub* stub,
                                grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request) const {
    grpc::ClientContext ctx;
    PrepareContext(&ctx, timeout_ms);
    Response response;
    grpc::Status status = (stub->*method)(&ctx, request, &response);
    if (!status.ok()) return FromGrpc(status, nullptr);
    return response;
  }
};

absl::StatusOr<std::unique_ptr<QueryClient>> QueryClient::Connect(const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(options);
  if (!channel.ok()) return channel.status();
  auto impl = std::make_unique<Impl>();
  impl->timeout_ms = options.timeout_ms;
  impl->channel = *std::move(channel);
  impl->catalog = tds::Catalog::NewStub(impl->channel);
  impl->contracts = tds::Contracts::NewStub(impl->channel);
  impl->governance = tds::Governance::NewStub(impl->channel);
  impl->audit = tds::Audit::NewStub(impl->channel);
  impl->admin = tds::Admin::NewStub(impl->channel);
  return std::unique_ptr<QueryClient>(new QueryClient(std::move(impl)));
}

QueryClient::QueryClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryClient::~QueryClient() = default;

void QueryClient::SetIdentity(const SigningKey* key, std::string member_id) {
  impl_->key = key;
  impl_->member_id = std::move(member_id);
}

absl::StatusOr<tds::SearchProductsResponse> QueryClient::SearchProducts(
    tds::SearchProductsRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->catalog.get(), &tds::Catalog::Stub::SearchProducts, request);
}

absl::StatusOr<tds::GetProductResponse> QueryClient::GetProduct(tds::GetProductRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->catalog.get(), &tds::Catalog::Stub::GetProduct, request);
}

absl::StatusOr<tds::ProductHistoryResponse> QueryClient::ProductHistory(
    tds::ProductHistoryRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->catalog.get(), &tds::Catalog::Stub::ProductHistory, request);
}

absl::StatusOr<tds::ExportDcatResponse> QueryClient::ExportDcat(tds::ExportDcatRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->catalog.get(), &tds::Catalog::Stub::ExportDcat, request);
}

absl::StatusOr<tds::ListContractsResponse> QueryClient::ListContracts(
    tds::ListContractsRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->contracts.get(), &tds::Contracts::Stub::ListContracts, request);
}

absl::StatusOr<tds::GetContractResponse> QueryClient::GetContract(tds::GetContractRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->contracts.get(), &tds::Contracts::Stub::GetContract, request);
}

absl::StatusOr<tds::ListUsageResponse> QueryClient::ListUsage(tds::ListUsageRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->contracts.get(), &tds::Contracts::Stub::ListUsage, request);
}

absl::StatusOr<tds::GetStatementResponse> QueryClient::GetStatement(
    tds::GetStatementRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->contracts.get(), &tds::Contracts::Stub::GetStatement, request);
}

absl::StatusOr<tds::GetValuationResponse> QueryClient::GetValuation(
    tds::GetValuationRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->contracts.get(), &tds::Contracts::Stub::GetValuation, request);
}

absl::StatusOr<tds::ListMembersResponse> QueryClient::ListMembers() {
  return impl_->Call(impl_->governance.get(), &tds::Governance::Stub::ListMembers,
                     tds::ListMembersRequest());
}

absl::StatusOr<tds::ListProposalsResponse> QueryClient::ListProposals(
    tds::ListProposalsRequest request) {
  return impl_->Call(impl_->governance.get(), &tds::Governance::Stub::ListProposals, request);
}

absl::StatusOr<tds::ListUsageResponse> QueryClient::AuditUsage(tds::ListUsageRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->audit.get(), &tds::Audit::Stub::ListUsage, request);
}

absl::StatusOr<tds::ListUsageResponse> QueryClient::ListViolations(
    tds::ListViolationsRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->audit.get(), &tds::Audit::Stub::ListViolations, request);
}

absl::StatusOr<tds::AuditReceiptResponse> QueryClient::AuditReceipt(
    tds::AuditReceiptRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->audit.get(), &tds::Audit::Stub::GetReceipt, request);
}

absl::StatusOr<tds::ListReservationsResponse> QueryClient::ListReservations(
    tds::ListReservationsRequest request) {
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->audit.get(), &tds::Audit::Stub::ListReservations, request);
}

absl::StatusOr<tds::NodeStatus> QueryClient::GetNodeStatus() {
  tds::GetNodeStatusRequest request;
  request.set_auth(impl_->Auth());
  return impl_->Call(impl_->admin.get(), &tds::Admin::Stub::GetNodeStatus, request);
}

absl::StatusOr<std::string> QueryClient::MemberIdFor(const PublicKey& key) {
  absl::StatusOr<tds::ListMembersResponse> members = ListMembers();
  if (!members.ok()) return members.status();
  const std::string hex = key.hex();
  for (const tds::Member& m : members->members()) {
    if (absl::AsciiStrToLower(m.public_key()) == hex) return m.id();
  }
  return absl::NotFoundError(
      absl::StrCat("key ", hex, " is not the key of a current member of this data space"));
}

}  // namespace tds::sdk
