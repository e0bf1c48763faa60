#pragma once
// Commands that talk to a node: `tds anchor`, `tds receipt`, `tds ledger status`.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddLedgerCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
