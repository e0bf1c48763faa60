#include "node/query_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "catalog/search_index.h"
#include "common/wall_clock.h"
#include "governance/governance.h"
#include "ledger/ledger.h"
#include "ledger/membership.h"
#include "node/catalog_service.h"
#include "node/contracts_service.h"
#include "node/governance_service.h"
#include "node/ledger_service.h"
#include "node/peer_identity.h"
#include "node/tls.h"

namespace tds::node {

QueryEnv::QueryEnv(ledger::Ledger* ledger, QueryServiceOptions options)
    : ledger_(ledger), clock_(options.clock ? std::move(options.clock) : WallClockMs) {}

absl::StatusOr<Caller> QueryEnv::Authenticate(const grpc::ServerContextBase& ctx,
                                              const std::string& auth) const {
  return AuthenticateCaller([this](std::string_view id) { return ReadMember(id); },
                            CertificateMember(ctx), auth, clock_());
}

absl::StatusOr<std::optional<tds::Member>> QueryEnv::ReadMember(std::string_view member_id) const {
  return ReadCurrentMember(*ledger_, member_id);
}

absl::StatusOr<std::vector<tds::Member>> QueryEnv::Members() const {
  if (height() == 0) {
    std::vector<tds::Member> members(ledger_->genesis().proto().members().begin(),
                                     ledger_->genesis().proto().members().end());
    std::sort(members.begin(), members.end(),
              [](const tds::Member& a, const tds::Member& b) { return a.id() < b.id(); });
    return members;
  }
  return governance::ListMembers(ledger_->state());
}

uint64_t QueryEnv::height() const { return ledger_->Status().height; }

int64_t QueryEnv::block_time_ms() const { return ledger_->Status().last_block_time_ms; }

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::StatusOr<std::unique_ptr<QueryServices>> QueryServices::Create(ledger::Ledger* ledger,
                                                                     QueryServiceOptions options) {
  std::unique_ptr<QueryServices> services(new QueryServices);
  services->env_ = std::make_unique<QueryEnv>(ledger, std::move(options));
  auto index = std::make_shared<catalog::SearchIndex>();
  absl::Status loaded;
  // The observer holds the index: the ledger calls it until it closes, which may be after
  // these services are gone.
  ledger->Observe(
      [&loaded, index](const ledger::StateReader& state) { loaded = index->Load(state); },
      [index](uint64_t, int64_t, const ledger::Ledger::StateWrites& writes) {
        index->ApplyWrites(writes);
      });
  if (!loaded.ok()) {
    return absl::Status(loaded.code(),
                        absl::StrCat("catalog search index: ", std::string(loaded.message())));
  }
  services->index_ = index;
  services->catalog_ = std::make_unique<CatalogService>(services->env_.get(), index);
  services->contracts_ = std::make_unique<ContractsService>(services->env_.get());
  services->governance_ = std::make_unique<GovernanceService>(services->env_.get());
  return services;
}

QueryServices::~QueryServices() = default;

void QueryServices::RegisterWith(grpc::ServerBuilder& builder) {
  builder.RegisterService(catalog_.get());
  builder.RegisterService(contracts_.get());
  builder.RegisterService(governance_.get());
}

}  // namespace tds::node
