#include "node/connectors/data_source.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/connectors/csv_source.h"
#include "node/connectors/postgres_source.h"
#include "node/connectors/sqlite_source.h"
#include "node/connectors/value_text.h"

namespace tds::node {
namespace {

// Fields each kind reads; any other set field is a configuration mistake worth naming.
absl::Status CheckUnusedFields(const tds::DataSourceConfig& c, const std::string& where) {
  std::vector<std::string> stray;
  if (c.kind() != "csv" && !c.delimiter().empty()) stray.push_back("delimiter");
  if (c.kind() == "csv" && !c.table().empty()) stray.push_back("table");
  if (c.kind() == "csv" && !c.query().empty()) stray.push_back("query");
  if (c.kind() != "postgres" && !c.dsn().empty()) stray.push_back("dsn");
  if (c.kind() == "postgres" && !c.path().empty()) stray.push_back("path");
  if (stray.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": a ", c.kind(), " source does not use ", absl::StrJoin(stray, ", ")));
}

bool Compatible(const std::string& catalog, const std::string& source) {
  if (catalog == source) return true;
  if (catalog == "double") return source == "int64";
  if (catalog == "string") return source != "bytes";
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataSource>> OpenDataSource(const tds::DataSourceConfig& config) {
  const std::string where = absl::StrCat("source for product \"", config.product(), "\"");
  if (config.product().empty()) {
    return absl::InvalidArgumentError("source: product is required");
  }
  if (config.kind() != "csv" && config.kind() != "sqlite" && config.kind() != "postgres") {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": kind \"", config.kind(), "\" is not csv, sqlite or postgres"));
  }
  if (absl::Status s = CheckUnusedFields(config, where); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<DataSource>> source =
      config.kind() == "csv"      ? OpenCsvSource(config)
      : config.kind() == "sqlite" ? OpenSqliteSource(config)
                                  : OpenPostgresSource(config);
  if (!source.ok()) {
    return absl::Status(source.status().code(),
                        absl::StrCat(where, ": ", std::string(source.status().message())));
  }
  return source;
}

absl::Status CheckSchema(const std::vector<SourceColumn>& source, const tds::Product& product) {
  std::vector<std::string> problems;
  for (const tds::Column& column : product.schema()) {
    if (!IsCatalogType(column.type())) {
      problems.push_back(absl::StrCat("column \"", column.name(), "\": catalog type \"",
                                      column.type(), "\" is not a known type"));
      continue;
    }
    const SourceColumn* found = nullptr;
    for (const SourceColumn& s : source) {
      if (s.name == column.name()) found = &s;
    }
    if (found == nullptr) {
      problems.push_back(absl::StrCat("column \"", column.name(), "\" (", column.type(),
                                      ") is not in the source"));
    } else if (!Compatible(column.type(), found->type)) {
      problems.push_back(absl::StrCat("column \"", column.name(), "\": catalog type ",
                                      column.type(), ", source type ", found->type));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "product \"", product.id(), "\" does not match its source: ", absl::StrJoin(problems, "; ")));
}

}  // namespace tds::node
