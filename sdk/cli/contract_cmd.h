#pragma once
// `tds contract request|counter|accept|reject|terminate|suspend|resume|list|show`: negotiating
// usage contracts (contract.* transactions and the Contracts query service).

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddContractCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
