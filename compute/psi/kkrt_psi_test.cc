#include "compute/psi/kkrt_psi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "compute/link.h"
#include "compute/psi/ecdh_psi.h"
#include "compute/psi/psi_test_util.h"

namespace tds::compute::psi {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr PsiOutput kOutputs[] = {PsiOutput::kConsumerOnly, PsiOutput::kBoth};

using Outcome = PsiOutcome;

KkrtPsiOptions Options(PsiOutput output, size_t chunk_items = 7) {
  KkrtPsiOptions o;
  o.output = output;
  o.chunk_items = chunk_items;
  o.threads = 2;
  return o;
}

// Rewrites the messages one party sends: `mutate(index, message)` returns what goes out
// instead (nothing, the message, a changed one, or several).
class TamperingLink : public Link {
 public:
  using Mutate = std::function<std::vector<std::string>(int index, std::string message)>;
  TamperingLink(Link& inner, Mutate mutate) : inner_(inner), mutate_(std::move(mutate)) {}
  absl::Status Send(std::string message) override {
    for (std::string& m : mutate_(index_++, std::move(message))) {
      absl::Status s = inner_.Send(std::move(m));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Recv() override { return inner_.Recv(); }
  void Close() override { inner_.Close(); }

 private:
  Link& inner_;
  Mutate mutate_;
  int index_ = 0;
};

// Both parties in one process over an in-memory link; the sender's or the receiver's outgoing
// messages may be tampered with.
Outcome RunPair(const std::vector<std::string>& r_items, const std::vector<std::string>& s_items,
                const KkrtPsiOptions& r_options, const KkrtPsiOptions& s_options,
                TamperingLink::Mutate r_mutate = nullptr,
                TamperingLink::Mutate s_mutate = nullptr) {
  auto [r_link, s_link] = MemoryLinkPair();
  auto pass = [](int, std::string m) { return std::vector<std::string>{std::move(m)}; };
  TamperingLink r_tamper(*r_link, r_mutate ? r_mutate : pass);
  TamperingLink s_tamper(*s_link, s_mutate ? s_mutate : pass);
  return RunPsiParties(RunKkrtPsi, r_items, s_items, r_options, s_options, r_tamper, s_tamper);
}

Outcome RunPair(const std::vector<std::string>& r, const std::vector<std::string>& s,
                PsiOutput output, size_t chunk_items = 7) {
  return RunPair(r, s, Options(output, chunk_items), Options(output, chunk_items));
}

void RunAndCheck(const std::vector<std::string>& r, const std::vector<std::string>& s,
                 size_t chunk_items = 7) {
  RunAndCheckOutputs(kOutputs, r, s, chunk_items,
                     [](const auto& r, const auto& s, PsiOutput output, size_t chunk) {
                       return RunPair(r, s, output, chunk);
                     });
}

// ---- Correctness against the plaintext reference ----

TEST(KkrtPsiTest, EmptyVersusEmpty) { RunAndCheck({}, {}); }

TEST(KkrtPsiTest, EmptyVersusNonEmptyEitherWay) {
  RunAndCheck({}, Ids("id", 0, 20));
  RunAndCheck(Ids("id", 0, 20), {});
}

TEST(KkrtPsiTest, OneVersusOne) {
  RunAndCheck({"alice"}, {"alice"});
  RunAndCheck({"alice"}, {"bob"});
}

TEST(KkrtPsiTest, DisjointAndIdenticalSets) {
  RunAndCheck(Ids("a", 0, 300), Ids("b", 0, 300));
  RunAndCheck(Ids("id", 0, 300), Ids("id", 0, 300));
}

TEST(KkrtPsiTest, SkewedSizesEitherWay) {
  const std::vector<std::string> small = Ids("id", 9995, 10005);  // 5 inside the big set
  const std::vector<std::string> big = Ids("id", 0, 10000);
  RunAndCheck(small, big, 1 << 12);
  RunAndCheck(big, small, 1 << 12);
}

TEST(KkrtPsiTest, DuplicatesReportEveryPosition) {
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

TEST(KkrtPsiTest, ManyCopiesOfOneItem) {
  // More copies than cuckoo candidates: the parties deduplicate before hashing.
  std::vector<std::string> r(50, "same");
  r.push_back("other");
  std::vector<std::string> s(20, "same");
  RunAndCheck(r, s);
}

TEST(KkrtPsiTest, ItemsAreArbitraryBytes) {
  const std::vector<std::string> r = {std::string("\0\0", 2), "", std::string(1000, 'z'), "a"};
  const std::vector<std::string> s = {"", std::string("\0", 1), std::string(1000, 'z')};
  RunAndCheck(r, s);
}

TEST(KkrtPsiTest, RandomSetsMatchTheReference) {
  std::mt19937 rng(42);
  for (int round = 0; round < 4; ++round) {
    const int universe = 3000;
    std::uniform_int_distribution<int> pick(0, universe - 1);
    std::uniform_int_distribution<int> size(0, 2000);
    std::vector<std::string> r, s;
    for (int i = size(rng); i > 0; --i) r.push_back(absl::StrCat("u", pick(rng)));
    for (int i = size(rng); i > 0; --i) s.push_back(absl::StrCat("u", pick(rng)));
    RunAndCheck(r, s, 1 + round * 50);
  }
}

TEST(KkrtPsiTest, LargeSetsSpanSeveralSlabs) {
  // 10^5 receiver items need ~133,000 bins: three column messages of at most 65,536 bins.
  const auto r = Ids("id", 0, 100'000);
  const auto s = Ids("id", 60'000, 130'000);
  ExpectCorrect(r, s, PsiOutput::kBoth, RunPair(r, s, PsiOutput::kBoth, 1 << 14));
}

TEST(KkrtPsiTest, BucketedRunsMatchTheReference) {
  std::mt19937 rng(7);
  std::vector<std::string> r, s;
  for (int i = 0; i < 3000; ++i) r.push_back(absl::StrCat("u", rng() % 6000));
  for (int i = 0; i < 1500; ++i) s.push_back(absl::StrCat("u", rng() % 6000));
  for (PsiOutput output : kOutputs) {
    KkrtPsiOptions ro = Options(output, 13), so = Options(output, 13);
    ro.max_bucket_items = 200;  // the smaller limit applies: 15 buckets
    so.max_bucket_items = 1000;
    std::vector<PsiProgress> progress;
    ro.progress = [&](const PsiProgress& p) { progress.push_back(p); };
    ExpectCorrect(r, s, output, RunPair(r, s, ro, so));
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress[0].total, 15u);
  }
}

TEST(KkrtPsiTest, OneWorkerThreadGivesTheSameResult) {
  const auto r = Ids("id", 0, 500);
  const auto s = Ids("id", 400, 800);
  KkrtPsiOptions o = Options(PsiOutput::kBoth);
  o.threads = 1;
  ExpectCorrect(r, s, PsiOutput::kBoth, RunPair(r, s, o, o));
}

TEST(KkrtPsiTest, ReleaseGateSeesBothCountsOnceOnTheSenderOnly) {
  const auto r = Ids("id", 0, 30);
  const auto s = Ids("id", 20, 70);
  int sender_calls = 0, receiver_calls = 0;
  KkrtPsiOptions ro = Options(PsiOutput::kConsumerOnly), so = ro;
  so.before_release = [&](const PsiReleaseInfo& info) {
    ++sender_calls;
    EXPECT_EQ(info.own_items, 50u);
    EXPECT_EQ(info.peer_items, 30u);
    return absl::OkStatus();
  };
  ro.before_release = [&](const PsiReleaseInfo&) {
    ++receiver_calls;
    return absl::OkStatus();
  };
  ExpectCorrect(r, s, PsiOutput::kConsumerOnly, RunPair(r, s, ro, so));
  EXPECT_EQ(sender_calls, 1);
  EXPECT_EQ(receiver_calls, 0);
}

// ---- Refusals ----

void ExpectBothFail(const Outcome& out) {
  EXPECT_FALSE(out.receiver.ok());
  EXPECT_FALSE(out.sender.ok());
}

TEST(KkrtPsiRefusalTest, SizeOnlyIsRefusedAndPointsToEcdh) {
  Outcome out = RunPair(Ids("a", 0, 5), Ids("a", 0, 5), PsiOutput::kSizeOnly);
  ExpectBothFail(out);
  EXPECT_EQ(out.receiver.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.receiver.status().message(), HasSubstr("size_only needs ECDH-PSI"));
  EXPECT_THAT(out.sender.status().message(), HasSubstr("size_only needs ECDH-PSI"));
}

TEST(KkrtPsiRefusalTest, GateRefusalLeavesTheReceiverWithoutAResult) {
  KkrtPsiOptions ro = Options(PsiOutput::kBoth), so = ro;
  so.before_release = [](const PsiReleaseInfo&) {
    return absl::ResourceExhaustedError("quota used up");
  };
  Outcome out = RunPair(Ids("a", 0, 40), Ids("a", 10, 50), ro, so);
  ExpectBothFail(out);
  EXPECT_EQ(out.sender.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(out.sender.status().message(),
              HasSubstr("kkrt psi sender: release refused: quota used up"));
  EXPECT_THAT(out.receiver.status().message(),
              HasSubstr("kkrt psi receiver: waiting for the sender's release key"));
}

TEST(KkrtPsiRefusalTest, GateRunsAndCanRefuseWithAnEmptySet) {
  KkrtPsiOptions ro = Options(PsiOutput::kConsumerOnly), so = ro;
  so.before_release = [](const PsiReleaseInfo&) { return absl::PermissionDeniedError("no"); };
  Outcome out = RunPair({}, Ids("a", 0, 5), ro, so);
  ExpectBothFail(out);
  EXPECT_THAT(out.sender.status().message(), HasSubstr("release refused: no"));
}

TEST(KkrtPsiRefusalTest, MismatchedModeRoleAndPeerLimit) {
  Outcome out = RunPair(Ids("a", 0, 5), Ids("a", 0, 5), Options(PsiOutput::kConsumerOnly),
                        Options(PsiOutput::kBoth));
  ExpectBothFail(out);
  EXPECT_THAT(out.receiver.status().message(),
              HasSubstr("output mode mismatch: this party asked for consumer-only, the sender "
                        "for both"));

  KkrtPsiOptions ro = Options(PsiOutput::kConsumerOnly), so = ro;
  ro.max_peer_items = 4;
  out = RunPair(Ids("a", 0, 5), Ids("a", 0, 5), ro, so);
  ExpectBothFail(out);
  EXPECT_THAT(out.receiver.status().message(),
              HasSubstr("the sender announces 5 items, over the limit of 4"));

  auto [a, b] = MemoryLinkPair();
  const auto items = Ids("a", 0, 5);
  absl::StatusOr<PsiResult> other = absl::UnknownError("not run");
  std::thread t([&] { other = RunKkrtPsi(PsiRole::kReceiver, items, ro, *b); });
  absl::StatusOr<PsiResult> one = RunKkrtPsi(PsiRole::kReceiver, items, ro, *a);
  t.join();
  EXPECT_THAT(one.status().message(), HasSubstr("both parties are receivers"));
  EXPECT_FALSE(other.ok());
}

TEST(KkrtPsiRefusalTest, WrongVersionAndEcdhPeerAreNamed) {
  auto bump_version = [](int i, std::string m) {
    if (i == 0) m[1] = 9;
    return std::vector<std::string>{std::move(m)};
  };
  Outcome out = RunPair(Ids("a", 0, 5), Ids("a", 0, 5), Options(PsiOutput::kConsumerOnly),
                        Options(PsiOutput::kConsumerOnly), nullptr, bump_version);
  ExpectBothFail(out);
  EXPECT_THAT(out.receiver.status().message(),
              HasSubstr("the sender speaks protocol version 9, this party 1"));

  auto [a, b] = MemoryLinkPair();
  const auto items = Ids("a", 0, 5);
  EcdhPsiOptions eo;
  absl::StatusOr<PsiResult> ecdh = absl::UnknownError("not run");
  std::thread t([&] { ecdh = RunEcdhPsi(PsiRole::kSender, items, eo, *b); });
  absl::StatusOr<PsiResult> kkrt =
      RunKkrtPsi(PsiRole::kReceiver, items, Options(PsiOutput::kConsumerOnly), *a);
  t.join();
  EXPECT_THAT(kkrt.status().message(), HasSubstr("the peer runs ECDH-PSI"));
  EXPECT_FALSE(ecdh.ok());
}

// Sender messages: 0 hello, 1 ot_reply, 2.. tags (one chunk per bucket here), then key.
// Receiver messages: 0 hello, 1 ot_first, 2.. columns, then ready, finish (and positions).
struct TamperCase {
  const char* name;
  bool tamper_sender;
  int index;
  std::function<std::vector<std::string>(std::string)> change;
  const char* victim_error;    // expected in the other party's error
  bool before_release = true;  // the tampering is noticed before the sender's gate
};

std::vector<std::string> One(std::string m) { return {std::move(m)}; }

std::vector<std::string> FlipByte(std::string m, size_t at) {
  if (at < m.size()) m.replace(at, 1, 1, static_cast<char>(m[at] ^ 1));
  return One(std::move(m));
}

TEST(KkrtPsiRefusalTest, TamperedMessagesEndBothSessionsWithClearErrors) {
  const auto r = Ids("a", 0, 100);
  const auto s = Ids("a", 50, 150);
  const std::vector<TamperCase> cases = {
      {"truncated hello", true, 0, [](std::string m) { return One(m.substr(0, 39)); },
       "malformed hello from the sender: tag 0x11, 39 bytes (expected tag 0x11, 40 bytes)"},
      {"oversized hello", false, 0, [](std::string m) { return One(m + "x"); },
       "malformed hello from the receiver: tag 0x11, 41 bytes"},
      {"truncated base OT reply", true, 1, [](std::string m) { return One(m.substr(0, 100)); },
       "the sender's base OT reply: base OT reply of 99 bytes, expected 512 points"},
      {"identity in base OT reply", true, 1,
       [](std::string m) {
         std::fill(m.begin() + 1, m.begin() + 33, '\0');
         return One(m);
       },
       "base OT reply point 0 is not a valid ristretto255 encoding or is the identity"},
      {"base OT message with the wrong tag", false, 1,
       [](std::string m) {
         m[0] = 0x14;
         return One(m);
       },
       "the receiver's base OT message: expected tag 0x12, got 0x14"},
      {"malformed base OT point", false, 1,
       [](std::string m) {
         std::fill(m.begin() + 1, m.end(), '\xff');
         return One(m);
       },
       "not a valid ristretto255 encoding"},
      {"truncated columns", false, 2, [](std::string m) { return One(m.substr(0, m.size() - 1)); },
       "the receiver's columns of bucket 0 slab 0: 16396 bytes for 256 rows, expected 16397"},
      {"columns with a wrong row count", false, 2,
       [](std::string m) {
         m[12] = 64;
         return One(m);
       },
       "carries 320 rows, expected 256"},
      {"truncated tags", true, 2, [](std::string m) { return One(m.substr(0, m.size() - 5)); },
       "the sender's tags of bucket 0 chunk 0: "},
      {"tags with a wrong slot count", true, 2,
       [](std::string m) {
         m[12] = static_cast<char>(m[12] + 1);
         return One(m);
       },
       "carries 8 slots, expected 7"},
      {"flipped tag byte", true, 2, [](std::string m) { return FlipByte(std::move(m), 20); },
       "the sender's tags of bucket 0 chunk 0 do not verify under the released key", false},
      {"replayed tags", true, 2,
       [](std::string m) {
         return std::vector<std::string>{m, m};
       },
       "the sender's tags of bucket 0 chunk 1: the message is bucket 0 chunk 0 (out of order or "
       "replayed)"},
      {"dropped tags", true, 2, [](std::string) { return std::vector<std::string>{}; },
       "the message is bucket 0 chunk 1 (out of order or replayed)"},
      {"garbage instead of the key", true, 17, [](std::string m) { return One(m.substr(0, 10)); },
       "malformed release key message: tag 0x16, 10 bytes (expected tag 0x16, 33 bytes)", false},
      {"malformed ready", false, 3, [](std::string m) { return One(m.substr(0, 5)); },
       "malformed ready message: tag 0x19, 5 bytes (expected tag 0x19, 9 bytes, 100 slots)"},
      {"finish with results in consumer-only mode", false, 4,
       [](std::string m) {
         m[8] = 1;
         return One(m);
       },
       "the finish message carries results (size 1, 0 positions) in consumer-only mode", false},
  };
  for (const TamperCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto mutate = [&c](int i, std::string m) {
      return i == c.index ? c.change(std::move(m)) : One(std::move(m));
    };
    bool released = false;
    KkrtPsiOptions ro = Options(PsiOutput::kConsumerOnly), so = ro;
    so.before_release = [&](const PsiReleaseInfo&) {
      released = true;
      return absl::OkStatus();
    };
    Outcome out = c.tamper_sender ? RunPair(r, s, ro, so, nullptr, mutate)
                                  : RunPair(r, s, ro, so, mutate, nullptr);
    const absl::StatusOr<PsiResult>& victim = c.tamper_sender ? out.receiver : out.sender;
    ASSERT_FALSE(victim.ok());
    EXPECT_THAT(std::string(victim.status().message()), HasSubstr(c.victim_error));
    EXPECT_THAT(victim.status().code(),
                AnyOf(absl::StatusCode::kDataLoss, absl::StatusCode::kInvalidArgument));
    if (c.before_release) {
      EXPECT_FALSE(out.receiver.ok()) << "the receiver reported a result";
      EXPECT_FALSE(released) << "the sender's gate ran";
    }
  }
}

TEST(KkrtPsiRefusalTest, BadPositionsInBothModeAreRefused) {
  const auto r = Ids("a", 0, 20);
  const auto s = Ids("a", 10, 30);
  // Receiver messages in kBoth: 0 hello, 1 ot_first, 2 columns, 3 ready, 4 finish,
  // 5 positions.
  auto far = [](int i, std::string m) {
    if (i == 5) m[5] = 0x7f;  // the first position becomes huge
    return One(std::move(m));
  };
  Outcome out = RunPair(r, s, Options(PsiOutput::kBoth), Options(PsiOutput::kBoth), far, nullptr);
  ASSERT_FALSE(out.sender.ok());
  EXPECT_THAT(out.sender.status().message(),
              HasSubstr("the receiver's position chunk 0: position"));
  EXPECT_THAT(out.sender.status().message(), HasSubstr("is out of order or not below 20"));

  auto count = [](int i, std::string m) {
    if (i == 4) m[16] = 0x7f;  // claims 127 positions of S's 20 distinct items
    return One(std::move(m));
  };
  out = RunPair(r, s, Options(PsiOutput::kBoth), Options(PsiOutput::kBoth), count, nullptr);
  ASSERT_FALSE(out.sender.ok());
  EXPECT_THAT(out.sender.status().message(),
              HasSubstr("announces an intersection of 10 with 127 of this party's 20"));
}

TEST(KkrtPsiRefusalTest, ReplayedColumnsAcrossBucketsAreRefused) {
  const auto r = Ids("a", 0, 300);
  const auto s = Ids("a", 100, 400);
  KkrtPsiOptions o = Options(PsiOutput::kConsumerOnly);
  o.max_bucket_items = 100;  // 3 buckets, one column message each
  auto replay = [](int i, std::string m) {
    return i == 2 ? std::vector<std::string>{m, m} : One(std::move(m));
  };
  Outcome out = RunPair(r, s, o, o, replay, nullptr);
  ExpectBothFail(out);
  EXPECT_THAT(out.sender.status().message(),
              HasSubstr("the receiver's columns of bucket 1 slab 0: the message is bucket 0 "
                        "slab 0 (out of order or replayed)"));
}

TEST(KkrtPsiRefusalTest, BadOptionsAreRefusedBeforeAnyWork) {
  KkrtPsiOptions o = Options(PsiOutput::kConsumerOnly);
  o.chunk_items = 0;
  auto [a, b] = MemoryLinkPair();
  absl::StatusOr<PsiResult> r = RunKkrtPsi(PsiRole::kReceiver, {"a"}, o, *a);
  EXPECT_THAT(r.status().message(), HasSubstr("options.chunk_items 0 is outside [1, 262144]"));
  o = Options(PsiOutput::kConsumerOnly);
  o.max_bucket_items = 0;
  auto [c, d] = MemoryLinkPair();
  r = RunKkrtPsi(PsiRole::kSender, {"a"}, o, *c);
  EXPECT_THAT(r.status().message(), HasSubstr("options.max_bucket_items is 0"));
}

}  // namespace
}  // namespace tds::compute::psi
