#include "sdk/cli/console_cmd.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/envelope.h"
#include "common/wall_clock.h"
#include "sdk/cli/output.h"
#include "sdk/cli/session.h"
#include "sdk/query_client.h"

namespace tds::cli {
namespace {

int RunLogin(const GlobalOptions& g, const std::string& url, bool token_only) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  // The token names the node it is for; the node's status says which member runs it.
  absl::StatusOr<tds::NodeStatus> status = (*session)->query->GetNodeStatus();
  if (!status.ok()) return Fail(status.status());
  std::string base = url;
  if (base.empty() && !token_only) {
    if (status->console_address().empty()) {
      return Fail("node " + g.node +
                  " serves no web console: start its tdsd with --console-listen HOST:PORT "
                  "(`console_listen`), or pass --url");
    }
    base = "https://" + status->console_address() + "/";
  }
  const int64_t now_ms = WallClockMs();
  const std::string token = Base64Encode(sdk::BuildQueryAuth(
      *(*session)->key, (*session)->member_id, now_ms, ConsoleLoginContext(status->member_id())));
  if (token_only) {
    std::cout << token << "\n";
    return 0;
  }
  if (base.back() != '/') base += "/";
  std::cout << base << "#login=" << token << "\n";
  std::cerr << "Open this link within 5 minutes to sign in to the console as '"
            << (*session)->member_id << "'; it works once.\n"
            << "The console presents the node's TLS certificate: trust the consortium CA"
            << (g.tls_ca.empty() ? "" : " (" + g.tls_ca + ")") << " in your browser.\n";
  return 0;
}

}  // namespace

void AddConsoleCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* console = app.add_subcommand("console", "The node's web console (HTTPS)");
  console->require_subcommand(1);
  auto url = std::make_shared<std::string>();
  auto token_only = std::make_shared<bool>(false);
  CLI::App* login = console->add_subcommand(
      "login", "Print a one-time sign-in link to the web console of --node, for --key's member");
  login->add_option("--url", *url,
                    "The console's address (https://HOST:PORT/); default: the one --node "
                    "reports (tdsd --console-listen)");
  login->add_flag("--token-only", *token_only,
                  "Print only the login token (for scripts that post it to /api/login)");
  login->footer(
      "Needs --node and --key. The link holds a signed token in its fragment (#login=...), "
      "which the browser does not send to servers; the console accepts it once, within 5 "
      "minutes of the node's clock. Auditors read everything; other members their own "
      "contracts and usage. The console is read-only.");
  OnRun(login, ctx, [&g, url, token_only] { return RunLogin(g, *url, *token_only); });
}

}  // namespace tds::cli
