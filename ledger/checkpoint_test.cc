#include "ledger/checkpoint.h"

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "ledger/genesis.h"
#include "ledger/test_util.h"

namespace tds::ledger {
namespace {

using ::testing::HasSubstr;
using testing::KeyFromByte;

GenesisInfo FourValidators() {
  std::vector<std::string> specs;
  for (uint8_t i = 1; i <= 4; ++i) {
    specs.push_back("v" + std::to_string(i) + ":validator:" + KeyFromByte(i)->public_key().hex());
  }
  return std::move(GenesisInfo::Parse(*BuildGenesisJson("example.org/log", specs), "g")).value();
}

Checkpoint Sample() {
  Checkpoint cp;
  cp.origin = "example.org/log";
  cp.size = 42;
  cp.root = Sha256("root");
  cp.height = 7;
  cp.block_hash = Sha256("block");
  return cp;
}

std::string Note(const Checkpoint& cp, std::initializer_list<uint8_t> signers) {
  std::vector<std::string> lines;
  for (uint8_t i : signers) {
    lines.push_back(SignNoteLine(cp.Body(), "v" + std::to_string(i), *KeyFromByte(i)));
  }
  return AssembleNote(cp.Body(), lines);
}

TEST(Checkpoint, BodyFollowsTlogCheckpointForm) {
  const std::string body = Sample().Body();
  EXPECT_EQ(body, "example.org/log\n42\n" + Base64Encode(AsBytes(Sha256("root"))) +
                      "\ntds-block 7 " + Base64Encode(AsBytes(Sha256("block"))) + "\n");
}

TEST(Checkpoint, ParsesWhatItSigns) {
  auto note = ParseSignedNote(Note(Sample(), {1, 2}));
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->checkpoint.size, 42u);
  EXPECT_EQ(note->checkpoint.root, Sha256("root"));
  EXPECT_EQ(note->checkpoint.height, 7u);
  EXPECT_EQ(note->checkpoint.block_hash, Sha256("block"));
  ASSERT_EQ(note->signatures.size(), 2u);
  EXPECT_EQ(note->signatures[0].key_name, "v1");
  EXPECT_EQ(note->signatures[0].key_id, NoteKeyId("v1", KeyFromByte(1)->public_key()));
  EXPECT_EQ(note->body, Sample().Body());
}

TEST(Checkpoint, QuorumOfDistinctValidatorsVerifies) {
  const GenesisInfo g = FourValidators();
  EXPECT_TRUE(VerifyCheckpoint(Note(Sample(), {1, 2, 4}), g).ok());
  auto two = VerifyCheckpoint(Note(Sample(), {1, 2}), g);
  EXPECT_THAT(std::string(two.status().message()), HasSubstr("signed by 2 of 4 validators"));
  // The same validator twice counts once.
  auto dup = VerifyCheckpoint(Note(Sample(), {1, 1, 2}), g);
  EXPECT_FALSE(dup.ok());
}

TEST(Checkpoint, UnknownSignersAreIgnored) {
  Checkpoint cp = Sample();
  std::string note = AssembleNote(cp.Body(), {SignNoteLine(cp.Body(), "v1", *KeyFromByte(1)),
                                              SignNoteLine(cp.Body(), "stranger", *KeyFromByte(50)),
                                              SignNoteLine(cp.Body(), "v2", *KeyFromByte(2)),
                                              SignNoteLine(cp.Body(), "v3", *KeyFromByte(3))});
  EXPECT_TRUE(VerifyCheckpoint(note, FourValidators()).ok());
}

TEST(Checkpoint, ForgedSignatureOfKnownValidatorIsNamed) {
  Checkpoint cp = Sample();
  // v2's name and key id, but signed with another key.
  std::string forged = SignNoteLine(cp.Body(), "v2", *KeyFromByte(9));
  std::string blob =
      *Base64Decode(forged.substr(forged.rfind(' ') + 1, forged.size() - forged.rfind(' ') - 2));
  std::string id;
  PutFixed32BE(&id, NoteKeyId("v2", KeyFromByte(2)->public_key()));
  blob.replace(0, 4, id);
  std::string line = "\xE2\x80\x94 v2 " + Base64Encode(blob) + "\n";
  auto r = VerifyCheckpoint(
      AssembleNote(cp.Body(), {SignNoteLine(cp.Body(), "v1", *KeyFromByte(1)), line}),
      FourValidators());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("validator 'v2' does not verify"));
}

TEST(Checkpoint, ChangedBodyFailsSignature) {
  Checkpoint cp = Sample();
  std::string note = Note(cp, {1, 2, 3});
  note.replace(note.find("42"), 2, "43");
  auto r = VerifyCheckpoint(note, FourValidators());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("does not verify"));
}

TEST(Checkpoint, WrongOriginRefused) {
  Checkpoint cp = Sample();
  cp.origin = "other.org/log";
  auto r = VerifyCheckpoint(Note(cp, {1, 2, 3}), FourValidators());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("origin"));
}

TEST(Checkpoint, MalformedNotesRefusedWithTheLine) {
  EXPECT_THAT(std::string(ParseSignedNote("o\n1\n").status().message()), HasSubstr("blank line"));
  EXPECT_THAT(std::string(ParseSignedNote("o\n01\nAAAA\n\n— a AAAA\n").status().message()),
              HasSubstr("line 2"));
  EXPECT_THAT(std::string(ParseSignedNote("o\n1\n!!\n\n— a AAAA\n").status().message()),
              HasSubstr("line 3"));
  const std::string body = Sample().Body();
  EXPECT_THAT(std::string(ParseSignedNote(body + "\n- v1 AAAA\n").status().message()),
              HasSubstr("em dash"));
  EXPECT_THAT(std::string(ParseSignedNote(body + "\n").status().message()), HasSubstr("signature"));
}

}  // namespace
}  // namespace tds::ledger
