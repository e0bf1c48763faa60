#pragma once
// `tds member propose add|remove|set-roles`, `member vote`, `member list`, `member proposals`:
// membership governance (gov.* transactions and the Governance query service).

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddMemberCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
