#include "catalog/search_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <queue>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "common/strings.h"

namespace tds::catalog {
namespace {

// ---------------------------------------------------------------------------------------------
// Tokenizer.
// ---------------------------------------------------------------------------------------------

constexpr size_t kMaxTokenBytes = 64;

enum class CharClass { kSeparator, kWord, kCjk };

// Decodes the UTF-8 code point at s[*i] and advances *i; invalid bytes decode as U+FFFD and
// advance by one (they then separate words).
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  auto cont = [&](size_t k) -> int {
    if (*i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[*i + k]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  if (b0 < 0x80) {
    *i += 1;
    return b0;
  }
  int len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    *i += 1;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const int c = cont(k);
    if (c < 0) {
      *i += 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | static_cast<uint32_t>(c);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *i += 1;
    return 0xFFFD;
  }
  *i += len;
  return cp;
}

bool IsCjk(uint32_t cp) {
  return (cp >= 0x3040 && cp <= 0x30FF) ||  // hiragana, katakana
         (cp >= 0x31F0 && cp <= 0x31FF) ||  // katakana extensions
         (cp >= 0x3400 && cp <= 0x4DBF) ||  // CJK extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||  // CJK unified ideographs
         (cp >= 0xAC00 && cp <= 0xD7AF) ||  // Hangul syllables
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // CJK compatibility ideographs
         (cp >= 0x20000 && cp <= 0x2FA1F);  // CJK extensions B.. and supplement
}

// Non-ASCII code points that separate words: Latin-1 punctuation and symbols, general
// punctuation, CJK symbols and punctuation, full-width punctuation, specials.
bool IsNonAsciiSeparator(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) ||
         (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
         (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
         (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
         (cp >= 0xFFF0 && cp <= 0xFFFF);
}

// Full-width ASCII letters and digits fold to ASCII; ASCII letters to lowercase.
uint32_t Fold(uint32_t cp) {
  if ((cp >= 0xFF10 && cp <= 0xFF19) || (cp >= 0xFF21 && cp <= 0xFF3A) ||
      (cp >= 0xFF41 && cp <= 0xFF5A)) {
    cp -= 0xFEE0;
  }
  if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
  return cp;
}

CharClass Classify(uint32_t cp) {
  if (cp < 0x80) {
    const bool alnum = (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9');
    return alnum ? CharClass::kWord : CharClass::kSeparator;
  }
  if (IsCjk(cp)) return CharClass::kCjk;
  if (IsNonAsciiSeparator(cp)) return CharClass::kSeparator;
  return CharClass::kWord;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// ---------------------------------------------------------------------------------------------
// Index helpers.
// ---------------------------------------------------------------------------------------------

using DocId = uint32_t;
using Postings = std::vector<DocId>;  // sorted, unique

// Append only: a bit's position is its meaning.
constexpr std::string_view kOps[] = {"psi",      "stats",       "query",      "lr_train",
                                     "lr_score", "enclave_sql", "joint_stats"};

uint32_t OpBit(std::string_view op) {
  for (size_t i = 0; i < std::size(kOps); ++i) {
    if (kOps[i] == op) return 1u << i;
  }
  return 0;
}

void AddPosting(Postings* p, DocId doc) {
  auto it = std::lower_bound(p->begin(), p->end(), doc);
  if (it == p->end() || *it != doc) p->insert(it, doc);
}

// Removes `doc` from map[key], dropping the entry when it empties.
void RemovePosting(std::map<std::string, Postings, std::less<>>* map, std::string_view key,
                   DocId doc) {
  auto m = map->find(key);
  if (m == map->end()) return;
  auto it = std::lower_bound(m->second.begin(), m->second.end(), doc);
  if (it != m->second.end() && *it == doc) m->second.erase(it);
  if (m->second.empty()) map->erase(m);
}

// The searchable description: the product without its schema, offer and measurements.
tds::Product Strip(tds::Product p) {
  p.clear_schema();
  p.clear_offer();
  p.clear_enclave_measurements();
  return p;
}

std::vector<std::string> DocTokens(const tds::Product& p) {
  std::vector<std::string> tokens = Tokenize(p.title());
  for (std::string& t : Tokenize(p.description())) tokens.push_back(std::move(t));
  for (const std::string& tag : p.tags()) {
    for (std::string& t : Tokenize(tag)) tokens.push_back(std::move(t));
  }
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  return tokens;
}

// Parses "catalog/version/<id>/<be32 version>"; false if the key has another shape.
bool ParseVersionKey(std::string_view key, std::string_view* id) {
  if (!StartsWith(key, kVersionPrefix)) return false;
  if (key.size() < kVersionPrefix.size() + 1 + 1 + 4) return false;
  if (key[key.size() - 5] != '/') return false;
  *id = key.substr(kVersionPrefix.size(), key.size() - kVersionPrefix.size() - 5);
  return id->find('/') == std::string_view::npos;
}

}  // namespace

std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  std::vector<std::string> cjk;  // the current CJK run, one string per character
  auto flush_word = [&] {
    if (!word.empty()) out.push_back(std::move(word));
    word.clear();
  };
  auto flush_cjk = [&] {
    for (size_t i = 0; i + 1 < cjk.size(); ++i) out.push_back(cjk[i] + cjk[i + 1]);
    if (!cjk.empty()) out.push_back(cjk.back());
    cjk.clear();
  };
  size_t i = 0;
  while (i < text.size()) {
    const uint32_t cp = Fold(NextCodePoint(text, &i));
    switch (Classify(cp)) {
      case CharClass::kSeparator:
        flush_word();
        flush_cjk();
        break;
      case CharClass::kWord: {
        flush_cjk();
        std::string enc;
        AppendUtf8(&enc, cp);
        if (word.size() + enc.size() <= kMaxTokenBytes) word += enc;  // longer words truncated
        break;
      }
      case CharClass::kCjk: {
        flush_word();
        std::string enc;
        AppendUtf8(&enc, cp);
        cjk.push_back(std::move(enc));
        break;
      }
    }
  }
  flush_word();
  flush_cjk();
  return out;
}

absl::Status ValidateSearchRequest(const tds::SearchProductsRequest& req) {
  if (req.text().size() > kMaxQueryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("text: ", req.text().size(), " bytes; at most ", kMaxQueryBytes));
  }
  const size_t n = Tokenize(req.text()).size();
  if (n > kMaxQueryTokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("text: ", n, " words; at most ", kMaxQueryTokens));
  }
  if (req.max_level() > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_level ", req.max_level(), " must be 0 (any) or 1..5"));
  }
  if (req.page().cursor().size() > 128) {
    return absl::InvalidArgumentError("page.cursor is not a product id (over 128 bytes)");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The index proper. Documents are numbered in order of first sight and never renumbered. The
// posting lists (token → docs, provider → docs, tag → docs) hold document numbers, sorted.
// Each document also has a rank: its position in product-id order, recomputed after a batch
// that adds ids, so the search loop orders results by comparing integers, not strings.
// ---------------------------------------------------------------------------------------------

struct SearchIndex::Impl {
  using PostingMap = std::map<std::string, Postings, std::less<>>;

  struct Doc {
    std::optional<tds::ProductHead> head;
    std::optional<tds::Product> product;  // stripped, highest version seen
  };
  // What the search loop reads for every candidate, packed.
  struct Hot {
    uint32_t rank = 0;
    uint8_t level = 0;
    uint8_t op_mask = 0;
    bool indexed = false;  // head and product both known; the postings hold the doc
    bool retired = false;
  };

  std::vector<Doc> docs;
  std::vector<Hot> hot;
  std::map<std::string, DocId, std::less<>> by_id;
  std::vector<const std::string*> ids_in_order;  // by rank; points at by_id's keys
  bool ranks_dirty = false;
  PostingMap tokens;
  PostingMap by_provider;
  PostingMap by_tag;
  // Level-5 documents by the members they are visible to. Only the provider and the
  // allow-list can see a level-5 product (catalog_state.h); VisibleTo decides for each of them,
  // so the search loop tests visibility without touching the product.
  PostingMap level5_visible;
  size_t indexed = 0;

  // The members VisibleTo may admit for a level-5 product.
  static std::vector<std::string> Level5Audience(const tds::Product& p) {
    std::vector<std::string> out;
    if (p.level() < 5) return out;
    std::vector<std::string> names(p.allow_list().begin(), p.allow_list().end());
    names.push_back(p.provider());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (std::string& m : names) {
      if (VisibleTo(p, m)) out.push_back(std::move(m));
    }
    return out;
  }

  DocId DocFor(std::string_view id) {
    auto it = by_id.find(id);
    if (it != by_id.end()) return it->second;
    const auto doc = static_cast<DocId>(docs.size());
    docs.emplace_back();
    hot.emplace_back();
    by_id.emplace(std::string(id), doc);
    ranks_dirty = true;
    return doc;
  }

  void Rerank() {
    if (!ranks_dirty) return;
    ids_in_order.clear();
    ids_in_order.reserve(by_id.size());
    for (const auto& [id, d] : by_id) {
      hot[d].rank = static_cast<uint32_t>(ids_in_order.size());
      ids_in_order.push_back(&id);
    }
    ranks_dirty = false;
  }

  // The rank of the first id after `cursor`.
  uint32_t RankAfter(std::string_view cursor) const {
    auto it = std::upper_bound(ids_in_order.begin(), ids_in_order.end(), cursor,
                               [](std::string_view c, const std::string* id) { return c < *id; });
    return static_cast<uint32_t>(it - ids_in_order.begin());
  }

  void Unindex(DocId d) {
    if (!hot[d].indexed) return;
    const tds::Product& p = *docs[d].product;
    for (const std::string& t : DocTokens(p)) RemovePosting(&tokens, t, d);
    RemovePosting(&by_provider, p.provider(), d);
    for (const std::string& tag : p.tags()) RemovePosting(&by_tag, tag, d);
    for (const std::string& m : Level5Audience(p)) RemovePosting(&level5_visible, m, d);
    hot[d].indexed = false;
    --indexed;
  }

  void Index(DocId d) {
    const Doc& doc = docs[d];
    if (!doc.head.has_value() || !doc.product.has_value()) return;
    const tds::Product& p = *doc.product;
    for (const std::string& t : DocTokens(p)) AddPosting(&tokens[t], d);
    AddPosting(&by_provider[p.provider()], d);
    for (const std::string& tag : p.tags()) AddPosting(&by_tag[tag], d);
    for (const std::string& m : Level5Audience(p)) AddPosting(&level5_visible[m], d);
    Hot& h = hot[d];
    h.level = static_cast<uint8_t>(std::min<uint32_t>(p.level(), 255));
    h.op_mask = 0;
    for (const std::string& op : p.operations()) h.op_mask |= OpBit(op);
    h.retired = doc.head->retired();
    h.indexed = true;
    ++indexed;
  }

  // Applies what one block (or Load) says about product `id`.
  void Update(std::string_view id, const std::optional<tds::ProductHead>& head, bool head_deleted,
              std::optional<tds::Product> product) {
    const DocId d = DocFor(id);
    Doc& doc = docs[d];
    const bool newer = product.has_value() &&
                       (!doc.product.has_value() || product->version() > doc.product->version());
    if (head_deleted) {
      Unindex(d);
      doc = Doc();
      return;
    }
    if (!newer) {  // the head alone: flags change, postings do not
      if (head.has_value()) doc.head = head;
      if (hot[d].indexed) {
        hot[d].retired = doc.head->retired();
      } else {
        Index(d);
      }
      return;
    }
    Unindex(d);
    if (head.has_value()) doc.head = head;
    doc.product = Strip(*std::move(product));
    Index(d);
  }

  // A candidate source: the union of the posting lists in [begin, end) — for a query token,
  // every indexed token it is a prefix of; for a provider or tag filter, one exact entry.
  struct Source {
    PostingMap::const_iterator begin, end;
    size_t estimate = 0;  // sum of posting sizes (an upper bound of the union's size)
    size_t lists = 0;
  };

  Source PrefixSource(const std::string& token) const {
    Source s;
    s.begin = s.end = tokens.lower_bound(token);
    while (s.end != tokens.end() && StartsWith(s.end->first, token)) {
      s.estimate += s.end->second.size();
      ++s.lists;
      ++s.end;
    }
    return s;
  }

  static Source ExactSource(const PostingMap& map, std::string_view key) {
    Source s;
    s.begin = s.end = map.find(key);
    if (s.begin != map.end()) {
      s.estimate = s.begin->second.size();
      s.lists = 1;
      ++s.end;
    }
    return s;
  }

  // The union of a source's postings, sorted.
  Postings Materialize(const Source& s) const {
    if (s.lists == 1) return s.begin->second;
    if (s.estimate * 8 < docs.size()) {
      Postings out;
      out.reserve(s.estimate);
      for (auto it = s.begin; it != s.end; ++it) {
        out.insert(out.end(), it->second.begin(), it->second.end());
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }
    std::vector<bool> bits(docs.size());
    for (auto it = s.begin; it != s.end; ++it) {
      for (DocId d : it->second) bits[d] = true;
    }
    Postings out;
    for (DocId d = 0; d < bits.size(); ++d) {
      if (bits[d]) out.push_back(d);
    }
    return out;
  }

  // Keeps the candidates that are in `s`.
  void Filter(const Source& s, Postings* cand) const {
    // Probing each candidate in each list costs about |cand| * lists * log(list); marking the
    // source's postings in a bitmap costs its estimate.
    const double avg = static_cast<double>(s.estimate) / static_cast<double>(s.lists);
    const double probe = static_cast<double>(cand->size()) * static_cast<double>(s.lists) *
                         (std::log2(avg + 1.0) + 1.0);
    if (probe <= static_cast<double>(s.estimate)) {
      std::erase_if(*cand, [&](DocId d) {
        for (auto it = s.begin; it != s.end; ++it) {
          if (std::binary_search(it->second.begin(), it->second.end(), d)) return false;
        }
        return true;
      });
      return;
    }
    std::vector<bool> bits(docs.size());
    for (auto it = s.begin; it != s.end; ++it) {
      for (DocId d : it->second) bits[d] = true;
    }
    std::erase_if(*cand, [&](DocId d) { return !bits[d]; });
  }
};

SearchIndex::SearchIndex() : impl_(std::make_unique<Impl>()) {}
SearchIndex::~SearchIndex() = default;

absl::Status SearchIndex::Load(const ledger::StateReader& state) {
  std::vector<tds::ProductHead> heads;
  absl::Status corrupt;
  absl::Status s =
      state.Scan(kProductPrefix, "", std::numeric_limits<size_t>::max(),
                 [&](std::string_view key, std::string_view value) {
                   tds::ProductHead h;
                   if (!h.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                     corrupt = absl::DataLossError(
                         absl::StrCat("state: product head '", std::string(key), "' is corrupt"));
                     return false;
                   }
                   heads.push_back(std::move(h));
                   return true;
                 });
  if (!s.ok()) return s;
  if (!corrupt.ok()) return corrupt;
  auto fresh = std::make_unique<Impl>();
  for (const tds::ProductHead& h : heads) {
    auto p = ReadProduct(state, h.id(), h.latest_version());
    if (!p.ok()) return p.status();
    fresh->Update(h.id(), h, /*head_deleted=*/false, *std::move(p));
  }
  fresh->Rerank();
  std::unique_lock lock(mu_);
  impl_ = std::move(fresh);
  return absl::OkStatus();
}

void SearchIndex::ApplyWrites(
    const std::map<std::string, std::optional<std::string>, std::less<>>& writes) {
  // Gather per product first: in key order a block's "catalog/product/<id>" comes before its
  // "catalog/version/<id>/...", and the head needs its version.
  struct Change {
    std::optional<tds::ProductHead> head;
    bool head_deleted = false;
    std::optional<tds::Product> product;
  };
  std::map<std::string, Change, std::less<>> changes;
  for (auto it = writes.lower_bound(kProductPrefix);
       it != writes.end() && StartsWith(it->first, kProductPrefix); ++it) {
    const std::string id = it->first.substr(kProductPrefix.size());
    if (!it->second.has_value()) {
      changes[id].head_deleted = true;
      continue;
    }
    tds::ProductHead h;
    if (!h.ParseFromString(*it->second) || h.id() != id) continue;
    changes[id].head = std::move(h);
  }
  for (auto it = writes.lower_bound(kVersionPrefix);
       it != writes.end() && StartsWith(it->first, kVersionPrefix); ++it) {
    std::string_view id;
    if (!it->second.has_value() || !ParseVersionKey(it->first, &id)) continue;
    tds::Product p;
    if (!p.ParseFromString(*it->second) || p.id() != id) continue;
    Change& c = changes[std::string(id)];
    if (!c.product.has_value() || p.version() > c.product->version()) c.product = std::move(p);
  }
  if (changes.empty()) return;
  std::unique_lock lock(mu_);
  for (auto& [id, c] : changes) impl_->Update(id, c.head, c.head_deleted, std::move(c.product));
  impl_->Rerank();
}

size_t SearchIndex::size() const {
  std::shared_lock lock(mu_);
  return impl_->indexed;
}

tds::SearchProductsResponse SearchIndex::Search(const tds::SearchProductsRequest& req,
                                                std::string_view requester,
                                                bool sees_everything) const {
  tds::SearchProductsResponse resp;
  uint32_t limit = req.page().limit();
  if (limit == 0) limit = kDefaultPageLimit;
  limit = std::min(limit, kMaxPageLimit);
  uint32_t op_bit = 0;
  if (!req.operation().empty()) {
    op_bit = OpBit(req.operation());
    if (op_bit == 0) return resp;  // no product allows an unknown operation
  }

  // Query tokens: unique, and none that is a prefix of another (it is then implied).
  std::vector<std::string> words = Tokenize(req.text());
  if (words.size() > kMaxQueryTokens) words.resize(kMaxQueryTokens);
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());

  std::shared_lock lock(mu_);
  const Impl& ix = *impl_;
  std::vector<Impl::Source> sources;
  for (size_t i = 0; i < words.size(); ++i) {
    // Sorted order puts a word's extensions right after it.
    if (i + 1 < words.size() && StartsWith(words[i + 1], words[i])) continue;
    sources.push_back(ix.PrefixSource(words[i]));
  }
  if (!req.provider().empty()) sources.push_back(Impl::ExactSource(ix.by_provider, req.provider()));
  if (!req.tag().empty()) sources.push_back(Impl::ExactSource(ix.by_tag, req.tag()));
  for (const Impl::Source& s : sources) {
    if (s.estimate == 0) return resp;
  }
  // Most selective first: seed with it, then filter by the others.
  std::sort(sources.begin(), sources.end(),
            [](const Impl::Source& a, const Impl::Source& b) { return a.estimate < b.estimate; });
  Postings cand;
  if (sources.empty()) {
    cand.resize(ix.docs.size());
    for (DocId d = 0; d < cand.size(); ++d) cand[d] = d;
  } else {
    cand = ix.Materialize(sources[0]);
    for (size_t i = 1; i < sources.size() && !cand.empty(); ++i) ix.Filter(sources[i], &cand);
  }

  // Flags, visibility, then the `limit` lowest ranks after the cursor (a max-heap on rank).
  const uint32_t cut = req.page().cursor().empty() ? 0 : ix.RankAfter(req.page().cursor());
  const Postings* visible5 = nullptr;  // level-5 documents the requester may see
  if (!requester.empty()) {
    auto it = ix.level5_visible.find(requester);
    if (it != ix.level5_visible.end()) visible5 = &it->second;
  }
  std::priority_queue<std::pair<uint32_t, DocId>> page;
  uint64_t total = 0;
  uint64_t after_cursor = 0;
  for (DocId d : cand) {
    const Impl::Hot h = ix.hot[d];
    if (!h.indexed) continue;
    if (h.retired && !req.include_retired()) continue;
    if (req.max_level() != 0 && h.level > req.max_level()) continue;
    if (op_bit != 0 && (h.op_mask & op_bit) == 0) continue;
    if (h.level >= 5 && !sees_everything &&
        (visible5 == nullptr || !std::binary_search(visible5->begin(), visible5->end(), d))) {
      continue;
    }
    ++total;
    if (h.rank < cut) continue;
    ++after_cursor;
    if (page.size() < limit) {
      page.emplace(h.rank, d);
    } else if (h.rank < page.top().first) {
      page.pop();
      page.emplace(h.rank, d);
    }
  }
  std::vector<DocId> ordered;
  ordered.reserve(page.size());
  for (; !page.empty(); page.pop()) ordered.push_back(page.top().second);
  std::reverse(ordered.begin(), ordered.end());
  for (DocId d : ordered) {
    const tds::Product& p = *ix.docs[d].product;
    tds::ProductSummary* s = resp.add_products();
    s->set_id(p.id());
    s->set_version(p.version());
    s->set_provider(p.provider());
    s->set_title(p.title());
    s->set_level(p.level());
    *s->mutable_tags() = p.tags();
    *s->mutable_operations() = p.operations();
    s->set_retired(ix.hot[d].retired);
  }
  if (after_cursor > ordered.size() && !ordered.empty()) {
    resp.set_next_cursor(ix.docs[ordered.back()].product->id());
  }
  resp.set_total(total);
  return resp;
}

}  // namespace tds::catalog
