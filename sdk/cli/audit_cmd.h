#pragma once
// `tds audit usage|violations|receipt`: the node's read-only Audit service
// (proto/node_service.proto). Auditors and validators read every record; other members their
// own. Every command signs its queries with --key.
//
//   tds audit usage [filters] [-o table|json|csv] [--receipts-dir DIR]
//   tds audit violations [--term TERM] [filters] [-o ...]
//   tds audit receipt TXID [--out FILE] [--genesis GENESIS]
//   tds audit replay --genesis GENESIS [--from H] [--to H] [--no-execute] [--scratch-dir DIR]
//   tds audit watch --genesis GENESIS --state FILE [--interval S] [--once]
// replay and watch (sdk/cli/audit_replay.h, audit_watch.h) read the Ledger service and sign
// nothing.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddAuditCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
