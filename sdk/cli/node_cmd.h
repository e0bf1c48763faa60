#pragma once
// `tds node status`: the node's Admin service (proto/node_service.proto) — its role, member,
// ledger position, replication health (followers), the data sources it serves, version and
// uptime. Signs with --key (members only).
// `tds node fault --isolate ID[,ID] | --heal`: fault injection on a validator (its operator's
// key; tdsd --allow-fault-injection): drop consensus traffic to and from those validators.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddNodeCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
