#pragma once
// `tds merkle root|prove|consistency`: offline RFC 9162 tools over a file of entries.
//
//   tds merkle root FILE                      -> lowercase hex root, newline
//   tds merkle prove FILE INDEX               -> {"index": i, "size": n, "proof": [hex, ...]}
//   tds merkle consistency FILE SIZE1 SIZE2   -> {"size1": a, "size2": b, "proof": [hex, ...]}
//
// FILE ("-" for stdin) holds one hex-encoded entry per line; an empty line is the empty entry,
// and a newline at end of file ends the last line rather than adding an empty entry. A CR
// before the newline is ignored. Indices are 0-based; INDEX < n and 0 < SIZE1 <= SIZE2 <= n,
// where n is the number of entries. Errors print one "error: ..." line to stderr and the
// command exits with code 1 (thrown as CLI::RuntimeError(1), which CLI::App::exit keeps silent).

#include "CLI/CLI.hpp"

namespace tds::cli {

void AddMerkleCommands(CLI::App& parent);

}  // namespace tds::cli
