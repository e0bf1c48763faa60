#pragma once
// A member acting on a node, for the data-space commands (product, contract, usage, bill,
// value, member): the key of --key, the member id it belongs to in the CURRENT membership
// (so members admitted by governance work too), a ledger client to submit transactions and a
// query client that signs each query as that member (anonymous without --key, when the
// command allows it).

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "proto/ledger_service.pb.h"
#include "sdk/cli/options_cmd.h"
#include "sdk/client.h"
#include "sdk/query_client.h"
#include "sdk/tx_builders.h"

namespace tds::cli {

struct Session {
  // Declared first so it outlives the query client that signs with it.
  std::unique_ptr<SigningKey> key;  // null when anonymous
  std::string member_id;            // empty when anonymous
  std::unique_ptr<sdk::LedgerClient> ledger;
  std::unique_ptr<sdk::QueryClient> query;
};

enum class KeyUse {
  kRequired,  // the command signs: --key must be given and be a current member's key
  kOptional,  // reads: signed queries with --key, anonymous without
};

// Connects to --node and, with a key, resolves its member id. Errors name the option.
absl::StatusOr<std::unique_ptr<Session>> OpenSession(const GlobalOptions& options, KeyUse use);

// Signs `tx` as the session's member, submits it and waits until its block is durable.
// A refusal comes back with the node's message unchanged.
// REQUIRES: the session has a key.
absl::StatusOr<tds::SubmitResponse> SubmitTx(Session& session, const sdk::TxBody& tx);

// Prints the acknowledgement of a committed transaction to stdout:
//   txid:   <64 hex>
//   block:  <height> (log index <index>)
//   result: <result bytes, or "-">
void PrintSubmitted(const tds::SubmitResponse& ack);

// Submits and prints: summary(ack) (one line, e.g. "published product p1 (v1)") then the
// acknowledgement; on refusal prints "error: <node's message>". Returns the exit code.
using Summary = std::function<std::string(const tds::SubmitResponse& ack)>;
int SubmitAndReport(Session& session, const sdk::TxBody& tx, const Summary& summary);

}  // namespace tds::cli
