#include "sdk/cli/node_cmd.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/wall_clock.h"
#include "grpcpp/grpcpp.h"
#include "proto/node_service.grpc.pb.h"
#include "sdk/channel.h"
#include "sdk/cli/output.h"
#include "sdk/cli/session.h"
#include "sdk/query_client.h"

namespace tds::cli {
namespace {

// "3d 4h 5m 6s", leading zero units left out.
std::string FormatDuration(uint64_t s) {
  const uint64_t parts[] = {s / 86400, s / 3600 % 24, s / 60 % 60, s % 60};
  const char* units[] = {"d", "h", "m", "s"};
  std::string out;
  for (int i = 0; i < 4; ++i) {
    if (parts[i] == 0 && out.empty() && i < 3) continue;
    if (!out.empty()) out += " ";
    out += std::to_string(parts[i]) + units[i];
  }
  return out;
}

std::string Replication(const tds::NodeStatus& s) {
  if (s.role() != "follower") return "-";
  const tds::ReplicationStatus& r = s.replication();
  std::string out = r.halted() ? "HALTED" : r.connected() ? "connected" : "disconnected";
  out += ", validator height " + std::to_string(r.validator_height()) + ", lag " +
         std::to_string(r.lag()) + " block(s)";
  return out;
}

std::string Consensus(const tds::NodeStatus& s) {
  if (s.role() != "validator") return "-";
  const tds::ConsensusState& c = s.consensus();
  return "epoch " + std::to_string(c.epoch()) + (c.voting() ? "" : " (following)") + ", " +
         std::to_string(c.validators()) + " validator(s), view " + std::to_string(c.view()) +
         " led by " + c.leader() + ", " + std::to_string(c.view_changes()) + " view change(s), " +
         std::to_string(c.refused()) + " message(s) refused";
}

std::string Sources(const tds::NodeStatus& s) {
  std::string out;
  for (const tds::ServedSource& source : s.sources()) {
    if (!out.empty()) out += ", ";
    out += source.product() + " (" + source.kind() + ")";
  }
  return out.empty() ? "-" : out;
}

int RunStatus(const GlobalOptions& g, OutputFormat format) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<tds::NodeStatus> s = (*session)->query->GetNodeStatus();
  if (!s.ok()) return Fail(s.status());
  if (format == OutputFormat::kJson) {
    std::cout << MessageToJson(*s) << "\n";
    return 0;
  }
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"role", s->role()},
      {"member", s->member_id()},
      {"origin", s->origin()},
      {"height", std::to_string(s->height())},
      {"log_size", std::to_string(s->log_size())},
      {"last_block_time", FormatTimeMs(s->last_block_time_ms())},
      {"validator", s->validator_address().empty() ? "-" : s->validator_address()},
      {"replication", Replication(*s)},
      {"consensus", Consensus(*s)},
      {"last_error", s->replication().last_error().empty() ? "-" : s->replication().last_error()},
      {"sources", Sources(*s)},
      {"console", s->console_address().empty() ? "-" : "https://" + s->console_address() + "/"},
      {"version", s->version()},
      {"uptime", FormatDuration(s->uptime_s())},
  };
  if (format == OutputFormat::kCsv) {
    std::cout << "field,value\n";
    for (const auto& [k, v] : fields) std::cout << CsvField(k) << "," << CsvField(v) << "\n";
    return 0;
  }
  for (const auto& [k, v] : fields) {
    std::string label = k + ":";
    label.resize(17, ' ');
    std::cout << label << v << "\n";
  }
  return 0;
}

// The Admin call is made here rather than through sdk::QueryClient: it is an operator's
// command against its own node, not part of the member SDK.
int RunFault(const GlobalOptions& g, const std::vector<std::string>& isolate, bool heal,
             OutputFormat format) {
  if (heal && !isolate.empty()) return Fail("pass --isolate or --heal, not both");
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = sdk::OpenChannel(ClientOptionsFrom(g));
  if (!channel.ok()) return Fail(channel.status());
  tds::InjectFaultRequest request;
  request.set_auth(sdk::BuildQueryAuth(*(*session)->key, (*session)->member_id, WallClockMs()));
  for (const std::string& id : isolate) request.add_isolate(id);
  request.set_heal(heal);
  grpc::ClientContext ctx;
  sdk::PrepareContext(&ctx, g.timeout_ms);
  tds::InjectFaultResponse response;
  grpc::Status status = tds::Admin::NewStub(*channel)->InjectFault(&ctx, request, &response);
  if (!status.ok()) return Fail(sdk::FromGrpc(status, nullptr));
  if (format == OutputFormat::kJson) {
    std::cout << MessageToJson(response) << "\n";
    return 0;
  }
  if (format == OutputFormat::kCsv) {
    std::cout << "isolated\n";
    for (const std::string& id : response.isolated()) std::cout << CsvField(id) << "\n";
    return 0;
  }
  std::string ids;
  for (const std::string& id : response.isolated()) ids += (ids.empty() ? "" : ", ") + id;
  std::cout << "isolated: " << (ids.empty() ? "-" : ids) << "\n";
  return 0;
}

}  // namespace

void AddNodeCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* node = app.add_subcommand("node", "The node itself (Admin service)");
  node->require_subcommand(1);
  auto format = std::make_shared<OutputFormat>(OutputFormat::kTable);
  CLI::App* status = node->add_subcommand(
      "status", "Role, member, height, replication health, data sources served, version, uptime");
  status->footer("Needs --node and --key (members only).");
  AddOutputOption(status, format.get());
  OnRun(status, ctx, [&g, format] { return RunStatus(g, *format); });

  auto isolate = std::make_shared<std::vector<std::string>>();
  auto heal = std::make_shared<bool>(false);
  auto fault_format = std::make_shared<OutputFormat>(OutputFormat::kTable);
  CLI::App* fault = node->add_subcommand(
      "fault", "Fault injection on a validator: cut it off from other validators, or heal");
  fault
      ->add_option("--isolate", *isolate,
                   "Validators (member ids, comma-separated) whose consensus traffic this node "
                   "drops, both ways, until --heal; added to those already isolated")
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  fault->add_flag("--heal", *heal, "End every isolation");
  fault->footer(
      "Needs --node and --key of the node's own member (its operator), and a tdsd started with "
      "--allow-fault-injection. Without --isolate or --heal, lists the isolated validators.");
  AddOutputOption(fault, fault_format.get());
  OnRun(fault, ctx,
        [&g, isolate, heal, fault_format] { return RunFault(g, *isolate, *heal, *fault_format); });
}

}  // namespace tds::cli
