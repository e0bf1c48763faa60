#pragma once
// `tds run psi|stats|query`: computations through a provider's metered gateway
// (sdk/data_space.h), as the consumer in --key. --node must be the provider's node.
//
//   tds run psi --contract ID --input ids.csv [--column NAME] [--purpose P]
//       [--output consumer_only|both|size_only] [--protocol auto|ecdh|ot] [--out result.csv]
//       [--genesis GENESIS]
//     Intersects the id column of ids.csv with the provider's ids; writes the header and the
//     matched rows of ids.csv, byte for byte, to --out (never overwritten; mode 0600) and prints
//     one line: "matched N of M ids (OT-PSI); usage <txid> (block H); ...; receipt verified
//     locally". --protocol auto (default) runs what the contract chooses for this set size.
//   tds run query --contract ID (--id X ... | --input ids.csv [--column NAME])
//       [--columns a,b] [--min-k K] [-o FORMAT]
//     Anonymous query: one row per id — found or not, and the requested columns when found.
//   tds run stats --contract ID --input ids.csv --stat COLUMN:KIND[:BOUNDS] ... [-o FORMAT]
//     Aggregates over the provider's rows matching the ids: KIND count|sum|mean|histogram,
//     BOUNDS the histogram's ascending upper bounds, comma-separated (income:histogram:10,20).
//
// --purpose defaults to the contract's only purpose, --output to the contract's. Progress goes
// to stderr (in place on a terminal, periodic lines otherwise); every error is one line
// "error: ..." with exit code 1.

#include "CLI/CLI.hpp"
#include "sdk/cli/options_cmd.h"

namespace tds::cli {

void AddRunCommands(CLI::App& app, Context& ctx);

}  // namespace tds::cli
