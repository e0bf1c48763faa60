#pragma once
// `tds bill` (billing statements) and `tds value` (data-asset valuation reports): both are
// computed by the node from ledger state, deterministically, so any member gets the same
// figures.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddBillingCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
