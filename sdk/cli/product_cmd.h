#pragma once
// `tds product publish|update|retire|list|search|show|export-dcat|cost`: the data-product
// catalog (catalog.* transactions and the Catalog query service).

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddProductCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
