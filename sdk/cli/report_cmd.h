#pragma once
// `tds report compliance|billing|valuation`: report directories (report.html with inline SVG
// charts, CSV files, optionally report.pdf) built by report_builder.h from the node's answers.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddReportCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
