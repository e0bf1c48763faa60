#pragma once
// The data this node serves to the metered gateway: the configured sources (NodeConfig.sources),
// each bound to one catalog product.
//
// A source is opened when the node starts. It serves its product only while
//   - the product is published and this node's member is its provider, and
//   - the product's latest published schema matches the source (CheckSchema) and the source
//     has the configured id_column.
// The match is checked at start for products already published (a mismatch is logged as an
// error naming the columns) and again, lazily, at the first use of every product version this
// node has not checked yet (a product published or updated after the node started). Until a
// version matches, every computation on it is refused:
//   FailedPrecondition "this node does not serve product p: <why>".
//
// Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "ledger/application.h"
#include "node/connectors/data_source.h"
#include "proto/catalog.pb.h"
#include "proto/config.pb.h"

namespace tds::node::gateway {

// A product this node serves now.
struct ServedProduct {
  DataSource* source = nullptr;  // owned by ProductSources; lives as long as it
  tds::DataSourceConfig config;
  tds::Product product;  // the latest published version
};

class ProductSources {
 public:
  ProductSources() = default;
  ProductSources(const ProductSources&) = delete;
  ProductSources& operator=(const ProductSources&) = delete;

  // Opens every configured source. One that fails to open, or names a product another source
  // already serves, is logged and refused at use with the reason; the others serve.
  static std::unique_ptr<ProductSources> Open(
      const google::protobuf::RepeatedPtrField<tds::DataSourceConfig>& configs);

  // Serves `config.product()` from an opened `source` (tests, and Open itself).
  void Add(const tds::DataSourceConfig& config, std::unique_ptr<DataSource> source);

  // Checks every source whose product is already published by `member_id`; logs the outcome.
  void CheckAll(const ledger::StateReader& state, std::string_view member_id);

  // The product if this node serves it to computations run as `member_id`, else
  // FailedPrecondition "this node does not serve product p: <why>" (no source configured, the
  // source failed to open, not published, provided by another member, schema mismatch).
  absl::StatusOr<ServedProduct> Serve(const ledger::StateReader& state, std::string_view product_id,
                                      std::string_view member_id);

 private:
  struct Entry {
    tds::DataSourceConfig config;
    std::unique_ptr<DataSource> source;  // null when it failed to open
    absl::Status open_error;
    uint32_t checked_version = 0;  // 0: not checked yet
    absl::Status check;            // outcome for checked_version
  };
  // Checks `e` against `product` unless that version was checked already; returns the outcome.
  absl::Status CheckLocked(Entry& e, const tds::Product& product);

  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // GUARDED_BY(mu_), by product id
};

}  // namespace tds::node::gateway
