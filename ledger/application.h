#pragma once
// The application state machine the ledger hosts. The ledger knows no transaction types: an
// application registers a handler per type, and apply() must be deterministic — no wall clock
// (use BlockContext), no randomness, no iteration over unordered containers, integers for money.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"

namespace tds::ledger {

struct BlockContext {
  uint64_t height = 0;
  int64_t timestamp_ms = 0;  // proposer's time, the only clock apply() may read
  std::string proposer;
};

struct TxContext {
  const BlockContext* block = nullptr;
  Hash txid{};
  std::string submitter;  // member id, already authenticated by the ledger
  uint64_t index = 0;     // position in the Merkle log
};

// Key-value application state. Keys are arbitrary bytes; iteration is in key order.
class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const = 0;
  // Calls fn(key, value) in key order for keys starting with `prefix`, from `start_after`
  // (exclusive; empty = from the first) until fn returns false or `limit` entries were visited.
  virtual absl::Status Scan(
      std::string_view prefix, std::string_view start_after, size_t limit,
      const std::function<bool(std::string_view, std::string_view)>& fn) const = 0;
};

class StateWriter : public StateReader {
 public:
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
};

// A signed envelope carried inside a transaction body (e.g. a consumer's usage request).
struct NestedEnvelope {
  std::string envelope;
  std::string_view context;
};

class TxHandler {
 public:
  virtual ~TxHandler() = default;
  // The envelopes `body` carries besides the transaction's own: the ledger verifies their
  // signatures in one batch with the others before Apply runs, so Apply's own checks find
  // them verified. A hint for speed only: Apply checks everything it relies on.
  virtual void NestedEnvelopes(std::string_view /*body*/,
                               std::vector<NestedEnvelope>* /*out*/) const {}
  // Applies `body`. Returns the result bytes recorded with the transaction, or a rejection
  // (InvalidArgument, PermissionDenied, FailedPrecondition, AlreadyExists, ...) whose message
  // names what failed. A rejected transaction leaves no writes and is not logged.
  virtual absl::StatusOr<std::string> Apply(const TxContext& ctx, std::string_view body,
                                            StateWriter& state) const = 0;
};

class Application {
 public:
  // REQUIRES: type not yet registered.
  void Register(std::string type, std::unique_ptr<TxHandler> handler);
  const TxHandler* Find(std::string_view type) const;

 private:
  std::map<std::string, std::unique_ptr<TxHandler>, std::less<>> handlers_;
};

}  // namespace tds::ledger
