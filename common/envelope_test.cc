#include "common/envelope.h"

#include <string>

#include "common/bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/envelope.pb.h"

namespace tds {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kOtherContext = "tds.test.other.v1";

std::string Message(const absl::Status& s) { return std::string(s.message()); }

std::unique_ptr<SigningKey> SeededKey(char fill) {
  auto key = SigningKey::FromSeed(std::string(32, fill));
  EXPECT_TRUE(key.ok());
  return std::move(*key);
}

Envelope Parse(const std::string& bytes) {
  Envelope env;
  EXPECT_TRUE(env.ParseFromString(bytes));
  return env;
}

// Opens `env` under kTxContext and returns the error text ("" if it opened).
std::string OpenError(const Envelope& env) {
  auto opened = OpenEnvelope(env.SerializeAsString(), kTxContext);
  if (opened.ok()) return "";
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  return Message(opened.status());
}

TEST(Envelope, SealThenOpenReturnsPayloadAndSigner) {
  auto key = SeededKey(1);
  const std::string sealed = SealEnvelope(*key, kTxContext, "transfer 5 from a to b");
  auto opened = OpenEnvelope(sealed, kTxContext);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->payload, "transfer 5 from a to b");
  EXPECT_EQ(opened->signer, key->public_key());
}

TEST(Envelope, SealedFieldsAreAsDocumented) {
  auto key = SeededKey(1);
  const Envelope env = Parse(SealEnvelope(*key, kTxContext, "p"));
  EXPECT_EQ(env.context(), kTxContext);
  EXPECT_EQ(env.payload(), "p");
  EXPECT_EQ(env.signer(), key->public_key().bytes());
  EXPECT_EQ(env.signature().size(), kSignatureBytes);
}

TEST(Envelope, SignedMessageLayoutIsDomainLengthContextPayload) {
  EXPECT_EQ(EnvelopeSignedMessage("ctx", "pay"), std::string("tds-envelope-v1\0\x03"
                                                             "ctxpay",
                                                             23));
  const std::string long_context(255, 'c');
  const std::string msg = EnvelopeSignedMessage(long_context, "");
  EXPECT_EQ(static_cast<uint8_t>(msg[16]), 255);
  EXPECT_EQ(msg.size(), 16u + 1 + 255);
}

TEST(Envelope, SignatureCoversTheDocumentedMessage) {
  auto key = SeededKey(1);
  const Envelope env = Parse(SealEnvelope(*key, kTxContext, "payload"));
  EXPECT_TRUE(
      key->public_key().Verify(EnvelopeSignedMessage(kTxContext, "payload"), env.signature()));
}

TEST(Envelope, PayloadBytesCarriedVerbatim) {
  // Not a valid protobuf, contains NULs and high bytes: carried and returned untouched.
  const std::string payload("\x00\xff\x80garbage\x00", 11);
  auto opened = OpenEnvelope(SealEnvelope(*SeededKey(1), kTxContext, payload), kTxContext);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->payload, payload);
}

TEST(Envelope, EmptyPayloadSealsAndOpens) {
  auto opened = OpenEnvelope(SealEnvelope(*SeededKey(1), kTxContext, ""), kTxContext);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->payload, "");
}

TEST(Envelope, WrongExpectedContextRefused) {
  auto opened = OpenEnvelope(SealEnvelope(*SeededKey(1), kTxContext, "p"), kOtherContext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(Message(opened.status()),
            "envelope: context is 'tds.tx.v1', expected 'tds.test.other.v1'");
}

TEST(Envelope, SignatureFromOtherContextDoesNotVerify) {
  // Relabelling a message signed for another kind must not make it acceptable as a tx.
  Envelope env = Parse(SealEnvelope(*SeededKey(1), kOtherContext, "p"));
  env.set_context(std::string(kTxContext));
  EXPECT_EQ(OpenError(env), "envelope signature: does not verify");
}

TEST(Envelope, TamperedPayloadRefused) {
  Envelope env = Parse(SealEnvelope(*SeededKey(1), kTxContext, "transfer 5"));
  env.set_payload("transfer 500");
  EXPECT_EQ(OpenError(env), "envelope signature: does not verify");
}

TEST(Envelope, TamperedSignatureRefused) {
  Envelope env = Parse(SealEnvelope(*SeededKey(1), kTxContext, "p"));
  (*env.mutable_signature())[10] ^= 0x20;
  EXPECT_EQ(OpenError(env), "envelope signature: does not verify");
}

TEST(Envelope, WrongLengthSignatureRefused) {
  Envelope env = Parse(SealEnvelope(*SeededKey(1), kTxContext, "p"));
  env.mutable_signature()->pop_back();
  EXPECT_EQ(OpenError(env), "envelope signature: expected 64 bytes, got 63");
  env.clear_signature();
  EXPECT_EQ(OpenError(env), "envelope signature: expected 64 bytes, got 0");
}

TEST(Envelope, SignerReplacedByAnotherKeyRefused) {
  Envelope env = Parse(SealEnvelope(*SeededKey(1), kTxContext, "p"));
  env.set_signer(std::string(SeededKey(2)->public_key().bytes()));
  EXPECT_EQ(OpenError(env), "envelope signature: does not verify");
}

TEST(Envelope, InvalidSignerKeyRefused) {
  Envelope env = Parse(SealEnvelope(*SeededKey(1), kTxContext, "p"));
  env.set_signer(std::string(31, 'k'));
  EXPECT_THAT(OpenError(env), HasSubstr("envelope signer: public key: expected 32 bytes, got 31"));
  env.set_signer(*HexDecode("0100000000000000000000000000000000000000000000000000000000000000"));
  EXPECT_THAT(OpenError(env), HasSubstr("envelope signer: public key: not a valid Ed25519 point"));
}

TEST(Envelope, GarbageBytesRefused) {
  auto opened = OpenEnvelope("\xff\xff\xff\xff", kTxContext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(Message(opened.status()), "envelope: not a valid Envelope message");
}

TEST(Envelope, EmptyBytesRefusedForMissingContext) {
  auto opened = OpenEnvelope("", kTxContext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(Message(opened.status()), "envelope: context is '', expected 'tds.tx.v1'");
}

TEST(Envelope, EmptyExpectedContextRefused) {
  auto opened = OpenEnvelope(SealEnvelope(*SeededKey(1), kTxContext, "p"), "");
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(Message(opened.status()), HasSubstr("expected context must be 1..255 bytes"));
}

TEST(Envelope, OpenFromRegistryUsesTheRegisteredKey) {
  auto key = SeededKey(1);
  const PublicKey registered = key->public_key();
  auto resolve = [&](std::string_view raw) -> const PublicKey* {
    return raw == registered.bytes() ? &registered : nullptr;
  };
  const std::string sealed = SealEnvelope(*key, kTxContext, "pay");
  auto opened = OpenEnvelopeFrom(sealed, kTxContext, resolve);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->payload, "pay");
  EXPECT_EQ(opened->signer, registered);
}

TEST(Envelope, OpenFromRegistryRefusesUnknownSignerAndBadSignature) {
  auto key = SeededKey(1);
  auto other = SeededKey(2);
  const PublicKey registered = key->public_key();
  auto resolve = [&](std::string_view raw) -> const PublicKey* {
    return raw == registered.bytes() ? &registered : nullptr;
  };
  auto unknown = OpenEnvelopeFrom(SealEnvelope(*other, kTxContext, "x"), kTxContext, resolve);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(unknown.status()), HasSubstr("not a known member key"));
  Envelope env = Parse(SealEnvelope(*key, kTxContext, "x"));
  env.set_payload("y");
  auto tampered = OpenEnvelopeFrom(env.SerializeAsString(), kTxContext, resolve);
  EXPECT_THAT(Message(tampered.status()), HasSubstr("does not verify"));
}

}  // namespace
}  // namespace tds
