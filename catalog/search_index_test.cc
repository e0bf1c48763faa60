#include "catalog/search_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"

namespace tds::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Writes = std::map<std::string, std::optional<std::string>, std::less<>>;

tds::Product Make(const std::string& id, const std::string& provider, const std::string& title,
                  uint32_t level = 2, std::vector<std::string> ops = {"psi", "stats"},
                  std::vector<std::string> tags = {}, uint32_t version = 1) {
  tds::Product p;
  p.set_id(id);
  p.set_version(version);
  p.set_provider(provider);
  p.set_title(title);
  p.set_level(level);
  for (auto& o : ops) p.add_operations(o);
  for (auto& t : tags) p.add_tags(t);
  return p;
}

tds::ProductHead HeadOf(const tds::Product& p, bool retired = false) {
  tds::ProductHead h;
  h.set_id(p.id());
  h.set_provider(p.provider());
  h.set_latest_version(p.version());
  h.set_retired(retired);
  return h;
}

void Put(Writes* w, const tds::Product& p, bool retired = false) {
  (*w)[ProductHeadKey(p.id())] = HeadOf(p, retired).SerializeAsString();
  (*w)[ProductVersionKey(p.id(), p.version())] = p.SerializeAsString();
}

// A StateReader over a map, for Load.
class MapState : public ledger::StateReader {
 public:
  void Apply(const Writes& w) {
    for (const auto& [k, v] : w) {
      if (v.has_value()) {
        kv_[k] = *v;
      } else {
        kv_.erase(k);
      }
    }
  }
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    auto it = kv_.find(key);
    if (it == kv_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::Status Scan(
      std::string_view prefix, std::string_view start_after, size_t limit,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    auto it = start_after.empty() ? kv_.lower_bound(prefix) : kv_.upper_bound(start_after);
    for (size_t n = 0; it != kv_.end() && n < limit; ++it, ++n) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (!fn(it->first, it->second)) break;
    }
    return absl::OkStatus();
  }
  std::map<std::string, std::string, std::less<>> kv_;
};

std::vector<std::string> Ids(const tds::SearchProductsResponse& r) {
  std::vector<std::string> ids;
  for (const auto& p : r.products()) ids.push_back(p.id());
  return ids;
}

tds::SearchProductsRequest Text(const std::string& text) {
  tds::SearchProductsRequest r;
  r.set_text(text);
  return r;
}

class SearchIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Writes w;
    Put(&w, Make("alpha", "prov", "Credit score of small businesses", 2, {"psi", "query"},
                 {"credit", "sme"}));
    Put(&w, Make("bravo", "prov", "Invoice features (monthly)", 3, {"stats", "lr_train"}, {"tax"}));
    Put(&w, Make("charlie", "prov2", "Anti-fraud blacklist", 4, {"psi"}, {"fraud"}));
    Put(&w, Make("delta", "prov2", "企业征信数据 credit registry", 3, {"enclave_sql"}, {"credit"}));
    Put(&w, Make("echo", "prov", "Old credit scores", 1, {"psi"}, {"credit"}), /*retired=*/true);
    tds::Product secret = Make("foxtrot", "prov", "Important credit data", 5, {"psi"}, {"credit"});
    secret.add_allow_list("bank");
    Put(&w, secret);
    index_.ApplyWrites(w);
    state_.Apply(w);
  }

  std::vector<std::string> Find(const tds::SearchProductsRequest& req,
                                const std::string& requester = "") {
    return Ids(index_.Search(req, requester));
  }

  SearchIndex index_;
  MapState state_;
};

TEST(TokenizeTest, LowercasesAndSplitsOnNonAlphanumerics) {
  EXPECT_THAT(Tokenize("Credit-Score2024, SME_loans!"),
              ElementsAre("credit", "score2024", "sme", "loans"));
  EXPECT_THAT(Tokenize("  "), ElementsAre());
}

TEST(TokenizeTest, CjkRunsBecomeBigramsPlusTheirLastCharacter) {
  EXPECT_THAT(Tokenize("企业征信"), ElementsAre("企业", "业征", "征信", "信"));
  EXPECT_THAT(Tokenize("税"), ElementsAre("税"));
  // Script changes and CJK punctuation separate.
  EXPECT_THAT(Tokenize("ABC征信，数据"), ElementsAre("abc", "征信", "信", "数据", "据"));
}

TEST(TokenizeTest, FoldsFullWidthAsciiAndKeepsOtherLetters) {
  EXPECT_THAT(Tokenize("ＡＢＣ１２"), ElementsAre("abc12"));
  EXPECT_THAT(Tokenize("Café crème"), ElementsAre("café", "crème"));
}

TEST(TokenizeTest, TruncatesLongWordsAndSurvivesInvalidUtf8) {
  const auto t = Tokenize(std::string(100, 'a'));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].size(), 64u);
  EXPECT_THAT(Tokenize("ab\xff\xfe"
                       "cd\xe4\xbc"),
              ElementsAre("ab", "cd"));
}

TEST_F(SearchIndexTest, WordsMustAllMatchAsPrefixes) {
  EXPECT_THAT(Find(Text("credit")), ElementsAre("alpha", "delta"));
  EXPECT_THAT(Find(Text("CRED")), ElementsAre("alpha", "delta"));
  EXPECT_THAT(Find(Text("cred small")), ElementsAre("alpha"));
  EXPECT_THAT(Find(Text("credit fraud")), ElementsAre());
  EXPECT_THAT(Find(Text("score")), ElementsAre("alpha"));  // "scores" of echo: retired
  EXPECT_THAT(Find(Text("monthly")), ElementsAre("bravo"));
  EXPECT_THAT(Find(Text("zzz")), ElementsAre());
  // Tags are searchable words too.
  EXPECT_THAT(Find(Text("sme")), ElementsAre("alpha"));
  EXPECT_THAT(Find(Text("tax")), ElementsAre("bravo"));
}

TEST_F(SearchIndexTest, ChineseWordsMatchByBigrams) {
  EXPECT_THAT(Find(Text("征信")), ElementsAre("delta"));
  EXPECT_THAT(Find(Text("企业征信")), ElementsAre("delta"));
  EXPECT_THAT(Find(Text("信")), ElementsAre("delta"));
  EXPECT_THAT(Find(Text("数据 credit")), ElementsAre("delta"));
  EXPECT_THAT(Find(Text("企征")), ElementsAre());
}

TEST_F(SearchIndexTest, FiltersNarrowTheMatches) {
  tds::SearchProductsRequest r;
  r.set_provider("prov2");
  EXPECT_THAT(Find(r), ElementsAre("charlie", "delta"));
  r.set_text("credit");
  EXPECT_THAT(Find(r), ElementsAre("delta"));
  r = tds::SearchProductsRequest();
  r.set_max_level(3);
  EXPECT_THAT(Find(r), ElementsAre("alpha", "bravo", "delta"));
  r = tds::SearchProductsRequest();
  r.set_operation("psi");
  EXPECT_THAT(Find(r), ElementsAre("alpha", "charlie"));
  r.set_operation("teleport");
  EXPECT_THAT(Find(r), ElementsAre());
  r = tds::SearchProductsRequest();
  r.set_tag("credit");
  EXPECT_THAT(Find(r), ElementsAre("alpha", "delta"));
  r.set_tag("cred");  // a tag filter is exact
  EXPECT_THAT(Find(r), ElementsAre());
  r = tds::SearchProductsRequest();
  r.set_provider("nobody");
  EXPECT_THAT(Find(r), ElementsAre());
}

TEST_F(SearchIndexTest, RetiredProductsOnlyOnRequest) {
  tds::SearchProductsRequest r = Text("old");
  EXPECT_THAT(Find(r), ElementsAre());
  r.set_include_retired(true);
  auto resp = index_.Search(r, "");
  ASSERT_EQ(resp.products_size(), 1);
  EXPECT_EQ(resp.products(0).id(), "echo");
  EXPECT_TRUE(resp.products(0).retired());
}

TEST_F(SearchIndexTest, LevelFiveIsListedOnlyToAllowListAndProvider) {
  tds::SearchProductsRequest r = Text("important");
  EXPECT_THAT(Find(r, "bank"), ElementsAre("foxtrot"));
  EXPECT_THAT(Find(r, "prov"), ElementsAre("foxtrot"));
  EXPECT_THAT(Find(r, "bank2"), ElementsAre());
  EXPECT_THAT(Find(r, ""), ElementsAre());
  r = Text("credit");
  EXPECT_EQ(index_.Search(r, "bank").total(), 3u);
  EXPECT_EQ(index_.Search(r, "").total(), 2u);
  // Auditors and validators read everything.
  EXPECT_THAT(Ids(index_.Search(Text("important"), "auditor", /*sees_everything=*/true)),
              ElementsAre("foxtrot"));
}

TEST_F(SearchIndexTest, SummariesCarryTheListingFields) {
  auto resp = index_.Search(Text("invoice"), "");
  ASSERT_EQ(resp.products_size(), 1);
  const tds::ProductSummary& s = resp.products(0);
  EXPECT_EQ(s.id(), "bravo");
  EXPECT_EQ(s.version(), 1u);
  EXPECT_EQ(s.provider(), "prov");
  EXPECT_EQ(s.title(), "Invoice features (monthly)");
  EXPECT_EQ(s.level(), 3u);
  EXPECT_THAT(s.tags(), ElementsAre("tax"));
  EXPECT_THAT(s.operations(), ElementsAre("stats", "lr_train"));
  EXPECT_FALSE(s.retired());
  EXPECT_TRUE(resp.next_cursor().empty());
  EXPECT_EQ(resp.total(), 1u);
}

TEST(SearchIndexPagingTest, CursorPagesCoverEveryMatchExactlyOnce) {
  SearchIndex index;
  Writes w;
  std::set<std::string> expected;
  for (int i = 0; i < 237; ++i) {
    // Ids inserted out of order.
    const std::string id = absl::StrCat("p", (i * 7919) % 1000 + 1000);
    Put(&w, Make(id, "prov", i % 3 ? "ledger data" : "other"));
    if (i % 3) expected.insert(id);
  }
  index.ApplyWrites(w);
  tds::SearchProductsRequest r = Text("ledger");
  r.mutable_page()->set_limit(20);
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    auto resp = index.Search(r, "");
    EXPECT_EQ(resp.total(), expected.size());
    for (const auto& p : resp.products()) seen.push_back(p.id());
    ++pages;
    if (resp.next_cursor().empty()) break;
    ASSERT_EQ(resp.products_size(), 20);
    EXPECT_EQ(resp.next_cursor(), resp.products(19).id());
    r.mutable_page()->set_cursor(resp.next_cursor());
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(seen, std::vector<std::string>(expected.begin(), expected.end()));
  EXPECT_EQ(pages, static_cast<int>((expected.size() + 19) / 20));
}

TEST(SearchIndexPagingTest, LimitDefaultsToFiftyAndIsCappedAtAThousand) {
  SearchIndex index;
  Writes w;
  for (int i = 0; i < 1200; ++i) Put(&w, Make(absl::StrCat("p", 10000 + i), "prov", "x"));
  index.ApplyWrites(w);
  tds::SearchProductsRequest r;
  EXPECT_EQ(index.Search(r, "").products_size(), 50);
  r.mutable_page()->set_limit(5000);
  auto resp = index.Search(r, "");
  EXPECT_EQ(resp.products_size(), 1000);
  EXPECT_EQ(resp.total(), 1200u);
  EXPECT_EQ(resp.next_cursor(), "p10999");
  // A cursor between ids starts after it.
  r.mutable_page()->set_cursor("p10999a");
  EXPECT_EQ(index.Search(r, "").products(0).id(), "p11000");
}

TEST(SearchIndexApplyTest, AHeadAndItsVersionMayArriveInEitherOrder) {
  SearchIndex index;
  tds::Product p = Make("late", "prov", "late arrival");
  Writes version_only;
  version_only[ProductVersionKey("late", 1)] = p.SerializeAsString();
  index.ApplyWrites(version_only);
  EXPECT_EQ(index.size(), 0u);
  Writes head_only;
  head_only[ProductHeadKey("late")] = HeadOf(p).SerializeAsString();
  index.ApplyWrites(head_only);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_THAT(Ids(index.Search(Text("arrival"), "")), ElementsAre("late"));

  SearchIndex other;
  other.ApplyWrites(head_only);
  EXPECT_EQ(other.size(), 0u);
  other.ApplyWrites(version_only);
  EXPECT_THAT(Ids(other.Search(Text("arrival"), "")), ElementsAre("late"));
}

TEST(SearchIndexApplyTest, AnUpdateReplacesTheOldWordsAndIgnoresOlderVersions) {
  SearchIndex index;
  Writes w;
  Put(&w, Make("prod", "prov", "payment flows", 2, {"psi"}, {"pay"}));
  index.ApplyWrites(w);
  w.clear();
  Put(&w, Make("prod", "prov", "invoice features", 3, {"stats"}, {"tax"}, 2));
  index.ApplyWrites(w);
  EXPECT_THAT(Ids(index.Search(Text("payment"), "")), ElementsAre());
  tds::SearchProductsRequest r;
  r.set_tag("pay");
  EXPECT_THAT(Ids(index.Search(r, "")), ElementsAre());
  auto resp = index.Search(Text("invoice"), "");
  ASSERT_EQ(resp.products_size(), 1);
  EXPECT_EQ(resp.products(0).version(), 2u);
  // A stale version record (e.g. replayed) does not roll the description back.
  w.clear();
  w[ProductVersionKey("prod", 1)] =
      Make("prod", "prov", "payment flows", 2, {"psi"}, {"pay"}).SerializeAsString();
  index.ApplyWrites(w);
  EXPECT_THAT(Ids(index.Search(Text("invoice"), "")), ElementsAre("prod"));
  EXPECT_EQ(index.size(), 1u);
}

TEST(SearchIndexApplyTest, IgnoresForeignKeysAndUndecodableValues) {
  SearchIndex index;
  Writes w;
  w["member/bank"] = "whatever";
  w[ProductHeadKey("junk")] = "\xff\xff";
  w[ProductVersionKey("junk", 1)] = "\xff\xff";
  w["catalog/cost/x/2024-01/12345678"] = "";
  index.ApplyWrites(w);
  EXPECT_EQ(index.size(), 0u);
}

TEST_F(SearchIndexTest, LoadFromStateEqualsTheIndexBuiltFromWrites) {
  // A second block: an update, a retirement, a new product.
  Writes w;
  Put(&w, Make("alpha", "prov", "Credit score v2", 2, {"psi"}, {"credit"}, 2));
  Put(&w, Make("charlie", "prov2", "Anti-fraud blacklist", 4, {"psi"}, {"fraud"}), true);
  Put(&w, Make("golf", "prov2", "Utility payments", 1, {"query"}, {"utility"}));
  index_.ApplyWrites(w);
  state_.Apply(w);
  SearchIndex loaded;
  ASSERT_TRUE(loaded.Load(state_).ok());
  EXPECT_EQ(loaded.size(), index_.size());
  std::vector<tds::SearchProductsRequest> reqs = {Text(""), Text("credit"), Text("v2 score"),
                                                  Text("征信")};
  reqs.emplace_back().set_include_retired(true);
  reqs.emplace_back().set_provider("prov2");
  reqs.emplace_back().mutable_page()->set_limit(2);
  for (const auto& r : reqs) {
    for (const char* who : {"", "bank", "prov"}) {
      EXPECT_EQ(loaded.Search(r, who).SerializeAsString(),
                index_.Search(r, who).SerializeAsString())
          << r.ShortDebugString() << " as '" << who << "'";
    }
  }
}

TEST(SearchIndexLoadTest, CorruptStateIsReportedAndLeavesTheIndexAsItWas) {
  MapState state;
  Writes w;
  Put(&w, Make("ok", "prov", "fine"));
  state.Apply(w);
  SearchIndex index;
  ASSERT_TRUE(index.Load(state).ok());
  EXPECT_EQ(index.size(), 1u);
  state.kv_[ProductHeadKey("bad")] = "\xff\xff";
  absl::Status s = index.Load(state);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("catalog/product/bad"));
  EXPECT_EQ(index.size(), 1u);
  // A head whose version record is missing.
  state.kv_.erase(ProductHeadKey("bad"));
  state.kv_[ProductHeadKey("gone")] = HeadOf(Make("gone", "prov", "x")).SerializeAsString();
  s = index.Load(state);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("product 'gone' has no version 1"));
}

TEST(SearchIndexConcurrencyTest, SearchesRunWhileBlocksApply) {
  SearchIndex index;
  std::atomic<bool> done{false};
  std::atomic<int> searches{0};
  auto reader = [&] {
    tds::SearchProductsRequest r = Text("block");
    r.mutable_page()->set_limit(1000);
    while (!done.load()) {
      auto resp = index.Search(r, "");
      EXPECT_GE(resp.total(), static_cast<uint64_t>(resp.products_size()));
      for (int i = 1; i < resp.products_size(); ++i) {
        EXPECT_LT(resp.products(i - 1).id(), resp.products(i).id());
      }
      ++searches;
    }
  };
  std::thread r1(reader), r2(reader);
  while (searches.load() < 2) std::this_thread::yield();  // both readers are running
  for (int b = 0; b < 50; ++b) {
    Writes w;
    for (int i = 0; i < 20; ++i) {
      Put(&w, Make(absl::StrCat("p", 1000 + (b * 20 + i) * 7 % 1000), "prov", "block data"));
    }
    index.ApplyWrites(w);
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(index.size(), 1000u);
  EXPECT_EQ(index.Search(Text("block"), "").total(), 1000u);
}

TEST(SearchValidationTest, RefusesOversizedQueries) {
  tds::SearchProductsRequest r;
  EXPECT_TRUE(ValidateSearchRequest(r).ok());
  r.set_text(std::string(1025, 'a'));
  EXPECT_THAT(std::string(ValidateSearchRequest(r).message()),
              HasSubstr("text: 1025 bytes; at most 1024"));
  std::string many;
  for (int i = 0; i < 33; ++i) many += "w ";
  r.set_text(many);
  EXPECT_THAT(std::string(ValidateSearchRequest(r).message()),
              HasSubstr("text: 33 words; at most 32"));
  r.clear_text();
  r.set_max_level(6);
  EXPECT_THAT(std::string(ValidateSearchRequest(r).message()), HasSubstr("max_level 6"));
}

}  // namespace
}  // namespace tds::catalog
