#pragma once
// Test fixtures shared by the PSI protocol tests (ecdh_psi_test.cc, kkrt_psi_test.cc): both
// parties in one process, the sender on a second thread, and the plaintext reference that every
// result is checked against.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "compute/link.h"
#include "compute/psi/psi_types.h"

namespace tds::compute::psi {

// Both parties' results of one session.
struct PsiOutcome {
  absl::StatusOr<PsiResult> receiver = absl::UnknownError("not run");
  absl::StatusOr<PsiResult> sender = absl::UnknownError("not run");
};

// Runs `run(role, items, options, link)` (RunEcdhPsi, RunKkrtPsi) for both parties: the sender
// on its own thread over `s_link`, the receiver on this one over `r_link`; returns when both
// have finished.
template <typename Run, typename Options>
PsiOutcome RunPsiParties(Run run, const std::vector<std::string>& r_items,
                         const std::vector<std::string>& s_items, const Options& r_options,
                         const Options& s_options, Link& r_link, Link& s_link) {
  PsiOutcome out;
  std::thread sender([&] { out.sender = run(PsiRole::kSender, s_items, s_options, s_link); });
  out.receiver = run(PsiRole::kReceiver, r_items, r_options, r_link);
  sender.join();
  return out;
}

// Positions of `mine` whose item occurs in `theirs`, ascending: the plaintext reference.
inline std::vector<uint64_t> Reference(const std::vector<std::string>& mine,
                                       const std::vector<std::string>& theirs) {
  const std::set<std::string> other(theirs.begin(), theirs.end());
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < mine.size(); ++i) {
    if (other.count(mine[i])) out.push_back(i);
  }
  return out;
}

// Checks both parties' results against the plaintext reference for `output`: what each party
// learns in that mode, and nothing more.
inline void ExpectCorrect(const std::vector<std::string>& r_items,
                          const std::vector<std::string>& s_items, PsiOutput output,
                          const PsiOutcome& out) {
  ASSERT_TRUE(out.receiver.ok()) << out.receiver.status();
  ASSERT_TRUE(out.sender.ok()) << out.sender.status();
  const std::vector<uint64_t> r_expected = Reference(r_items, s_items);
  EXPECT_EQ(out.receiver->intersection_size, r_expected.size());
  EXPECT_EQ(out.receiver->peer_items, s_items.size());
  EXPECT_EQ(out.sender->peer_items, r_items.size());
  switch (output) {
    case PsiOutput::kConsumerOnly:
      EXPECT_EQ(out.receiver->matched, r_expected);
      EXPECT_THAT(out.sender->matched, ::testing::IsEmpty());
      EXPECT_EQ(out.sender->intersection_size, 0u);
      break;
    case PsiOutput::kBoth:
      EXPECT_EQ(out.receiver->matched, r_expected);
      EXPECT_EQ(out.sender->matched, Reference(s_items, r_items));
      EXPECT_EQ(out.sender->intersection_size, r_expected.size());
      break;
    case PsiOutput::kSizeOnly:
      EXPECT_THAT(out.receiver->matched, ::testing::IsEmpty());
      EXPECT_THAT(out.sender->matched, ::testing::IsEmpty());
      EXPECT_EQ(out.sender->intersection_size, 0u);
      break;
  }
}

// "<prefix><from>" .. "<prefix><to - 1>".
inline std::vector<std::string> Ids(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(absl::StrCat(prefix, i));
  return out;
}

// For each of `outputs`: run_pair(r, s, output, chunk_items) -> PsiOutcome, checked with
// ExpectCorrect.
template <typename Outputs, typename RunPair>
void RunAndCheckOutputs(const Outputs& outputs, const std::vector<std::string>& r,
                        const std::vector<std::string>& s, size_t chunk_items, RunPair run_pair) {
  for (PsiOutput output : outputs) {
    SCOPED_TRACE(absl::StrCat("output ", OutputName(output), ", |R| ", r.size(), ", |S| ", s.size(),
                              ", chunk ", chunk_items));
    ExpectCorrect(r, s, output, run_pair(r, s, output, chunk_items));
  }
}

}  // namespace tds::compute::psi
