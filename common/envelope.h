#pragma once
// Signed envelopes: exact bytes + signer + signature under a per-kind context.
// Signed message = "tds-envelope-v1" 0x00 || u8 len(context) || context || payload.

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/keys.h"

namespace tds {

// Contexts for every signed message kind. A signature made under one never verifies under another.
inline constexpr std::string_view kTxContext = "tds.tx.v1";
// A member's proof of identity on read-only queries (proto/query_service.proto).
inline constexpr std::string_view kQueryContext = "tds.query.v1";
// A one-time login to the web console of the node that member `node` runs (node/console): the
// same QueryIdentity payload as a query, under a context of its own — so a signed query identity
// never opens a console session — that names the node, so a login link made for one node's
// console cannot be replayed at another's. Member ids are at most 64 bytes: within 255.
inline std::string ConsoleLoginContext(std::string_view node) {
  return std::string("tds.console-login.v1/").append(node);
}

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

// Like OpenEnvelope, for a signer drawn from a registry of keys validated when they were
// registered: `resolve(raw 32-byte signer)` returns that key or nullptr (→ PermissionDenied).
// Skips re-validating the curve point, which costs about as much as the signature check.
absl::StatusOr<OpenedEnvelope> OpenEnvelopeFrom(
    std::string_view envelope_bytes, std::string_view expected_context,
    const std::function<const PublicKey*(std::string_view)>& resolve);

// The bytes an envelope signature covers (exposed for the format docs and cross-checks).
std::string EnvelopeSignedMessage(std::string_view context, std::string_view payload);

// What an envelope's signature check needs, unverified: for verifying many envelopes in one
// batch (common/ed25519.h) before each is opened, which then finds its signature verified.
struct EnvelopeSignature {
  std::string signer;     // raw 32-byte key as carried
  std::string message;    // EnvelopeSignedMessage(context, payload)
  std::string signature;  // 64 bytes
  size_t payload_offset = 0;
  std::string_view payload() const { return std::string_view(message).substr(payload_offset); }
};
// The envelope's signature, or the error OpenEnvelope would report for its form.
absl::StatusOr<EnvelopeSignature> ExtractEnvelopeSignature(std::string_view envelope_bytes,
                                                           std::string_view expected_context);

}  // namespace tds
