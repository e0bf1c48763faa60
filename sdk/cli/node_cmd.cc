#include "sdk/cli/node_cmd.h"

#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sdk/cli/output.h"
#include "sdk/cli/session.h"

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
      {"last_error", s->replication().last_error().empty() ? "-" : s->replication().last_error()},
      {"sources", Sources(*s)},
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
}

}  // namespace tds::cli
