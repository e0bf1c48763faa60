// Catalog search benchmark: builds the search index over N synthetic products (default
// 100,000) through ApplyWrites, as a node's commit observer would, and through Load from a
// state snapshot, then times a fixed mix of searches and reports p50/p90/p99 per query type.
//
//   search_bench [--products N] [--queries N]
//
// Everything is generated from a fixed seed, so runs are comparable. The last line is
//   search products=<N> p50_ms=<overall p50> p99_ms=<overall p99>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "catalog/search_index.h"
#include "ledger/application.h"
#include "proto/catalog.pb.h"
#include "proto/query_service.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using Writes = std::map<std::string, std::optional<std::string>, std::less<>>;

constexpr const char* kEnglish[] = {"credit",        "risk",
                                    "score",         "invoice",
                                    "tax",           "payment",
                                    "merchant",      "loan",
                                    "default",       "fraud",
                                    "anti",          "blacklist",
                                    "utility",       "electricity",
                                    "water",         "telecom",
                                    "social",        "insurance",
                                    "pension",       "enterprise",
                                    "small",         "business",
                                    "farmer",        "county",
                                    "government",    "registry",
                                    "court",         "judgment",
                                    "customs",       "export",
                                    "import",        "supply",
                                    "chain",         "logistics",
                                    "vehicle",       "property",
                                    "real",          "estate",
                                    "mortgage",      "card",
                                    "transaction",   "flow",
                                    "monthly",       "daily",
                                    "history",       "profile",
                                    "behaviour",     "feature",
                                    "label",         "model",
                                    "marketing",     "campaign",
                                    "retail",        "consumer",
                                    "wealth",        "deposit",
                                    "balance",       "account",
                                    "branch",        "region",
                                    "province",      "city",
                                    "industry",      "sector",
                                    "manufacturing", "agriculture",
                                    "energy",        "carbon",
                                    "green",         "bond",
                                    "rating",        "compliance",
                                    "regulatory",    "report",
                                    "statistics",    "aggregate",
                                    "panel",         "survey",
                                    "sample",        "verified",
                                    "identity",      "phone",
                                    "address",       "employment",
                                    "salary",        "income",
                                    "expense",       "cash",
                                    "liquidity",     "overdue",
                                    "collection",    "dispute",
                                    "complaint",     "merchant_category",
                                    "pos",           "qr",
                                    "mobile",        "online",
                                    "offline",       "cross",
                                    "border",        "trade",
                                    "finance",       "factoring",
                                    "leasing"};

constexpr const char* kChinese[] = {"征信", "企业", "发票",   "税务", "社保",   "电费",
                                    "支付", "流水", "反欺诈", "信用", "风险",   "小微",
                                    "商户", "数据", "贷款",   "营销", "公积金", "司法"};

constexpr const char* kOps[] = {"psi", "stats", "query", "lr_train", "lr_score", "enclave_sql"};

struct Rng {
  std::mt19937_64 gen;
  explicit Rng(uint64_t seed) : gen(seed) {}
  uint64_t Below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(gen); }
  // Zipf-like skew: small indices much more likely.
  uint64_t Skewed(uint64_t n) {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(gen);
    return std::min<uint64_t>(n - 1, static_cast<uint64_t>(static_cast<double>(n) * u * u * u));
  }
};

// A vocabulary of real words plus synthetic ones ("credit7", "scorex12"), for a realistic
// number of distinct tokens.
std::vector<std::string> Vocabulary() {
  std::vector<std::string> v;
  for (const char* w : kEnglish) v.push_back(w);
  for (const char* w : kEnglish) {
    for (int i = 0; i < 40; ++i) v.push_back(absl::StrCat(w, "x", i));
  }
  return v;
}

std::string ProviderName(uint64_t i) { return absl::StrCat("prov-", i); }
std::string BankName(uint64_t i) { return absl::StrCat("bank-", i); }

tds::Product MakeProduct(uint64_t n, Rng& rng, const std::vector<std::string>& vocab,
                         const std::vector<std::string>& tags) {
  tds::Product p;
  char id[32];
  std::snprintf(id, sizeof(id), "prod-%07llu", static_cast<unsigned long long>(n));
  p.set_id(id);
  p.set_version(1);
  p.set_provider(ProviderName(rng.Skewed(300)));
  auto word = [&]() -> std::string {
    if (rng.Below(10) == 0) {  // Chinese, often compounded without spaces: "企业征信"
      std::string w = kChinese[rng.Below(std::size(kChinese))];
      if (rng.Below(2) == 0) w += kChinese[rng.Below(std::size(kChinese))];
      return w;
    }
    return vocab[rng.Skewed(vocab.size())];
  };
  std::string title;
  for (uint64_t i = 0, k = 3 + rng.Below(4); i < k; ++i)
    absl::StrAppend(&title, i ? " " : "", word());
  p.set_title(title);
  std::string desc;
  for (uint64_t i = 0, k = 15 + rng.Below(30); i < k; ++i)
    absl::StrAppend(&desc, i ? " " : "", word());
  p.set_description(desc);
  for (uint64_t i = 0, k = 1 + rng.Below(5); i < k; ++i) {
    const std::string& t = tags[rng.Skewed(tags.size())];
    if (std::find(p.tags().begin(), p.tags().end(), t) == p.tags().end()) p.add_tags(t);
  }
  static constexpr uint32_t kLevels[] = {1, 2, 2, 3, 3, 3, 4, 4, 5};
  p.set_level(kLevels[rng.Below(std::size(kLevels))]);
  for (const char* op : kOps) {
    if (std::string_view(op) == "query" && p.level() >= 3) continue;
    if (rng.Below(2) == 0) p.add_operations(op);
  }
  if (p.operations_size() == 0) p.add_operations("psi");
  if (p.level() == 5) {
    for (int i = 0; i < 3; ++i) p.add_allow_list(BankName(rng.Below(50)));
  }
  p.set_row_count(rng.Below(10'000'000));
  p.set_update_cadence("monthly");
  p.set_published_height(1 + n / 1000);
  return p;
}

// Minimal in-memory StateReader for Load.
class MapState : public tds::ledger::StateReader {
 public:
  explicit MapState(const std::map<std::string, std::string, std::less<>>* kv) : kv_(kv) {}
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    auto it = kv_->find(key);
    if (it == kv_->end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::Status Scan(
      std::string_view prefix, std::string_view start_after, size_t limit,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    auto it = start_after.empty() ? kv_->lower_bound(prefix) : kv_->upper_bound(start_after);
    for (size_t n = 0; it != kv_->end() && n < limit; ++it, ++n) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (!fn(it->first, it->second)) break;
    }
    return absl::OkStatus();
  }

 private:
  const std::map<std::string, std::string, std::less<>>* kv_;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

struct Query {
  std::string type;
  tds::SearchProductsRequest req;
  std::string requester;
  bool follow_pages = false;  // walk next_cursor for up to 5 pages, one timing per page
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t products = 100000;
  uint64_t queries = 2000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--products") == 0 && i + 1 < argc) {
      products = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--queries") == 0 && i + 1 < argc) {
      queries = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--products N] [--queries N]\n", argv[0]);
      return 2;
    }
  }
  if (products == 0 || queries == 0) {
    std::fprintf(stderr, "--products and --queries must be positive\n");
    return 2;
  }

  Rng rng(20240601);
  const std::vector<std::string> vocab = Vocabulary();
  std::vector<std::string> tags;
  for (int i = 0; i < 120; ++i)
    tags.push_back(absl::StrCat(kEnglish[i % std::size(kEnglish)], "_", i / 10));

  // Products are generated (and committed) in a shuffled id order.
  std::vector<uint64_t> order(products);
  for (uint64_t i = 0; i < products; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng.gen);
  std::vector<tds::Product> catalog(products);
  for (uint64_t i : order) catalog[i] = MakeProduct(i, rng, vocab, tags);

  // Blocks of 1,000 products, as the commit observer sees them; 5% retired in a later block.
  std::map<std::string, std::string, std::less<>> state;
  std::vector<Writes> blocks;
  Writes block;
  for (uint64_t k = 0; k < products; ++k) {
    const tds::Product& p = catalog[order[k]];
    tds::ProductHead head;
    head.set_id(p.id());
    head.set_provider(p.provider());
    head.set_latest_version(1);
    block[tds::catalog::ProductHeadKey(p.id())] = head.SerializeAsString();
    block[tds::catalog::ProductVersionKey(p.id(), 1)] = p.SerializeAsString();
    if (block.size() >= 2000 || k + 1 == products)
      blocks.push_back(std::move(block)), block.clear();
  }
  for (uint64_t i = 0; i < products; i += 20) {
    tds::ProductHead head;
    head.set_id(catalog[i].id());
    head.set_provider(catalog[i].provider());
    head.set_latest_version(1);
    head.set_retired(true);
    head.set_retired_height(1000);
    block[tds::catalog::ProductHeadKey(head.id())] = head.SerializeAsString();
  }
  blocks.push_back(std::move(block));
  for (const Writes& b : blocks) {
    for (const auto& [k, v] : b) state[k] = *v;
  }

  tds::catalog::SearchIndex index;
  auto t0 = Clock::now();
  for (const Writes& b : blocks) index.ApplyWrites(b);
  const double build_ms = Ms(Clock::now() - t0);
  tds::catalog::SearchIndex loaded;
  MapState reader(&state);
  t0 = Clock::now();
  if (absl::Status s = loaded.Load(reader); !s.ok()) {
    std::fprintf(stderr, "load: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const double load_ms = Ms(Clock::now() - t0);
  std::printf("products: %llu indexed (%llu via Load)\n",
              static_cast<unsigned long long>(index.size()),
              static_cast<unsigned long long>(loaded.size()));
  std::printf("build via ApplyWrites (%zu blocks): %.1f ms; via Load: %.1f ms\n", blocks.size(),
              build_ms, load_ms);

  // The query mix.
  auto pick_word = [&] { return vocab[rng.Skewed(vocab.size())]; };
  auto title_words = [&](const tds::Product& p) {
    std::vector<std::string> w = tds::catalog::Tokenize(p.title());
    return w;
  };
  std::vector<Query> mix;
  const char* kTypes[] = {"single_word",  "two_words", "prefix",        "chinese",   "filters",
                          "filters_text", "paginated", "level5_member", "anonymous", "list_all"};
  for (uint64_t q = 0; q < queries; ++q) {
    Query m;
    m.type = kTypes[q % std::size(kTypes)];
    const tds::Product& sample = catalog[rng.Below(products)];
    if (m.type == "single_word") {
      m.req.set_text(pick_word());
    } else if (m.type == "two_words") {
      auto w = title_words(sample);
      m.req.set_text(absl::StrCat(w[0], " ", w[w.size() - 1]));
    } else if (m.type == "prefix") {
      std::string w = pick_word();
      m.req.set_text(w.substr(0, 3 + rng.Below(2)));
    } else if (m.type == "chinese") {
      std::string w = kChinese[rng.Below(std::size(kChinese))];
      if (rng.Below(2) == 0) w += kChinese[rng.Below(std::size(kChinese))];
      m.req.set_text(w);
    } else if (m.type == "filters") {
      m.req.set_provider(ProviderName(rng.Skewed(300)));
      m.req.set_max_level(1 + static_cast<uint32_t>(rng.Below(5)));
      if (rng.Below(2)) m.req.set_operation(kOps[rng.Below(std::size(kOps))]);
    } else if (m.type == "filters_text") {
      m.req.set_text(pick_word());
      m.req.set_tag(tags[rng.Skewed(tags.size())]);
      m.req.set_operation(kOps[rng.Below(std::size(kOps))]);
    } else if (m.type == "paginated") {
      m.req.set_text(pick_word().substr(0, 4));
      m.req.mutable_page()->set_limit(50);
      m.follow_pages = true;
    } else if (m.type == "level5_member") {
      m.req.set_text(pick_word());
      m.requester = BankName(rng.Below(50));
    } else if (m.type == "anonymous") {
      m.req.set_text(pick_word());
      m.req.set_max_level(5);
    } else {  // list_all
      m.req.mutable_page()->set_limit(100);
    }
    mix.push_back(std::move(m));
  }

  std::map<std::string, std::vector<double>> by_type;
  std::vector<double> all;
  uint64_t results = 0;
  for (const Query& m : mix) {
    tds::SearchProductsRequest req = m.req;
    for (int page = 0; page < (m.follow_pages ? 5 : 1); ++page) {
      const auto start = Clock::now();
      tds::SearchProductsResponse resp = index.Search(req, m.requester);
      const double ms = Ms(Clock::now() - start);
      by_type[m.type].push_back(ms);
      all.push_back(ms);
      results += resp.products_size();
      if (resp.next_cursor().empty()) break;
      req.mutable_page()->set_cursor(resp.next_cursor());
    }
  }
  std::printf("%zu searches, %llu results returned\n", all.size(),
              static_cast<unsigned long long>(results));
  std::printf("%-14s %7s %9s %9s %9s\n", "type", "n", "p50_ms", "p90_ms", "p99_ms");
  for (const char* t : kTypes) {
    const auto& v = by_type[t];
    std::printf("%-14s %7zu %9.3f %9.3f %9.3f\n", t, v.size(), Percentile(v, 0.5),
                Percentile(v, 0.9), Percentile(v, 0.99));
  }
  std::printf("%-14s %7zu %9.3f %9.3f %9.3f\n", "overall", all.size(), Percentile(all, 0.5),
              Percentile(all, 0.9), Percentile(all, 0.99));
  std::printf("search products=%llu p50_ms=%.3f p99_ms=%.3f\n",
              static_cast<unsigned long long>(products), Percentile(all, 0.5),
              Percentile(all, 0.99));
  return 0;
}
