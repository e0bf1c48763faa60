#include "compute/psi/ecdh_psi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "compute/link.h"
#include "compute/psi/psi_test_util.h"
#include "compute/psi/release_key.h"
#include "compute/psi/x25519.h"
#include "compute/socket_link.h"

namespace tds::compute::psi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr PsiOutput kAllOutputs[] = {PsiOutput::kConsumerOnly, PsiOutput::kBoth,
                                     PsiOutput::kSizeOnly};

using Outcome = PsiOutcome;

EcdhPsiOptions Options(PsiOutput output, size_t chunk_items = 7) {
  EcdhPsiOptions o;
  o.output = output;
  o.chunk_items = chunk_items;
  o.threads = 2;
  return o;
}

// Both parties in one process, each in its own thread, over an in-memory link pair.
Outcome RunPair(const std::vector<std::string>& receiver_items,
                const std::vector<std::string>& sender_items, const EcdhPsiOptions& r_options,
                const EcdhPsiOptions& s_options) {
  auto [r_link, s_link] = MemoryLinkPair();
  return RunPsiParties(RunEcdhPsi, receiver_items, sender_items, r_options, s_options, *r_link,
                       *s_link);
}

Outcome RunPair(const std::vector<std::string>& receiver_items,
                const std::vector<std::string>& sender_items, PsiOutput output,
                size_t chunk_items = 7) {
  return RunPair(receiver_items, sender_items, Options(output, chunk_items),
                 Options(output, chunk_items));
}

void RunAndCheck(const std::vector<std::string>& r, const std::vector<std::string>& s,
                 size_t chunk_items = 7) {
  RunAndCheckOutputs(kAllOutputs, r, s, chunk_items,
                     [](const auto& r, const auto& s, PsiOutput output, size_t chunk) {
                       return RunPair(r, s, output, chunk);
                     });
}

TEST(EcdhPsiTest, EmptyVersusEmptyIsAnEmptyIntersection) { RunAndCheck({}, {}); }

TEST(EcdhPsiTest, EmptyVersusNonEmptyIsAnEmptyIntersectionEitherWay) {
  RunAndCheck({}, Ids("id", 0, 20));
  RunAndCheck(Ids("id", 0, 20), {});
}

TEST(EcdhPsiTest, OneVersusOne) {
  RunAndCheck({"alice"}, {"alice"});
  RunAndCheck({"alice"}, {"bob"});
}

TEST(EcdhPsiTest, DisjointSetsShareNothing) { RunAndCheck(Ids("a", 0, 40), Ids("b", 0, 40)); }

TEST(EcdhPsiTest, IdenticalSetsShareEverything) { RunAndCheck(Ids("id", 0, 50), Ids("id", 0, 50)); }

TEST(EcdhPsiTest, SkewedSizesEitherWay) {
  std::vector<std::string> small = Ids("id", 9995, 10005);  // 5 inside the big set
  std::vector<std::string> big = Ids("id", 0, 10000);
  for (PsiOutput output : {PsiOutput::kBoth, PsiOutput::kSizeOnly}) {
    ExpectCorrect(small, big, output, RunPair(small, big, output, 1 << 10));
    ExpectCorrect(big, small, output, RunPair(big, small, output, 1 << 10));
  }
}

TEST(EcdhPsiTest, DuplicatesReportEveryPosition) {
  const std::vector<std::string> r = {"x", "y", "x", "z", "x", "w"};
  const std::vector<std::string> s = {"x", "q", "x", "w", "w"};
  RunAndCheck(r, s);
  Outcome out = RunPair(r, s, PsiOutput::kBoth);
  ASSERT_TRUE(out.receiver.ok()) << out.receiver.status();
  ASSERT_TRUE(out.sender.ok()) << out.sender.status();
  EXPECT_THAT(out.receiver->matched, ElementsAre(0, 2, 4, 5));
  EXPECT_EQ(out.receiver->intersection_size, 4u);
  EXPECT_THAT(out.sender->matched, ElementsAre(0, 2, 3, 4));
}

TEST(EcdhPsiTest, ItemsAreArbitraryBytes) {
  const std::vector<std::string> r = {std::string("\0\0", 2), "", std::string(1000, 'z'), "a"};
  const std::vector<std::string> s = {"", std::string("\0", 1), std::string(1000, 'z')};
  RunAndCheck(r, s);
}

TEST(EcdhPsiTest, RandomOverlapsMatchThePlaintextReference) {
  std::mt19937 rng(42);
  for (int round = 0; round < 4; ++round) {
    const int universe = 400;
    std::uniform_int_distribution<int> pick(0, universe - 1);
    std::uniform_int_distribution<int> size(0, 150);
    std::vector<std::string> r, s;
    for (int i = size(rng); i > 0; --i) r.push_back(absl::StrCat("u", pick(rng)));
    for (int i = size(rng); i > 0; --i) s.push_back(absl::StrCat("u", pick(rng)));
    RunAndCheck(r, s, 1 + round * 5);
  }
}

TEST(EcdhPsiTest, ChunkBoundariesAroundChunkItems) {
  for (int r_size : {6, 7, 8, 13, 14, 15}) {
    for (int s_size : {1, 7, 8, 21}) {
      RunAndCheck(Ids("id", 0, r_size), Ids("id", r_size / 2, r_size / 2 + s_size), 7);
    }
  }
}

TEST(EcdhPsiTest, PartiesMayUseDifferentChunkSizes) {
  const auto r = Ids("id", 0, 30);
  const auto s = Ids("id", 10, 53);
  for (PsiOutput output : kAllOutputs) {
    ExpectCorrect(r, s, output, RunPair(r, s, Options(output, 7), Options(output, 5)));
    ExpectCorrect(r, s, output, RunPair(r, s, Options(output, 4), Options(output, 11)));
  }
}

TEST(EcdhPsiTest, OneWorkerThreadGivesTheSameResult) {
  const auto r = Ids("id", 0, 30);
  const auto s = Ids("id", 20, 40);
  EcdhPsiOptions o = Options(PsiOutput::kBoth);
  o.threads = 1;
  ExpectCorrect(r, s, PsiOutput::kBoth, RunPair(r, s, o, o));
}

TEST(EcdhPsiTest, BothModeGivesEachPartyItsOwnPositions) {
  const std::vector<std::string> r = {"carol", "alice", "dave", "bob"};
  const std::vector<std::string> s = {"bob", "erin", "frank", "alice", "gina"};
  Outcome out = RunPair(r, s, PsiOutput::kBoth);
  ASSERT_TRUE(out.receiver.ok()) << out.receiver.status();
  ASSERT_TRUE(out.sender.ok()) << out.sender.status();
  EXPECT_THAT(out.receiver->matched, ElementsAre(1, 3));
  EXPECT_THAT(out.sender->matched, ElementsAre(0, 3));
  EXPECT_EQ(out.sender->intersection_size, 2u);
}

TEST(EcdhPsiTest, SizeOnlyGivesTheReceiverOnlyTheCountAndTheSenderNothing) {
  const auto r = Ids("id", 0, 25);
  const auto s = Ids("id", 15, 45);
  Outcome out = RunPair(r, s, PsiOutput::kSizeOnly);
  ASSERT_TRUE(out.receiver.ok()) << out.receiver.status();
  ASSERT_TRUE(out.sender.ok()) << out.sender.status();
  EXPECT_EQ(out.receiver->intersection_size, 10u);
  EXPECT_THAT(out.receiver->matched, IsEmpty());
  EXPECT_EQ(out.sender->intersection_size, 0u);
  EXPECT_THAT(out.sender->matched, IsEmpty());
}

TEST(EcdhPsiTest, WorksOverALoopbackSocket) {
  auto pair = LoopbackSocketPair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  const auto r = Ids("id", 0, 300);
  const auto s = Ids("id", 200, 700);
  absl::StatusOr<PsiResult> sender_result = absl::UnknownError("not run");
  std::thread sender([&] {
    sender_result = RunEcdhPsi(PsiRole::kSender, s, Options(PsiOutput::kBoth, 64), *pair->second);
  });
  absl::StatusOr<PsiResult> receiver_result =
      RunEcdhPsi(PsiRole::kReceiver, r, Options(PsiOutput::kBoth, 64), *pair->first);
  sender.join();
  ExpectCorrect(r, s, PsiOutput::kBoth, Outcome{receiver_result, sender_result});
  EXPECT_GT(pair->first->bytes_sent(), 300u * 32);
}

TEST(EcdhPsiTest, ProgressIsReportedForEveryPhase) {
  const auto r = Ids("id", 0, 20);
  const auto s = Ids("id", 10, 40);
  std::map<std::string, PsiProgress> r_last, s_last;
  EcdhPsiOptions ro = Options(PsiOutput::kBoth);
  EcdhPsiOptions so = Options(PsiOutput::kBoth);
  ro.progress = [&](const PsiProgress& p) { r_last[p.phase] = p; };
  so.progress = [&](const PsiProgress& p) { s_last[p.phase] = p; };
  ExpectCorrect(r, s, PsiOutput::kBoth, RunPair(r, s, ro, so));
  ASSERT_EQ(r_last.count("mask-own"), 1u);
  ASSERT_EQ(r_last.count("match"), 1u);
  ASSERT_EQ(s_last.count("mask-peer"), 1u);
  ASSERT_EQ(s_last.count("mask-own"), 1u);
  EXPECT_EQ(r_last["mask-own"].done, 20u);
  EXPECT_EQ(r_last["mask-own"].total, 20u);
  EXPECT_EQ(r_last["match"].done, 30u);
  EXPECT_EQ(s_last["mask-peer"].done, 20u);
  EXPECT_EQ(s_last["mask-own"].total, 30u);
}

TEST(EcdhPsiTest, OutputModeMismatchIsRefusedByBothParties) {
  const auto items = Ids("id", 0, 5);
  Outcome out =
      RunPair(items, items, Options(PsiOutput::kConsumerOnly), Options(PsiOutput::kSizeOnly));
  ASSERT_FALSE(out.receiver.ok());
  ASSERT_FALSE(out.sender.ok());
  EXPECT_EQ(out.receiver.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.receiver.status().message()),
              HasSubstr("output mode mismatch: this party asked for consumer-only, the sender "
                        "for size-only"));
  EXPECT_THAT(std::string(out.sender.status().message()),
              HasSubstr("output mode mismatch: this party asked for size-only, the receiver "
                        "for consumer-only"));
}

TEST(EcdhPsiTest, TwoReceiversAreRefused) {
  auto [a, b] = MemoryLinkPair();
  absl::StatusOr<PsiResult> other = absl::UnknownError("not run");
  const auto items = Ids("id", 0, 3);
  std::thread t(
      [&] { other = RunEcdhPsi(PsiRole::kReceiver, items, Options(PsiOutput::kBoth), *b); });
  absl::StatusOr<PsiResult> mine =
      RunEcdhPsi(PsiRole::kReceiver, items, Options(PsiOutput::kBoth), *a);
  t.join();
  ASSERT_FALSE(mine.ok());
  EXPECT_THAT(std::string(mine.status().message()), HasSubstr("both parties are receivers"));
  EXPECT_FALSE(other.ok());
}

TEST(EcdhPsiTest, APeerAnnouncingTooManyItemsIsRefusedBeforeAnyWork) {
  EcdhPsiOptions ro = Options(PsiOutput::kConsumerOnly);
  ro.max_peer_items = 10;
  Outcome out = RunPair(Ids("id", 0, 5), Ids("id", 0, 11), ro, Options(PsiOutput::kConsumerOnly));
  ASSERT_FALSE(out.receiver.ok());
  EXPECT_EQ(out.receiver.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.receiver.status().message()),
              HasSubstr("the sender announces 11 items, over the limit of 10"));
  EXPECT_FALSE(out.sender.ok());  // the receiver closed the link
}

TEST(EcdhPsiTest, InvalidOptionsAreRefused) {
  auto [a, b] = MemoryLinkPair();
  EcdhPsiOptions o = Options(PsiOutput::kBoth, 0);
  absl::StatusOr<PsiResult> r = RunEcdhPsi(PsiRole::kReceiver, {"x"}, o, *a);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("options.chunk_items 0 is outside [1, 1048576]"));
}

// ---------------------------------------------------------------------------------------------
// A hand-written peer speaking the wire format of ecdh_psi.cc, so that each malformed message
// can be sent to a real party.

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::string Hello(uint8_t role, uint8_t output, uint64_t items, uint32_t chunk) {
  std::string m = {0x01, 0x01, static_cast<char>(role), static_cast<char>(output)};
  PutU64(m, items);
  PutU32(m, chunk);
  return m;
}
constexpr uint8_t kWireReceiver = 0, kWireSender = 1;
constexpr uint8_t kWireConsumerOnly = 0, kWireBoth = 1, kWireSizeOnly = 2;

std::string Chunk(uint8_t tag, uint32_t count, const std::string& values) {
  std::string m(1, static_cast<char>(tag));
  PutU32(m, count);
  return m + values;
}

std::string Finish(uint64_t size, uint64_t positions) {
  std::string m(1, 0x05);
  PutU64(m, size);
  PutU64(m, positions);
  return m;
}

std::string Point(const std::string& item) {
  uint8_t p[kPointBytes];
  HashToPoint(item, p);
  return std::string(reinterpret_cast<char*>(p), kPointBytes);
}

std::string Points(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += Point(absl::StrCat("fake", i));
  return out;
}

// A real party in a thread facing the test's hand-written peer on `peer`.
class FakePeerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (real_thread_.joinable()) {  // a failed assertion left the real party running
      peer_->Close();
      real_thread_.join();
    }
  }
  void StartReal(PsiRole role, std::vector<std::string> items, PsiOutput output, size_t chunk = 4) {
    items_ = std::move(items);
    options_ = Options(output, chunk);
    real_thread_ =
        std::thread([this, role] { result_ = RunEcdhPsi(role, items_, options_, *real_); });
  }
  // The real party's status, after the fake peer's last message.
  absl::Status RealStatus() {
    real_thread_.join();
    return result_.status();
  }
  // Reads one message from the real party (test helper; fails the test on error).
  std::string Read() {
    absl::StatusOr<std::string> m = peer_->Recv();
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : std::string();
  }
  void Write(std::string m) { peer_->Send(std::move(m)).IgnoreError(); }

  std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>> links_ = MemoryLinkPair();
  std::unique_ptr<Link>& real_ = links_.first;
  std::unique_ptr<Link>& peer_ = links_.second;
  std::vector<std::string> items_;
  EcdhPsiOptions options_;
  absl::StatusOr<PsiResult> result_ = absl::UnknownError("not run");
  std::thread real_thread_;
};

TEST_F(FakePeerTest, GarbageHelloIsRefused) {
  StartReal(PsiRole::kReceiver, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write("hello?");
  absl::Status s = RealStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("malformed hello from the sender: tag 0x68, 6 bytes (expected tag 0x01, "
                        "16 bytes)"));
}

TEST_F(FakePeerTest, UnknownProtocolVersionIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  std::string hello = Hello(kWireReceiver, kWireConsumerOnly, 3, 4);
  hello[1] = 2;
  Write(hello);
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the peer speaks protocol version 2, this party 1"));
}

TEST_F(FakePeerTest, HelloWithZeroChunkSizeIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 3, 0));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the receiver's chunk size 0 is outside [1, 1048576]"));
}

TEST_F(FakePeerTest, TruncatedReplyChunkIsRefused) {
  StartReal(PsiRole::kReceiver, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireSender, kWireConsumerOnly, 2, 4));
  Read();  // hello
  Read();  // the receiver's 3 points
  // 3 digests and a 16-byte seal tag, one byte short.
  Write(Chunk(0x03, 3, std::string(16 * 3 + 16 - 1, 'd')));
  absl::Status s = RealStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("the sender's reply chunk 0: 52 bytes for 3 items of 16 bytes, "
                        "expected 53"));
}

TEST_F(FakePeerTest, ChunkHeaderCutShortIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 3, 4));
  Write(std::string("\x02\x00\x00", 3));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the receiver's point chunk 0: truncated header (3 bytes)"));
}

TEST_F(FakePeerTest, PointsOfTheWrongLengthAreRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 3, 4));
  Write(Chunk(0x02, 3, std::string(3 * 33, 'p')));  // 33-byte "points"
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the receiver's point chunk 0: 104 bytes for 3 items of 32 bytes, "
                        "expected 101"));
}

TEST_F(FakePeerTest, MoreItemsThanAnnouncedAreRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 3, 4));  // 3 items, chunks of 4
  Write(Chunk(0x02, 4, Points(4)));
  absl::Status s = RealStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("the receiver's point chunk 0: carries 4 items, expected 3"));
}

TEST_F(FakePeerTest, AChunkOfTheWrongKindIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 3, 4));
  Write(Chunk(0x04, 3, Points(3)));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the receiver's point chunk 0: expected tag 0x02, got 0x04"));
}

TEST_F(FakePeerTest, LowOrderPointFromTheReceiverIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 6, 4));
  Write(Chunk(0x02, 4, Points(4)));
  Write(Chunk(0x02, 2, Points(1) + std::string(32, '\0')));  // item 5: the all-zero point
  absl::Status s = RealStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("the receiver's point 5 is a low-order point"));
}

TEST_F(FakePeerTest, LowOrderPointFromTheSenderIsRefused) {
  StartReal(PsiRole::kReceiver, Ids("id", 0, 2), PsiOutput::kConsumerOnly);
  Write(Hello(kWireSender, kWireConsumerOnly, 2, 4));
  Read();
  Read();
  Write(Chunk(0x03, 2, std::string(32 + 16, 'd')));  // sealed digests + tag: opened later
  std::string one(32, '\0');
  one[0] = 1;  // u = 1: a point of order 4
  Write(Chunk(0x04, 2, Points(1) + one));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the sender's point 1 is a low-order point"));
}

TEST_F(FakePeerTest, NonCanonicalPointIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 1, 4));
  Write(Chunk(0x02, 1, std::string(32, '\xff')));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the receiver's point 0 is not a canonical X25519 u-coordinate"));
}

TEST_F(FakePeerTest, EarlyCloseEndsTheSessionWithAClearError) {
  StartReal(PsiRole::kReceiver, Ids("id", 0, 10), PsiOutput::kBoth);
  Write(Hello(kWireSender, kWireBoth, 5, 4));
  Read();
  Read();
  peer_->Close();
  absl::Status s = RealStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("peer closed the link"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("ecdh psi receiver:"));
}

TEST_F(FakePeerTest, CloseBeforeHelloEndsTheSession) {
  StartReal(PsiRole::kSender, Ids("id", 0, 10), PsiOutput::kBoth);
  peer_->Close();
  absl::Status s = RealStatus();
  // Depending on timing the close is seen sending our hello or waiting for theirs.
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("hello: peer closed the link"));
}

TEST_F(FakePeerTest, FinishCarryingResultsInConsumerOnlyModeIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 2), PsiOutput::kConsumerOnly);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 0, 4));  // empty: straight to finish
  Write(Finish(1, 1));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the finish message carries results (size 1, 1 positions) in "
                        "consumer-only mode"));
}

TEST_F(FakePeerTest, PositionsOutOfOrderAreRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kBoth);
  Write(Hello(kWireReceiver, kWireBoth, 1, 4));
  Write(Chunk(0x02, 1, Points(1)));
  Read();  // hello
  Read();  // reply
  Read();  // the sender's 3 points (one chunk of 4)
  Write(Finish(1, 2));
  std::string positions;
  PutU64(positions, 2);
  PutU64(positions, 1);
  Write(Chunk(0x06, 2, positions));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("the receiver's position chunk 0: position 1 is out of order"));
}

TEST_F(FakePeerTest, PositionBeyondTheSenderSetIsRefused) {
  StartReal(PsiRole::kSender, Ids("id", 0, 3), PsiOutput::kBoth);
  Write(Hello(kWireReceiver, kWireBoth, 1, 4));
  Write(Chunk(0x02, 1, Points(1)));
  Write(Finish(1, 1));
  std::string positions;
  PutU64(positions, 3);
  Write(Chunk(0x06, 1, positions));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("position 3 is out of order or not below 3"));
}

// The fake receiver below holds its own key, so it can follow its items through the sender's
// streams; it checks that positions the sender emits reveal nothing about order.
std::vector<std::string> MaskedBy(const MaskingKey& key, const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    uint8_t h[kPointBytes], m[kPointBytes];
    HashToPoint(item, h);
    EXPECT_TRUE(key.Mask(h, m));
    out.emplace_back(reinterpret_cast<char*>(m), kPointBytes);
  }
  return out;
}

std::vector<std::string> Split(const std::string& chunk, size_t width) {
  std::vector<std::string> out;
  for (size_t at = 5; at < chunk.size(); at += width) out.push_back(chunk.substr(at, width));
  return out;
}

// Opens sealed reply chunk messages (in stream order) with the key from a key message.
std::vector<std::string> OpenReplies(const std::vector<std::string>& chunks,
                                     const std::string& key_message) {
  EXPECT_EQ(key_message.size(), 33u);
  EXPECT_EQ(key_message[0], 0x07);
  absl::StatusOr<ReleaseKey> key = ReleaseKey::FromBytes(key_message.substr(1));
  EXPECT_TRUE(key.ok()) << key.status();
  std::vector<std::string> out;
  if (!key.ok()) return out;
  for (size_t index = 0; index < chunks.size(); ++index) {
    std::string m = chunks[index];
    const std::string tag = m.substr(m.size() - kSealTagBytes);
    m.resize(m.size() - kSealTagBytes);
    EXPECT_TRUE(key->Open(index, m.substr(0, 5), reinterpret_cast<uint8_t*>(m.data()) + 5,
                          m.size() - 5, reinterpret_cast<const uint8_t*>(tag.data())));
    for (std::string& d : Split(m, 16)) out.push_back(std::move(d));
  }
  return out;
}

TEST_F(FakePeerTest, SenderStreamsItsPointsInAShuffledOrder) {
  const auto items = Ids("id", 0, 64);
  StartReal(PsiRole::kSender, items, PsiOutput::kConsumerOnly, 64);
  MaskingKey r;
  const std::vector<std::string> mine = MaskedBy(r, items);
  Write(Hello(kWireReceiver, kWireConsumerOnly, 64, 64));
  std::string all;
  for (const std::string& p : mine) all += p;
  Write(Chunk(0x02, 64, all));
  Read();                             // hello
  const std::string sealed = Read();  // X25519(s, X25519(r, H(x_i))), sealed
  const std::vector<std::string> theirs = Split(Read(), 32);  // X25519(s, H(y_j)), shuffled
  const std::vector<std::string> replies = OpenReplies({sealed}, Read());
  ASSERT_EQ(replies.size(), 64u);
  ASSERT_EQ(theirs.size(), 64u);
  // Where did the sender's item i (= our item i) land in its stream?
  std::vector<int> landed(64, -1);
  for (int j = 0; j < 64; ++j) {
    uint8_t d[kPointBytes];
    ASSERT_TRUE(r.Mask(reinterpret_cast<const uint8_t*>(theirs[j].data()), d));
    const std::string digest(reinterpret_cast<char*>(d), 16);
    const auto it = std::find(replies.begin(), replies.end(), digest);
    ASSERT_NE(it, replies.end());
    landed[it - replies.begin()] = j;
  }
  std::vector<int> identity(64);
  for (int i = 0; i < 64; ++i) identity[i] = i;
  EXPECT_NE(landed, identity);  // fails with probability 1/64!
  std::vector<int> sorted = landed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, identity);  // a permutation: every item exactly once
  Write(Finish(0, 0));
  EXPECT_TRUE(RealStatus().ok());
}

TEST_F(FakePeerTest, ReceiverStreamsItsPointsInAShuffledOrder) {
  // Equal items give equal points, so a sender sees where each group of equal items went.
  std::vector<std::string> items(32, "a");
  items.resize(64, "b");
  StartReal(PsiRole::kReceiver, items, PsiOutput::kConsumerOnly, 64);
  Write(Hello(kWireSender, kWireConsumerOnly, 1, 64));
  Read();  // hello
  const std::vector<std::string> points = Split(Read(), 32);
  ASSERT_EQ(points.size(), 64u);
  EXPECT_EQ(std::set<std::string>(points.begin(), points.end()).size(), 2u);
  // In input order the first 32 would all be "a"; shuffled, that has probability 1/C(64,32).
  const std::set<std::string> first_half(points.begin(), points.begin() + 32);
  EXPECT_EQ(first_half.size(), 2u);
  peer_->Close();
  EXPECT_FALSE(RealStatus().ok());
}

TEST_F(FakePeerTest, SizeOnlyRepliesAreShuffledAcrossChunks) {
  // The fake receiver masks one base point B = H("base") with a different key k_i at each
  // position i. The sender, holding only "base", sends Q = X25519(s, B); by commutativity the
  // reply at position i must be X25519(k_i, Q), which tells the fake where each position went.
  StartReal(PsiRole::kSender, {"base"}, PsiOutput::kSizeOnly, 16);
  constexpr int kItems = 64;
  std::vector<std::unique_ptr<MaskingKey>> keys;
  uint8_t base[kPointBytes];
  HashToPoint("base", base);
  Write(Hello(kWireReceiver, kWireSizeOnly, kItems, 16));
  std::string part;
  for (int i = 0; i < kItems; ++i) {
    keys.push_back(std::make_unique<MaskingKey>());
    uint8_t p[kPointBytes];
    ASSERT_TRUE(keys.back()->Mask(base, p));
    part.append(reinterpret_cast<char*>(p), kPointBytes);
    if (i % 16 == 15) {
      Write(Chunk(0x02, 16, part));
      part.clear();
    }
  }
  Read();  // hello
  std::vector<std::string> sealed;
  for (int c = 0; c < kItems / 16; ++c) sealed.push_back(Read());
  const std::vector<std::string> q = Split(Read(), 32);
  const std::vector<std::string> replies = OpenReplies(sealed, Read());
  ASSERT_EQ(replies.size(), static_cast<size_t>(kItems));
  ASSERT_EQ(q.size(), 1u);
  std::vector<int> landed(kItems, -1);
  bool crossed_chunks = false;
  for (int i = 0; i < kItems; ++i) {
    uint8_t d[kPointBytes];
    ASSERT_TRUE(keys[i]->Mask(reinterpret_cast<const uint8_t*>(q[0].data()), d));
    const auto it =
        std::find(replies.begin(), replies.end(), std::string(reinterpret_cast<char*>(d), 16));
    ASSERT_NE(it, replies.end()) << "position " << i;
    landed[i] = static_cast<int>(it - replies.begin());
    if (landed[i] / 16 != i / 16) crossed_chunks = true;
  }
  std::vector<int> identity(kItems);
  for (int i = 0; i < kItems; ++i) identity[i] = i;
  EXPECT_NE(landed, identity);
  std::vector<int> sorted = landed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, identity);
  EXPECT_TRUE(crossed_chunks);  // one permutation over all chunks, not one per chunk
  Write(Finish(0, 0));
  EXPECT_TRUE(RealStatus().ok());
}

TEST_F(FakePeerTest, RepliesRevealNothingBeforeTheReleaseKey) {
  // Sender and fake receiver hold the same items. Before the key arrives the fake receiver
  // has the sealed replies and the sender's points, and can mask those with its own key: no
  // sealed reply equals any of them. With the key, every one does.
  const auto items = Ids("id", 0, 16);
  std::atomic<bool> gate_called{false};
  items_ = items;
  options_ = Options(PsiOutput::kConsumerOnly, 16);
  options_.before_release = [&](const PsiReleaseInfo&) {
    gate_called = true;
    return absl::OkStatus();
  };
  real_thread_ =
      std::thread([this] { result_ = RunEcdhPsi(PsiRole::kSender, items_, options_, *real_); });
  MaskingKey r;
  std::string all;
  for (const std::string& p : MaskedBy(r, items)) all += p;
  Write(Hello(kWireReceiver, kWireConsumerOnly, 16, 16));
  Write(Chunk(0x02, 16, all));
  Read();  // hello
  const std::string sealed = Read();
  std::set<std::string> doubly;  // X25519(r, X25519(s, H(y))), first 16 bytes
  for (const std::string& point : Split(Read(), 32)) {
    uint8_t d[kPointBytes];
    ASSERT_TRUE(r.Mask(reinterpret_cast<const uint8_t*>(point.data()), d));
    doubly.insert(std::string(reinterpret_cast<char*>(d), 16));
  }
  ASSERT_EQ(doubly.size(), 16u);
  for (const std::string& d : Split(sealed.substr(0, sealed.size() - kSealTagBytes), 16)) {
    EXPECT_EQ(doubly.count(d), 0u);
  }
  const std::string key = Read();
  EXPECT_TRUE(gate_called);
  const std::vector<std::string> opened = OpenReplies({sealed}, key);
  ASSERT_EQ(opened.size(), 16u);
  for (const std::string& d : opened) EXPECT_EQ(doubly.count(d), 1u);
  Write(Finish(0, 0));
  EXPECT_TRUE(RealStatus().ok());
}

TEST_F(FakePeerTest, TamperedReplyChunkFailsOnceTheKeyArrives) {
  StartReal(PsiRole::kReceiver, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireSender, kWireConsumerOnly, 1, 4));
  Read();                                                     // hello
  const std::vector<std::string> points = Split(Read(), 32);  // the receiver's 3 points
  MaskingKey s;
  ReleaseKey key;
  std::string reply = Chunk(0x03, 3, "");
  for (const std::string& p : points) {
    uint8_t d[kPointBytes];
    ASSERT_TRUE(s.Mask(reinterpret_cast<const uint8_t*>(p.data()), d));
    reply.append(reinterpret_cast<char*>(d), 16);
  }
  uint8_t tag[kSealTagBytes];
  key.Seal(0, reply.substr(0, 5), reinterpret_cast<uint8_t*>(reply.data()) + 5, 48, tag);
  reply.append(reinterpret_cast<char*>(tag), kSealTagBytes);
  reply[7] ^= 1;  // one bit of the first sealed digest
  Write(reply);
  Write(Chunk(0x04, 1, Points(1)));
  Write(std::string(1, 0x07) + key.Release());
  absl::Status status = RealStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("the sender's reply chunk 0 does not verify under the released key"));
}

TEST_F(FakePeerTest, MalformedKeyMessageIsRefused) {
  StartReal(PsiRole::kReceiver, Ids("id", 0, 3), PsiOutput::kConsumerOnly);
  Write(Hello(kWireSender, kWireConsumerOnly, 0, 4));  // empty: straight to the key
  Write(std::string(1, 0x07) + std::string(31, 'k'));
  EXPECT_THAT(std::string(RealStatus().message()),
              HasSubstr("malformed release key message: tag 0x07, 32 bytes (expected tag 0x07, "
                        "33 bytes)"));
}

TEST(EcdhPsiReleaseTest, GateRunsOnceOnTheSenderWithBothCounts) {
  const auto r = Ids("id", 0, 12);
  const auto s = Ids("id", 5, 25);
  for (PsiOutput output : kAllOutputs) {
    int calls = 0;
    PsiReleaseInfo seen;
    EcdhPsiOptions so = Options(output);
    so.before_release = [&](const PsiReleaseInfo& info) {
      ++calls;
      seen = info;
      return absl::OkStatus();
    };
    EcdhPsiOptions ro = Options(output);
    ro.before_release = [](const PsiReleaseInfo&) {
      ADD_FAILURE() << "the receiver has no release gate";
      return absl::OkStatus();
    };
    ExpectCorrect(r, s, output, RunPair(r, s, ro, so));
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seen.own_items, 20u);
    EXPECT_EQ(seen.peer_items, 12u);
  }
}

TEST(EcdhPsiReleaseTest, GateRunsEvenWhenASetIsEmpty) {
  int calls = 0;
  EcdhPsiOptions so = Options(PsiOutput::kBoth);
  so.before_release = [&](const PsiReleaseInfo&) {
    ++calls;
    return absl::OkStatus();
  };
  ExpectCorrect({}, Ids("id", 0, 3), PsiOutput::kBoth,
                RunPair({}, Ids("id", 0, 3), Options(PsiOutput::kBoth), so));
  EXPECT_EQ(calls, 1);
}

TEST(EcdhPsiReleaseTest, RefusalAtTheGateLeavesTheReceiverWithNothing) {
  const auto items = Ids("id", 0, 10);
  for (PsiOutput output : kAllOutputs) {
    EcdhPsiOptions so = Options(output);
    so.before_release = [](const PsiReleaseInfo&) {
      return absl::FailedPreconditionError("usage.record: refused by the ledger");
    };
    Outcome out = RunPair(items, items, Options(output), so);
    ASSERT_FALSE(out.sender.ok());
    EXPECT_EQ(out.sender.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(out.sender.status().message()),
                HasSubstr("release refused: usage.record: refused by the ledger"));
    ASSERT_FALSE(out.receiver.ok());
    EXPECT_EQ(out.receiver.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(out.receiver.status().message()),
                HasSubstr("waiting for the sender's release key: peer closed the link"));
  }
}

}  // namespace
}  // namespace tds::compute::psi
