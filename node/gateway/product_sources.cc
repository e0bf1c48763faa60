#include "node/gateway/product_sources.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "spdlog/spdlog.h"

namespace tds::node::gateway {
namespace {

absl::Status NotServed(std::string_view product_id, std::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat(
      "this node does not serve product ", std::string(product_id), ": ", std::string(why)));
}

}  // namespace

std::unique_ptr<ProductSources> ProductSources::Open(
    const google::protobuf::RepeatedPtrField<tds::DataSourceConfig>& configs) {
  auto sources = std::make_unique<ProductSources>();
  for (const tds::DataSourceConfig& config : configs) {
    if (sources->entries_.count(config.product()) != 0) {
      spdlog::error("source for product \"{}\" is configured twice; the first one serves it",
                    config.product());
      continue;
    }
    absl::StatusOr<std::unique_ptr<DataSource>> source = OpenDataSource(config);
    if (!source.ok()) {
      spdlog::error("{}; the product will not be served", std::string(source.status().message()));
      Entry& e = sources->entries_[config.product()];
      e.config = config;
      e.open_error = source.status();
      continue;
    }
    sources->Add(config, *std::move(source));
  }
  return sources;
}

void ProductSources::Add(const tds::DataSourceConfig& config, std::unique_ptr<DataSource> source) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[config.product()];
  e = Entry();
  e.config = config;
  e.source = std::move(source);
}

void ProductSources::CheckAll(const ledger::StateReader& state, std::string_view member_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, e] : entries_) {
    if (e.source == nullptr) continue;
    absl::StatusOr<tds::Product> product = catalog::ReadProduct(state, id);
    if (!product.ok()) {
      spdlog::info("source for product \"{}\": not published yet; checked at first use", id);
      continue;
    }
    if (product->provider() != member_id) {
      spdlog::error(
          "source for product \"{}\": the product is provided by '{}', not by this "
          "node's member '{}'; it will not be served",
          id, product->provider(), member_id);
      continue;
    }
    absl::Status s = CheckLocked(e, *product);
    if (s.ok()) {
      spdlog::info("source for product \"{}\" matches version {}", id, product->version());
    }
  }
}

absl::Status ProductSources::CheckLocked(Entry& e, const tds::Product& product) {
  if (e.checked_version == product.version()) return e.check;
  absl::Status check;
  absl::StatusOr<std::vector<SourceColumn>> schema = e.source->Schema();
  if (!schema.ok()) {
    check = schema.status();
  } else {
    check = CheckSchema(*schema, product);
    const std::string& id_column = e.config.id_column();
    if (check.ok() && std::none_of(schema->begin(), schema->end(),
                                   [&](const SourceColumn& c) { return c.name == id_column; })) {
      check = absl::FailedPreconditionError(
          absl::StrCat("id_column \"", id_column, "\" is not a column of the source"));
    }
  }
  if (!check.ok()) {
    spdlog::error("source for product \"{}\" (version {}): {}; the product will not be served",
                  product.id(), product.version(), std::string(check.message()));
  }
  e.checked_version = product.version();
  e.check = check;
  return check;
}

absl::StatusOr<ServedProduct> ProductSources::Serve(const ledger::StateReader& state,
                                                    std::string_view product_id,
                                                    std::string_view member_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(product_id);
  if (it == entries_.end()) return NotServed(product_id, "no data source is configured for it");
  Entry& e = it->second;
  if (e.source == nullptr) {
    return NotServed(product_id, absl::StrCat("its source failed to open: ",
                                              std::string(e.open_error.message())));
  }
  absl::StatusOr<tds::Product> product = catalog::ReadProduct(state, product_id);
  if (!product.ok()) {
    if (product.status().code() == absl::StatusCode::kNotFound) {
      return NotServed(product_id, "it is not published");
    }
    return product.status();
  }
  if (product->provider() != member_id) {
    return NotServed(product_id,
                     absl::StrCat("it is provided by '", product->provider(),
                                  "', not by this node's member '", std::string(member_id), "'"));
  }
  if (absl::Status s = CheckLocked(e, *product); !s.ok()) {
    return NotServed(product_id, std::string(s.message()));
  }
  return ServedProduct{e.source.get(), e.config, *std::move(product)};
}

}  // namespace tds::node::gateway
