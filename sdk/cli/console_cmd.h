#pragma once
// `tds console login`: a one-time sign-in link to the node's web console (node/console): a login
// token (Envelope, context tds.console-login.v1/<the node's member>, over the member's
// QueryIdentity, signed with --key) in the fragment of https://CONSOLE/#login=TOKEN, so it never
// reaches a server log. The node takes it once, within 5 minutes, and sets a session cookie.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddConsoleCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
