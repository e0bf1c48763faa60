#pragma once
// `tds keygen` and `tds genesis`: member identities and the data space's root of trust.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddKeyCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
