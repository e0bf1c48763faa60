#pragma once
// An in-memory search index over the latest version of every catalogued product, built from a
// node's replicated state and kept current from committed blocks' state writes. It is a view,
// not state: nothing here is replicated or hashed, and every node can rebuild it with Load.
//
// Wiring (node): Ledger::Observe(init = Load, on_commit = ApplyWrites) — Observe guarantees no
// block commits between the two, so the index misses nothing.
//
// Tokens. Text (title, description, tags; the query alike) is cut into tokens:
//   - runs of ASCII letters and digits, lowercased ("Credit-Score2024" → "credit", "score2024");
//   - runs of CJK characters (Han, kana, Hangul) as overlapping bigrams plus the run's last
//     character alone ("企业征信" → "企业", "业征", "征信", "信"), so that any single character
//     and any two adjacent characters of a run are the prefix of some token;
//   - runs of other non-ASCII letters (é, ж ...) as words, not case-folded;
//   - everything else (ASCII punctuation and spaces, CJK and full-width punctuation) separates.
// A product matches a query when EVERY query token is a prefix of some token of the product
// (AND; "cred scor" matches "credit score"; "征信" matches "企业征信数据"). A multi-character
// CJK query matches products holding all its bigrams, not necessarily adjacent (the usual
// bigram approximation of substring search).
//
// Filters: provider (exact), max_level (0 = any), operation (one the product allows), tag
// (exact tag), include_retired (retired products are excluded by default). Level-5 products
// are returned only when VisibleTo(product, requester) holds; "" is the anonymous requester.
// Results are ordered by product id; the cursor is the last id returned, the next page starts
// after it. `total` counts every visible match, before pagination.
//
// Thread-safety: all methods may be called concurrently; searches share a lock, Load and
// ApplyWrites take it exclusively (Load builds the new index before taking it).

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ledger/application.h"
#include "proto/query_service.pb.h"

namespace tds::catalog {

inline constexpr uint32_t kDefaultPageLimit = 50;
inline constexpr uint32_t kMaxPageLimit = 1000;
// A query's text: at most this many bytes and tokens (ValidateSearchRequest refuses more; Search
// itself ignores tokens past kMaxQueryTokens).
inline constexpr size_t kMaxQueryBytes = 1024;
inline constexpr size_t kMaxQueryTokens = 32;

// The tokens of `text` (see above), in order of appearance, duplicates kept.
std::vector<std::string> Tokenize(std::string_view text);

// Refuses what a search should not take from an untrusted caller: text over kMaxQueryBytes or
// kMaxQueryTokens, a limit over kMaxPageLimit, max_level over 5. InvalidArgument naming the field.
absl::Status ValidateSearchRequest(const tds::SearchProductsRequest& req);

class SearchIndex {
 public:
  SearchIndex();
  ~SearchIndex();
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // Replaces the index with one built from the catalog in `state` (every product head and its
  // latest version). DataLoss if a record is corrupt; the index is then left unchanged.
  absl::Status Load(const ledger::StateReader& state);

  // Applies one committed block's state writes (key order; nullopt = deleted). Keys outside
  // the catalog are ignored. A product is indexed once both its head and a version are known,
  // whichever comes first; it is described by the highest version seen. Undecodable values are
  // skipped (Load would report them).
  void ApplyWrites(const std::map<std::string, std::optional<std::string>, std::less<>>& writes);

  // Never fails: limit 0 → kDefaultPageLimit, over kMaxPageLimit → kMaxPageLimit.
  // Level-5 products are listed only if VisibleTo(product, requester), unless
  // `sees_everything` (auditors and validators, who read the whole replicated state).
  tds::SearchProductsResponse Search(const tds::SearchProductsRequest& req,
                                     std::string_view requester,
                                     bool sees_everything = false) const;

  // Products indexed (retired included).
  size_t size() const;

 private:
  struct Impl;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Impl> impl_;  // GUARDED_BY(mu_)
};

}  // namespace tds::catalog
