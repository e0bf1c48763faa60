#pragma once
// Client for a node's read-only query services (proto/query_service.proto): Catalog, Contracts
// and Governance; and its Audit and Admin services (proto/node_service.proto), which sign the
// same identity. Shares the channel set-up of LedgerClient (sdk/channel.h).
//
// Identity: over mutual TLS (ClientOptions::tls_*) the node answers as the member of the
// client's certificate (docs/tls.md). With SetIdentity the client also signs `auth` bytes, an
// Envelope (context kQueryContext) over a serialized tds.QueryIdentity {member_id, issued_ms}
// signed by the member's key; over TLS they must name the certificate's member, and on a
// plaintext --insecure-dev connection they are the only identity. The node accepts them within
// 5 minutes of its own clock, so the client signs a fresh one for every call. A plaintext caller
// without an identity is anonymous: it sees the public catalog (never level-5 products) and the
// membership, nothing else.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/envelope.h"
#include "common/keys.h"
#include "proto/node_service.pb.h"
#include "proto/query_service.pb.h"
#include "sdk/channel.h"

namespace tds::sdk {

// Envelope context of a query identity (proto/query_service.proto; node/auth.h checks it).

// Serialized Envelope (context kQueryContext) over QueryIdentity{member_id, issued_ms}.
// `context` ConsoleLoginContext(node) makes a login token for that node's web console instead
// (`tds console login`).
std::string BuildQueryAuth(const SigningKey& key, const std::string& member_id, int64_t issued_ms,
                           std::string_view context = kQueryContext);

// Thread-safe once configured; one channel per client.
class QueryClient {
 public:
  static absl::StatusOr<std::unique_ptr<QueryClient>> Connect(const ClientOptions& options);
  ~QueryClient();

  // Signs every later call as `member_id` with `key`. REQUIRES: `key` outlives the client and
  // this is called before calls are made from other threads. Without it calls are anonymous.
  void SetIdentity(const SigningKey* key, std::string member_id);

  // Each call fills the request's `auth` (when an identity is set) and returns the node's
  // answer; a refusal comes back as absl::Status with the node's code and message unchanged
  // (e.g. PERMISSION_DENIED "member 'x' is not a party to contract 'c-...'").
  absl::StatusOr<tds::SearchProductsResponse> SearchProducts(tds::SearchProductsRequest request);
  absl::StatusOr<tds::GetProductResponse> GetProduct(tds::GetProductRequest request);
  absl::StatusOr<tds::ProductHistoryResponse> ProductHistory(tds::ProductHistoryRequest request);
  absl::StatusOr<tds::ExportDcatResponse> ExportDcat(tds::ExportDcatRequest request);

  absl::StatusOr<tds::ListContractsResponse> ListContracts(tds::ListContractsRequest request);
  absl::StatusOr<tds::GetContractResponse> GetContract(tds::GetContractRequest request);
  absl::StatusOr<tds::ListUsageResponse> ListUsage(tds::ListUsageRequest request);
  absl::StatusOr<tds::GetStatementResponse> GetStatement(tds::GetStatementRequest request);
  absl::StatusOr<tds::GetValuationResponse> GetValuation(tds::GetValuationRequest request);

  absl::StatusOr<tds::ListMembersResponse> ListMembers();
  absl::StatusOr<tds::ListProposalsResponse> ListProposals(tds::ListProposalsRequest request);

  // tds.Audit: the same listing as ListUsage, the violations, and a receipt with its usage
  // record (node/audit_service.h says who may read what).
  absl::StatusOr<tds::ListUsageResponse> AuditUsage(tds::ListUsageRequest request);
  absl::StatusOr<tds::ListUsageResponse> ListViolations(tds::ListViolationsRequest request);
  absl::StatusOr<tds::AuditReceiptResponse> AuditReceipt(tds::AuditReceiptRequest request);
  absl::StatusOr<tds::ListReservationsResponse> ListReservations(
      tds::ListReservationsRequest request);
  // tds.Admin: the node's role, position, replication health, sources, version and uptime.
  absl::StatusOr<tds::NodeStatus> GetNodeStatus();

  // The current member (state, not just genesis: governance may have admitted it since) whose
  // key is `key`; NotFound naming the key otherwise.
  absl::StatusOr<std::string> MemberIdFor(const PublicKey& key);

 private:
  struct Impl;
  explicit QueryClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tds::sdk
