#pragma once
// `tds usage list|request|reserve|record`: the usage ledger. `list` reads usage records (with
// receipts on request); `request` is the consumer signing a UsageRequest, and `reserve` and
// `record` are the provider's metering transactions — tools for testing and operations until
// the node's metered gateway submits them itself.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddUsageCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
