#pragma once
// The read-only query services of proto/query_service.proto — tds.Catalog, tds.Contracts and
// tds.Governance — answered from this node's replica of the application state.
//
// Every call authenticates its caller first (its TLS certificate and/or `auth` bytes,
// node/auth.h), validates its fields (node/request_checks.h), and applies the access rules of
// node/auth.h; node/README.md, "Query access", lists them. Calls are short reads: they complete on
// the gRPC thread that received them (callback API, no thread held afterwards).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "node/auth.h"
#include "proto/genesis.pb.h"

namespace tds::ledger {
class Ledger;
}
namespace tds::catalog {
class SearchIndex;
}

namespace tds::node {

class CatalogService;
class ContractsService;
class GovernanceService;

struct QueryServiceOptions {
  // The node's wall clock (ms since the epoch) for the 5-minute freshness of query identities;
  // tests inject one. Empty → the system clock.
  std::function<int64_t()> clock;
};

// What every query service reads: the ledger's committed state and the clock.
class QueryEnv {
 public:
  // `ledger` must outlive this object.
  QueryEnv(ledger::Ledger* ledger, QueryServiceOptions options);

  ledger::Ledger& ledger() const { return *ledger_; }
  // The caller of a call with these `auth` bytes: AuthenticateCaller over ReadMember, with the
  // member the TLS gate identified from the call's certificate (none over plaintext).
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& ctx,
                                      const std::string& auth) const;
  // The current membership: committed state ("member/<id>"), or the genesis members while no
  // block has committed yet (block 1 seeds the state from genesis, so both agree).
  absl::StatusOr<std::optional<tds::Member>> ReadMember(std::string_view member_id) const;
  // Every current member, in ascending id order.
  absl::StatusOr<std::vector<tds::Member>> Members() const;
  // Height and block time of the latest committed block (0, 0 before the first).
  uint64_t height() const;
  int64_t block_time_ms() const;

 private:
  ledger::Ledger* const ledger_;
  const std::function<int64_t()> clock_;
};

// Authenticates the caller of a gRPC call (QueryEnv::Authenticate) and runs `serve(caller)`.
template <typename Serve>
absl::Status AsCaller(const QueryEnv& env, const grpc::ServerContextBase& ctx,
                      const std::string& auth, Serve&& serve) {
  absl::StatusOr<Caller> caller = env.Authenticate(ctx, auth);
  if (!caller.ok()) return caller.status();
  return serve(*caller);
}

// Finishes a unary RPC on the calling thread with `status` (absl codes map 1:1 to gRPC).
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx, const absl::Status& status);

// The three services over one ledger, with the catalog's search index kept current.
class QueryServices {
 public:
  // Builds the search index from the committed catalog and registers it with
  // ledger->Observe, so it follows every later block. The index is shared with the ledger's
  // observer and lives as long as either. DataLoss if a catalog record is corrupt.
  // REQUIRES: `ledger` outlives this object.
  static absl::StatusOr<std::unique_ptr<QueryServices>> Create(ledger::Ledger* ledger,
                                                               QueryServiceOptions options);
  ~QueryServices();

  // Registers the three services. REQUIRES: this object outlives the server built.
  void RegisterWith(grpc::ServerBuilder& builder);

  // The services, for callers that authenticate by other means (the web console).
  const QueryEnv& env() const { return *env_; }
  const CatalogService& catalog() const { return *catalog_; }
  const ContractsService& contracts() const { return *contracts_; }
  const GovernanceService& governance() const { return *governance_; }

 private:
  QueryServices() = default;
  std::unique_ptr<QueryEnv> env_;
  std::shared_ptr<catalog::SearchIndex> index_;
  std::unique_ptr<CatalogService> catalog_;
  std::unique_ptr<ContractsService> contracts_;
  std::unique_ptr<GovernanceService> governance_;
};

}  // namespace tds::node
