#pragma once
// The one implementation of usage-record listing, shared by Contracts.ListUsage
// (proto/query_service.proto) and Audit.ListUsage / Audit.ListViolations
// (proto/node_service.proto), so the three answer with the same fields, checks, access rules and
// pagination.
//
// Access (node/auth.h): an identity is required; auditors and validators read every record,
// anyone else only records where it is the provider or the consumer. A filter naming someone
// else's contract, or a provider/consumer pair the caller is neither of, is PermissionDenied
// naming it; other filters just narrow to the caller's records.
//
// Pagination: the cursor is the log index of the last record visited (decimal). A page may be
// short, even empty, with a next_cursor when a selective filter made the call visit
// kScanBudget entries: keep paging until next_cursor is empty.

#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "node/query_service.h"
#include "proto/contracts.pb.h"
#include "proto/query_service.pb.h"

namespace tds::node {

// An extra condition a record must meet (beyond the request's filters); empty = none.
using UsagePredicate = std::function<bool(const tds::UsageRecordState& record)>;

// Authenticates the caller (the call's TLS certificate and/or `request.auth`: QueryEnv), validates
// every field (InvalidArgument naming it), applies the access rules above and fills one page of
// `response` (with each record's receipt when request.with_receipts). REQUIRES: `response` is
// empty.
absl::Status ListUsageRecords(const QueryEnv& env, const grpc::ServerContextBase& ctx,
                              const tds::ListUsageRequest& request, const UsagePredicate& also,
                              tds::ListUsageResponse* response);

// The contract with this id; NotFound "contract 'c-...' not found" when there is none,
// DataLoss when its record is corrupt.
absl::StatusOr<tds::Contract> ReadExistingContract(const ledger::StateReader& state,
                                                   std::string_view id);

// Filters naming a purpose, operation or violated term are short names; longer is refused.
inline constexpr size_t kMaxNameBytes = 64;
// InvalidArgument "<field>: N bytes exceeds the limit of 64" for a longer value.
absl::Status CheckName(std::string_view field, std::string_view value);

}  // namespace tds::node
