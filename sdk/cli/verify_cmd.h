#pragma once
// `tds verify RECEIPT --genesis GENESIS`: offline receipt verification (no node involved).

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddVerifyCommand(CLI::App& app, Context& ctx);

}  // namespace tds::cli
