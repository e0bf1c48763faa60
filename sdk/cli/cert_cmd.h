#pragma once
// `tds cert`: the consortium CA and member TLS certificates (docs/tls.md).
//
//   tds cert ca --out-dir DIR [--name NAME] [--days 3650]
//       DIR/ca.key (0600) and DIR/ca.crt; prints the CA certificate's fingerprint.
//   tds cert issue --ca-dir DIR --member ID --out-dir DIR [--host H ...] [--days 825]
//       DIR/ID.key (0600) and DIR/ID.crt (CN=ID, SANs from --host, default 127.0.0.1 and
//       localhost), signed by DIR/ca.*; prints the fingerprint to pin in the member's record.
//   tds cert fingerprint FILE.crt
//       SHA-256 of the certificate's DER, 64 lowercase hex digits.
//
// No command overwrites a file.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddCertCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
