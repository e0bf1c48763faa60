// FindUsageRecords (node/usage_listing.h) against its definition: the records of a full scan
// that match the filter, in log order, split into pages that concatenate to exactly that list
// whatever the page size and the seek budget.

#include "node/usage_listing.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "contracts/contract_state.h"
#include "gtest/gtest.h"

namespace tds::node {
namespace {

// State in a sorted map: seeks in O(log n), as LevelDB's.
class MapState : public ledger::StateWriter {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  absl::Status Scan(
      std::string_view prefix, std::string_view start_after, size_t limit,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    auto it = start_after.empty() ? map_.lower_bound(prefix) : map_.upper_bound(start_after);
    for (size_t n = 0; n < limit && it != map_.end() && it->first.starts_with(prefix); ++it, ++n) {
      if (!fn(it->first, it->second)) break;
    }
    return absl::OkStatus();
  }
  void Put(std::string_view key, std::string_view value) override {
    map_.insert_or_assign(std::string(key), std::string(value));
  }
  void Delete(std::string_view key) override { map_.erase(std::string(key)); }

 private:
  std::map<std::string, std::string, std::less<>> map_;
};

const std::vector<std::string> kProviders = {"zj", "sh", "bj"};
const std::vector<std::string> kConsumers = {"bank", "insurer", "zj"};
const std::vector<std::string> kProducts = {"p-1", "p-2", "p-3", "p-4"};
// "a" and "a/b": one list must not be a prefix of the other's.
const std::vector<std::string> kPurposes = {"credit_risk", "a", "a/b", "marketing"};
const std::vector<std::string> kOperations = {"psi", "stats", "sql"};
const std::vector<std::string> kTerms = {"purpose", "calls_total", "metering"};

class UsageListingTest : public ::testing::Test {
 protected:
  // `n` records at increasing log indexes with gaps, block times never going back (often
  // equal, as in one block).
  void Seed(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    auto pick = [&rng](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    uint64_t index = 3;
    int64_t time = 1'700'000'000'000;
    for (int i = 0; i < n; ++i) {
      index += 1 + rng() % 3;
      if (rng() % 2 == 0) time += 1 + rng() % 1000;
      tds::UsageRecordState r;
      r.set_index(index);
      r.set_product_id(pick(kProducts));
      r.set_provider(pick(kProviders));
      r.set_consumer(pick(kConsumers));
      r.set_contract_id("c-" + r.provider() + "-" + r.consumer() + "-" + r.product_id());
      r.set_purpose(pick(kPurposes));
      r.set_operation(pick(kOperations));
      r.set_block_time_ms(time);
      r.set_period("2023-11");
      if (rng() % 5 == 0) {
        const int k = 1 + static_cast<int>(rng() % 2);
        for (int j = 0; j < k; ++j) r.add_violations()->set_term(pick(kTerms));
      }
      contracts::WriteUsageRecord(state_, r);
      records_.push_back(r);
    }
  }

  static bool Matches(const UsageFilter& f, const tds::UsageRecordState& r) {
    if (!f.contract_id.empty() && r.contract_id() != f.contract_id) return false;
    if (!f.product_id.empty() && r.product_id() != f.product_id) return false;
    if (!f.provider.empty() && r.provider() != f.provider) return false;
    if (!f.consumer.empty() && r.consumer() != f.consumer) return false;
    if (!f.purpose.empty() && r.purpose() != f.purpose) return false;
    if (!f.operation.empty() && r.operation() != f.operation) return false;
    if (f.from_ms != 0 && r.block_time_ms() < f.from_ms) return false;
    if (f.to_ms != 0 && r.block_time_ms() >= f.to_ms) return false;
    if (f.violations_only && r.violations_size() == 0) return false;
    if (!f.violated_term.empty()) {
      bool broke = false;
      for (const tds::Violation& v : r.violations()) broke |= v.term() == f.violated_term;
      if (!broke) return false;
    }
    return true;
  }

  std::vector<uint64_t> FullScan(const UsageFilter& f) const {
    std::vector<uint64_t> out;
    for (const tds::UsageRecordState& r : records_) {
      if (Matches(f, r)) out.push_back(r.index());
    }
    return out;
  }

  // Every page, concatenated; fails the test on an error or a page over the limit.
  std::vector<uint64_t> Paged(const UsageFilter& f, size_t limit, size_t budget) const {
    std::vector<uint64_t> out;
    uint64_t start = 0;
    for (int pages = 0; pages < 100000; ++pages) {
      absl::StatusOr<UsagePage> page = FindUsageRecords(state_, f, start, limit, budget, nullptr);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return out;
      EXPECT_LE(page->records.size(), limit);
      for (const tds::UsageRecordState& r : page->records) out.push_back(r.index());
      if (!page->resume_at.has_value()) return out;
      EXPECT_GE(*page->resume_at, start);
      if (*page->resume_at < start) return out;
      start = *page->resume_at;
    }
    ADD_FAILURE() << "paging did not end";
    return out;
  }

  MapState state_;
  std::vector<tds::UsageRecordState> records_;
};

TEST_F(UsageListingTest, EachFilterReturnsExactlyTheMatchingRecordsAcrossPages) {
  Seed(1500, 1);
  std::vector<UsageFilter> filters;
  filters.push_back({});
  for (const std::string& v : kProviders) filters.push_back({.provider = v});
  for (const std::string& v : kConsumers) filters.push_back({.consumer = v});
  for (const std::string& v : kProducts) filters.push_back({.product_id = v});
  for (const std::string& v : kPurposes) filters.push_back({.purpose = v});
  for (const std::string& v : kOperations) filters.push_back({.operation = v});
  for (const std::string& v : kTerms) filters.push_back({.violated_term = v});
  filters.push_back({.contract_id = records_[7].contract_id()});
  filters.push_back({.violations_only = true});
  filters.push_back({.purpose = "nobody's purpose"});
  for (const UsageFilter& f : filters) {
    const std::vector<uint64_t> want = FullScan(f);
    EXPECT_EQ(Paged(f, 7, 1000000), want)
        << f.provider << f.consumer << f.product_id << f.purpose << f.operation << f.violated_term;
    if (f.purpose.empty() || f.purpose == "a" || f.purpose == "a/b") {
      EXPECT_EQ(Paged(f, 1000, 1000000), want);
    }
  }
  // The lists are not empty by accident.
  EXPECT_GT(FullScan({.purpose = "a"}).size(), 100u);
  EXPECT_GT(FullScan({.violated_term = "metering"}).size(), 20u);
}

TEST_F(UsageListingTest, CombinedFiltersAndTimeRangesAgreeWithAFullScanOnRandomData) {
  Seed(3000, 2);
  std::mt19937 rng(99);
  int nonempty = 0;
  for (int q = 0; q < 300; ++q) {
    // Values from a random record (a drill-down) or anywhere (possibly no match).
    const tds::UsageRecordState& r = records_[rng() % records_.size()];
    const bool own = rng() % 3 != 0;
    auto maybe = [&](const std::string& value, const std::vector<std::string>& domain) {
      if (rng() % 3 != 0) return std::string();
      return own ? value : domain[rng() % domain.size()];
    };
    UsageFilter f;
    f.provider = maybe(r.provider(), kProviders);
    f.consumer = maybe(r.consumer(), kConsumers);
    f.product_id = maybe(r.product_id(), kProducts);
    f.purpose = maybe(r.purpose(), kPurposes);
    f.operation = maybe(r.operation(), kOperations);
    if (rng() % 6 == 0) f.contract_id = r.contract_id();
    if (rng() % 5 == 0) f.violations_only = true;
    if (rng() % 6 == 0) f.violated_term = kTerms[rng() % kTerms.size()];
    if (rng() % 2 == 0) {
      const int64_t a = records_[rng() % records_.size()].block_time_ms();
      const int64_t b = records_[rng() % records_.size()].block_time_ms();
      if (rng() % 4 != 0) f.from_ms = std::min(a, b);
      if (rng() % 4 != 0 && std::max(a, b) > f.from_ms) f.to_ms = std::max(a, b);
    }
    const std::vector<uint64_t> want = FullScan(f);
    nonempty += want.empty() ? 0 : 1;
    const size_t limit = 1 + rng() % 40;
    EXPECT_EQ(Paged(f, limit, 1000000), want) << "query " << q;
    // A tiny budget: many short or empty pages, the same records in the end.
    EXPECT_EQ(Paged(f, limit, 3 + rng() % 10), want) << "query " << q << " (small budget)";
  }
  EXPECT_GT(nonempty, 150);
}

TEST_F(UsageListingTest, TimeBoundsAreLogIndexes) {
  Seed(200, 3);
  auto first_at = [&](int64_t t) {
    absl::StatusOr<uint64_t> i = FirstUsageIndexAtOrAfter(state_, t);
    EXPECT_TRUE(i.ok()) << i.status();
    return i.value_or(0);
  };
  // Every record below the bound is earlier, every one at or after it is not.
  auto bound_splits = [&](int64_t t) {
    const uint64_t bound = first_at(t);
    for (const tds::UsageRecordState& r : records_) {
      EXPECT_EQ(r.index() < bound, r.block_time_ms() < t)
          << "t=" << t << " bound=" << bound << " record " << r.index();
    }
  };
  bound_splits(0);
  EXPECT_LE(first_at(0), records_.front().index());
  EXPECT_EQ(first_at(records_.back().block_time_ms() + 1), records_.back().index() + 1);
  for (const tds::UsageRecordState& r : records_) {
    bound_splits(r.block_time_ms());
    bound_splits(r.block_time_ms() + 1);
  }
  MapState none;
  absl::StatusOr<uint64_t> nothing = FirstUsageIndexAtOrAfter(none, 5);
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(*nothing, 0u);
}

TEST_F(UsageListingTest, ARecordBreakingATermTwiceIsListedOnce) {
  tds::UsageRecordState r;
  r.set_index(10);
  r.set_provider("zj");
  r.add_violations()->set_term("calls_day");
  r.add_violations()->set_term("calls_day");
  contracts::WriteUsageRecord(state_, r);
  absl::StatusOr<UsagePage> page =
      FindUsageRecords(state_, {.violated_term = "calls_day"}, 0, 10, 100, nullptr);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_FALSE(page->resume_at.has_value());
}

TEST_F(UsageListingTest, AnIndexEntryWithoutItsRecordOrACorruptRecordIsDataLoss) {
  std::string dangling = contracts::UsageIndexPrefix(contracts::UsageField::kProvider, "zj");
  PutFixed64BE(&dangling, 42);
  state_.Put(dangling, "");
  absl::StatusOr<UsagePage> page =
      FindUsageRecords(state_, {.provider = "zj"}, 0, 10, 100, nullptr);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(page.status().message().find("index entry for usage record 42 has no record"),
            std::string::npos)
      << page.status();

  state_.Put(contracts::UsageRecordKey(42), "\xff\xff not a record");
  page = FindUsageRecords(state_, {}, 0, 10, 100, nullptr);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(page.status().message().find("usage record at index 42 is corrupt"), std::string::npos)
      << page.status();
}

}  // namespace
}  // namespace tds::node
