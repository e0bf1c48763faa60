#pragma once
// Evidence anchoring (存证): a member records the SHA-256 digest of a document with its type and
// metadata, so the document's existence and integrity at that time can be proven later.
// State: "evidence/" digest(32) be64(log index) → EvidenceRecord (proto/evidence.proto).

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "ledger/application.h"

namespace tds::evidence {

inline constexpr std::string_view kAnchorTxType = "evidence.anchor";

// Registers the evidence.anchor handler.
void Register(ledger::Application& app);

// A serialized EvidenceAnchor body; validated as apply() would (errors name the field).
absl::StatusOr<std::string> MakeAnchorBody(const Hash& digest, const std::string& doc_type,
                                           const std::map<std::string, std::string>& metadata);

}  // namespace tds::evidence
