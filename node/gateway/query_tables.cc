#include "node/gateway/query_tables.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file.h"
#include "spdlog/spdlog.h"

namespace tds::node::gateway {

using compute::query::kMasterSecretBytes;
using compute::query::PreparedTable;
using compute::query::ProviderKey;

namespace {

using TableOr = absl::StatusOr<std::shared_ptr<const QueryTable>>;

// Contract ids are "c-" + hex on a real ledger; anything else keeps its pin in memory only
// rather than naming a file after it.
bool SafeFileName(const std::string& s) {
  return !s.empty() && s.size() <= 128 && s[0] != '.' &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
         });
}

}  // namespace

struct QueryTables::Slot {
  std::promise<TableOr> promise;
  std::shared_future<TableOr> result = promise.get_future().share();
};

QueryTables::QueryTables(QueryTablesOptions options) : options_(std::move(options)) {}

QueryTables::~QueryTables() { sodium_memzero(master_.data(), master_.size()); }

uint64_t QueryTables::prepared() const {
  std::lock_guard<std::mutex> lock(mu_);
  return prepared_;
}

absl::StatusOr<std::string> QueryTables::MasterSecret() {
  if (!master_.empty()) return master_;
  compute::query::EnsureSodium();
  if (options_.dir.empty()) {
    master_.resize(kMasterSecretBytes);
    randombytes_buf(master_.data(), master_.size());
    return master_;
  }
  const std::string path = options_.dir + "/query-master.key";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directories(options_.dir, ec);
    std::string fresh(kMasterSecretBytes, '\0');
    randombytes_buf(fresh.data(), fresh.size());
    absl::Status written = WriteFileExclusive(path, fresh, 0600);
    sodium_memzero(fresh.data(), fresh.size());
    if (!written.ok() && written.code() != absl::StatusCode::kAlreadyExists) {
      return absl::Status(written.code(), absl::StrCat("anonymous query master secret: ",
                                                       std::string(written.message())));
    }
    if (written.ok()) spdlog::info("anonymous query: created the master secret {}", path);
  }
  absl::StatusOr<std::string> read = ReadFile(path);
  if (!read.ok()) {
    return absl::Status(read.status().code(), absl::StrCat("anonymous query master secret: ",
                                                           std::string(read.status().message())));
  }
  if (read->size() != kMasterSecretBytes) {
    return absl::FailedPreconditionError(absl::StrCat("anonymous query master secret ", path, ": ",
                                                      read->size(), " bytes, expected ",
                                                      kMasterSecretBytes));
  }
  master_ = *std::move(read);
  return master_;
}

uint32_t QueryTables::PinnedBuckets(const std::string& contract_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pins_.find(contract_id);
    if (it != pins_.end()) return it->second;
  }
  if (options_.dir.empty() || !SafeFileName(contract_id)) return 0;
  absl::StatusOr<std::string> text = ReadFile(options_.dir + "/query-buckets/" + contract_id);
  uint32_t buckets = 0;
  if (!text.ok() || !absl::SimpleAtoi(*text, &buckets)) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  pins_[contract_id] = buckets;
  return buckets;
}

void QueryTables::Pin(const std::string& contract_id, uint32_t buckets) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pins_[contract_id] = buckets;
  }
  if (options_.dir.empty() || !SafeFileName(contract_id)) return;
  std::error_code ec;
  std::filesystem::create_directories(options_.dir + "/query-buckets", ec);
  absl::Status s =
      WriteFileAtomic(options_.dir + "/query-buckets/" + contract_id, absl::StrCat(buckets), 0600);
  if (!s.ok()) {
    spdlog::error("anonymous query: pinning {} buckets for contract {}: {}", buckets, contract_id,
                  std::string(s.message()));
  }
}

absl::StatusOr<std::shared_ptr<const QueryTable>> QueryTables::Build(const Want& want) {
  std::string master;
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::StatusOr<std::string> m = MasterSecret();
    if (!m.ok()) return m.status();
    master = *std::move(m);
  }
  absl::StatusOr<ProviderKey> key = ProviderKey::Derive(master, want.contract_id);
  sodium_memzero(master.data(), master.size());
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<compute::query::Row>> rows = want.load();
  if (!rows.ok()) return rows.status();

  compute::query::PrepareOptions options;
  options.k = want.k;
  for (uint32_t i = 0; i < want.columns.size(); ++i) options.permitted_columns.push_back(i);
  options.buckets = PinnedBuckets(want.contract_id);
  options.threads = options_.threads;
  if (want.max_rows != 0) options.max_rows = want.max_rows;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t next_log = rows->size() / 10;
  options.progress = [&](const compute::query::PrepareProgress& p) {
    if (p.done < next_log || p.done == p.total) return;
    next_log = p.done + p.total / 10;
    spdlog::info("anonymous query: preparing contract {}: {} of {} rows", want.contract_id, p.done,
                 p.total);
  };
  spdlog::info(
      "anonymous query: preparing contract {} (product version {}, {} rows, k {}, "
      "columns {}{})",
      want.contract_id, want.product_version, rows->size(), want.k,
      absl::StrJoin(want.columns, ","),
      options.buckets != 0 ? absl::StrCat(", pinned to ", options.buckets, " buckets") : "");
  absl::StatusOr<std::unique_ptr<const PreparedTable>> table =
      PreparedTable::Prepare(*key, *rows, options);
  if (!table.ok()) {
    return absl::Status(
        table.status().code(),
        absl::StrCat("preparing the anonymous query table of contract ", want.contract_id, ": ",
                     std::string(table.status().message())));
  }
  if (options.buckets == 0) Pin(want.contract_id, (*table)->buckets());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info(
      "anonymous query: contract {} prepared in {:.1f} s: {} buckets of {} entries "
      "(smallest bucket {} rows), {}-byte payloads",
      want.contract_id, seconds, (*table)->buckets(), (*table)->bucket_entries(),
      (*table)->min_bucket_rows(), (*table)->payload_bytes());
  return std::make_shared<const QueryTable>(*std::move(key), *std::move(table));
}

absl::StatusOr<std::shared_ptr<const QueryTable>> QueryTables::Get(const Want& want) {
  const std::string cache_key = absl::StrCat(want.contract_id, "\n", want.product_version, "\n",
                                             want.k, "\n", absl::StrJoin(want.columns, "\x1f"));
  std::shared_ptr<Slot> slot;
  bool build = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(cache_key);
    if (it != slots_.end()) {
      slot = it->second;
      lru_.remove(cache_key);
    } else {
      slot = std::make_shared<Slot>();
      slots_[cache_key] = slot;
      build = true;
    }
    lru_.push_front(cache_key);
    // Evict the least recently used beyond the bound. Runs holding an evicted table keep it
    // alive (shared_ptr) until they end.
    while (lru_.size() > std::max<size_t>(options_.max_tables, 1)) {
      slots_.erase(lru_.back());
      lru_.pop_back();
    }
  }
  if (build) {
    TableOr built = Build(want);
    slot->promise.set_value(built);
    std::lock_guard<std::mutex> lock(mu_);
    if (built.ok()) {
      ++prepared_;
    } else {
      // Not cached: the next query tries again (the source may have been fixed).
      auto it = slots_.find(cache_key);
      if (it != slots_.end() && it->second == slot) {
        slots_.erase(it);
        lru_.remove(cache_key);
      }
    }
    return built;
  }
  return slot->result.get();
}

}  // namespace tds::node::gateway
