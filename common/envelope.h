#pragma once
// Signed envelopes: exact bytes + signer + signature under a per-kind context.
// Signed message = "tds-envelope-v1" 0x00 || u8 len(context) || context || payload.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/keys.h"

namespace tds {

// Contexts for every signed message kind. A signature made under one never verifies under another.
inline constexpr std::string_view kTxContext = "tds.tx.v1";

// Returns the serialized tds.Envelope (proto/envelope.proto).
// REQUIRES: context is 1..255 bytes.
std::string SealEnvelope(const SigningKey& key, std::string_view context, std::string payload);

struct OpenedEnvelope {
  std::string payload;  // the exact signed bytes
  PublicKey signer;
};

// Parses `envelope_bytes`, checks the context equals `expected_context` and the signature
// verifies. Errors name the failed check (parse, context, signer key, signature).
absl::StatusOr<OpenedEnvelope> OpenEnvelope(std::string_view envelope_bytes,
                                            std::string_view expected_context);

// The bytes an envelope signature covers (exposed for the format docs and cross-checks).
std::string EnvelopeSignedMessage(std::string_view context, std::string_view payload);

}  // namespace tds
