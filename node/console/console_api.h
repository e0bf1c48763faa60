#pragma once
// The web console's JSON API (node/console/README.md, "API"): the node's read-only query calls
// in proto3 JSON, answered for a session's caller by the very functions the gRPC services run,
// so the console shows exactly what `tds` shows and enforces the same access rules
// (node/auth.h). No call changes state.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "node/auth.h"

namespace tds::node {
class QueryServices;
class AuditService;
}  // namespace tds::node

namespace tds::node::console {

class ConsoleApi {
 public:
  // Both must outlive the API.
  ConsoleApi(const QueryServices* queries, const AuditService* audit);

  // Calls "Service.Method" (e.g. "Audit.ListUsage") with a proto3-JSON request for `caller`.
  // The answer is the response in proto3 JSON with the .proto field names, every field
  // printed (64-bit integers as strings, bytes as base64). NotFound naming an unknown method,
  // InvalidArgument "request: ..." for JSON that is not the method's request (unknown fields
  // included), then whatever the call answers. A request's `auth` field is ignored: the
  // session is the identity.
  absl::StatusOr<std::string> Call(std::string_view method, const Caller& caller,
                                   std::string_view json) const;

  // The receipt of transaction `txid_hex` in the JSON form `tds` exports (ledger/receipt.h),
  // under Audit.GetReceipt's access rule.
  absl::StatusOr<std::string> Receipt(const Caller& caller, std::string_view txid_hex) const;

  // The methods Call accepts, in order.
  std::vector<std::string> Methods() const;

 private:
  using Method = std::function<absl::StatusOr<std::string>(const Caller&, std::string_view)>;
  template <typename Request, typename Response, typename Fn>
  void Add(std::string name, Fn fn);
  // A service's call for an authenticated caller (the Do* functions of node/*_service.h).
  template <typename Service, typename Request, typename Response>
  void Add(std::string name, const Service* service,
           absl::Status (Service::*call)(const Caller&, const Request&, Response*) const);
  // A call that answers every caller alike.
  template <typename Service, typename Request, typename Response>
  void Add(std::string name, const Service* service,
           absl::Status (Service::*call)(const Request&, Response*) const);

  const AuditService* const audit_;
  std::map<std::string, Method, std::less<>> methods_;
};

}  // namespace tds::node::console
