// `tds`: the member and auditor command line.
//
//   tds keygen --out KEY
//   tds genesis --origin NAME --member ID:ROLES:PUBKEY[:CERT_SHA256] [--member ...] --out FILE
//   tds cert ca|issue|fingerprint ...                    (offline; docs/tls.md)
//   tds verify RECEIPT --genesis GENESIS                  (offline)
//   tds merkle root|prove|consistency ...                 (offline)
//   tds --node HOST:PORT --key KEY anchor FILE...
//   tds --node HOST:PORT receipt TXID [--out FILE]
//   tds --node HOST:PORT ledger status
//   tds --node HOST:PORT [--key KEY] product
//   publish|update|retire|list|search|show|export-dcat|cost tds --node HOST:PORT --key KEY contract
//   request|counter|accept|reject|terminate|suspend|
//                                            resume|list|show
//   tds --node HOST:PORT --key KEY usage list|request|reserve|record
//   tds --node HOST:PORT --key KEY bill --period YYYY-MM
//   tds --node HOST:PORT --key KEY value PRODUCT
//   tds --node HOST:PORT --key KEY report compliance|billing|valuation ... --out DIR [--pdf]
//   tds --node HOST:PORT [--key KEY] member propose|vote|list|proposals
//   tds --node HOST:PORT --key KEY audit usage|violations|receipt
//   tds --node HOST:PORT --key KEY node status|fault
//   tds --node PROVIDER:PORT --key KEY run psi|stats --contract ID --input ids.csv ...
//
// Every listing takes -o table|json|csv (sdk/cli/output.h).
//
// Errors go to stderr as one "error: ..." line with a non-zero exit code.

#include <exception>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "sdk/cli/audit_cmd.h"
#include "sdk/cli/billing_cmd.h"
#include "sdk/cli/cert_cmd.h"
#include "sdk/cli/console_cmd.h"
#include "sdk/cli/contract_cmd.h"
#include "sdk/cli/keys_cmd.h"
#include "sdk/cli/ledger_cmd.h"
#include "sdk/cli/member_cmd.h"
#include "sdk/cli/merkle_cmd.h"
#include "sdk/cli/node_cmd.h"
#include "sdk/cli/options_cmd.h"
#include "sdk/cli/product_cmd.h"
#include "sdk/cli/report_cmd.h"
#include "sdk/cli/run_cmd.h"
#include "sdk/cli/usage_cmd.h"
#include "sdk/cli/verify_cmd.h"

int main(int argc, char** argv) {
  tds::cli::Context ctx;
  CLI::App app("tds: Trusted Data Space member and auditor CLI", "tds");
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.footer(
      "Offline: keygen, genesis, cert, verify, merkle. Against a node (--node): anchor, receipt, "
      "ledger,\nproduct, contract, usage, bill, value, report, member, audit, "
      "node, run.\nListings take -o table|json|csv.\n"
      "Run `tds COMMAND --help` for each command's options.");
  app.failure_message([](const CLI::App* app, const CLI::Error& e) {
    return "error: " + std::string(e.what()) + "\nRun `" + app->get_name() +
           " --help` (or `COMMAND --help`) for usage.\n";
  });
  tds::cli::AddGlobalOptions(app, ctx);
  tds::cli::AddKeyCommands(app, ctx);
  tds::cli::AddCertCommands(app, ctx);
  tds::cli::AddVerifyCommand(app, ctx);
  tds::cli::AddMerkleCommands(app);
  tds::cli::AddLedgerCommands(app, ctx);
  tds::cli::AddProductCommands(app, ctx);
  tds::cli::AddContractCommands(app, ctx);
  tds::cli::AddUsageCommands(app, ctx);
  tds::cli::AddBillingCommands(app, ctx);
  tds::cli::AddReportCommands(app, ctx);
  tds::cli::AddMemberCommands(app, ctx);
  tds::cli::AddAuditCommands(app, ctx);
  tds::cli::AddNodeCommands(app, ctx);
  tds::cli::AddConsoleCommands(app, ctx);
  tds::cli::AddRunCommands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return ctx.exit_code;
}
