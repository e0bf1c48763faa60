// Signed envelopes.
//
// Wire form: a serialized tds.Envelope (proto/envelope.proto) carrying context, payload,
// signer (32-byte Ed25519 key) and signature (64 bytes). The signature covers
//
//   signed_message := "tds-envelope-v1" 0x00 || u8 len(context) || context || payload
//
// where context is 1..255 bytes. The verifier rebuilds signed_message from the context and
// payload bytes exactly as carried; the payload is never parsed and re-serialized, so any
// encoding of it that was signed stays verifiable.

#include "common/envelope.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "proto/envelope.pb.h"

namespace tds {
namespace {

constexpr std::string_view kEnvelopeDomain{"tds-envelope-v1\0", 16};
constexpr size_t kMaxContextBytes = 255;

bool ValidContextLength(std::string_view context) {
  return !context.empty() && context.size() <= kMaxContextBytes;
}

}  // namespace

std::string EnvelopeSignedMessage(std::string_view context, std::string_view payload) {
  std::string msg;
  msg.reserve(kEnvelopeDomain.size() + 1 + context.size() + payload.size());
  msg.append(kEnvelopeDomain);
  msg.push_back(static_cast<char>(static_cast<uint8_t>(context.size())));
  msg.append(context);
  msg.append(payload);
  return msg;
}

std::string SealEnvelope(const SigningKey& key, std::string_view context, std::string payload) {
  if (!ValidContextLength(context)) {
    // Contexts are compile-time constants; a bad one is a programming error, not input.
    std::fprintf(stderr, "tds: SealEnvelope: context must be 1..255 bytes, got %zu\n",
                 context.size());
    std::abort();
  }
  Envelope env;
  env.set_signature(key.Sign(EnvelopeSignedMessage(context, payload)));
  env.set_context(std::string(context));
  env.set_payload(std::move(payload));
  env.set_signer(std::string(key.public_key().bytes()));
  return env.SerializeAsString();
}

namespace {

// Parses and checks everything but the signature itself.
absl::StatusOr<Envelope> ParseChecked(std::string_view envelope_bytes,
                                      std::string_view expected_context) {
  if (!ValidContextLength(expected_context)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "envelope: expected context must be 1..255 bytes, got ", expected_context.size()));
  }
  Envelope env;
  if (envelope_bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !env.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size()))) {
    return absl::InvalidArgumentError("envelope: not a valid Envelope message");
  }
  // Equality with the (valid) expected context also bounds the carried context to 1..255
  // bytes, so the length byte of the signed message is exact.
  if (env.context() != expected_context) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope: context is '", absl::CHexEscape(env.context()), "', expected '",
                     absl::CHexEscape(std::string(expected_context)), "'"));
  }
  if (env.signature().size() != kSignatureBytes) {
    return absl::InvalidArgumentError(absl::StrCat("envelope signature: expected ", kSignatureBytes,
                                                   " bytes, got ", env.signature().size()));
  }
  return env;
}

absl::StatusOr<OpenedEnvelope> VerifyWith(Envelope& env, const PublicKey& signer) {
  if (!signer.Verify(EnvelopeSignedMessage(env.context(), env.payload()), env.signature())) {
    return absl::InvalidArgumentError("envelope signature: does not verify");
  }
  return OpenedEnvelope{std::move(*env.mutable_payload()), signer};
}

}  // namespace

absl::StatusOr<EnvelopeSignature> ExtractEnvelopeSignature(std::string_view envelope_bytes,
                                                           std::string_view expected_context) {
  auto env = ParseChecked(envelope_bytes, expected_context);
  if (!env.ok()) return env.status();
  std::string message = EnvelopeSignedMessage(env->context(), env->payload());
  const size_t offset = message.size() - env->payload().size();
  return EnvelopeSignature{std::move(*env->mutable_signer()), std::move(message),
                           std::move(*env->mutable_signature()), offset};
}

absl::StatusOr<OpenedEnvelope> OpenEnvelope(std::string_view envelope_bytes,
                                            std::string_view expected_context) {
  auto env = ParseChecked(envelope_bytes, expected_context);
  if (!env.ok()) return env.status();
  auto signer = PublicKey::FromBytes(env->signer());
  if (!signer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope signer: ", std::string(signer.status().message())));
  }
  return VerifyWith(*env, *signer);
}

absl::StatusOr<OpenedEnvelope> OpenEnvelopeFrom(
    std::string_view envelope_bytes, std::string_view expected_context,
    const std::function<const PublicKey*(std::string_view)>& resolve) {
  auto env = ParseChecked(envelope_bytes, expected_context);
  if (!env.ok()) return env.status();
  const PublicKey* signer = resolve(env->signer());
  if (signer == nullptr) {
    return absl::PermissionDeniedError("envelope signer: not a known member key");
  }
  return VerifyWith(*env, *signer);
}

}  // namespace tds
