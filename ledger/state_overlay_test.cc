#include "ledger/state_overlay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>

namespace tds::ledger {
namespace {

std::vector<std::string> ScanAll(const StateReader& r, std::string_view prefix,
                                 std::string_view after = "", size_t limit = SIZE_MAX) {
  std::vector<std::string> out;
  EXPECT_TRUE(r.Scan(prefix, after, limit, [&](std::string_view k, std::string_view v) {
                 out.push_back(std::string(k) + "=" + std::string(v));
                 return true;
               }).ok());
  return out;
}

class EmptyState : public StateReader {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view) const override {
    return std::nullopt;
  }
  absl::Status Scan(std::string_view, std::string_view, size_t,
                    const std::function<bool(std::string_view, std::string_view)>&) const override {
    return absl::OkStatus();
  }
};

TEST(StateOverlay, ScanMergesLayersInKeyOrderWithDeletions) {
  EmptyState base;
  StateOverlay block(&base);
  block.Put("a/1", "x");
  block.Put("a/2", "y");
  block.Put("a/3", "z");
  block.Put("b/1", "other");
  StateOverlay tx(&block);
  tx.Delete("a/2");
  tx.Put("a/4", "w");
  tx.Put("a/1", "x2");
  EXPECT_THAT(ScanAll(tx, "a/"), ::testing::ElementsAre("a/1=x2", "a/3=z", "a/4=w"));
  EXPECT_THAT(ScanAll(tx, "a/", "a/1"), ::testing::ElementsAre("a/3=z", "a/4=w"));
  EXPECT_THAT(ScanAll(tx, "a/", "", 2), ::testing::ElementsAre("a/1=x2", "a/3=z"));
  EXPECT_THAT(ScanAll(tx, "b/"), ::testing::ElementsAre("b/1=other"));
}

TEST(StateOverlay, UnlimitedScanWithLocalWritesStillReadsTheParent) {
  EmptyState base;
  StateOverlay block(&base);
  for (int i = 0; i < 5; ++i) block.Put("k/" + std::to_string(i), "v");
  StateOverlay tx(&block);
  tx.Put("k/9", "new");
  EXPECT_EQ(ScanAll(tx, "k/").size(), 6u);  // SIZE_MAX + local writes must not wrap to 0
}

TEST(StateOverlay, MergeIntoMovesWritesAndLaterWritesWin) {
  EmptyState base;
  StateOverlay block(&base);
  block.Put("x", "1");
  StateOverlay tx(&block);
  tx.Put("x", "2");
  tx.Delete("y");
  tx.MergeInto(&block);
  EXPECT_EQ(block.Get("x")->value_or(""), "2");
  EXPECT_EQ(block.writes().size(), 2u);
  EXPECT_TRUE(tx.writes().empty());
}

}  // namespace
}  // namespace tds::ledger
