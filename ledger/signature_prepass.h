#pragma once
// Batch verification ahead of the per-transaction checks. Each transaction envelope (and each
// envelope its body carries, TxHandler::NestedEnvelopes) is opened one at a time by admission
// and execution; verifying their Ed25519 signatures first, together, in one batch
// (common/ed25519.h) leaves the valid ones in the process-wide signature cache, where each
// single check then finds its signature already verified. Correctness never depends on it: a
// signature the batch missed or the cache evicted is verified singly, under the same predicate.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/application.h"

namespace tds::ledger {

// `is_member(raw 32-byte key)`: signatures by other keys are left out; they are refused
// without a check anyway, and leaving them out keeps strangers from buying verification work.
void PreverifySignatures(const std::vector<const std::string*>& entries, const Application& app,
                         const std::function<bool(std::string_view)>& is_member);

}  // namespace tds::ledger
