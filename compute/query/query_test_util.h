#pragma once
// Fixtures shared by the anonymous-query tests (anonymous_query_test.cc, prepared_table_test.cc):
// a provider key per contract and a table of rows with a column no contract permits.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compute/query/oprf.h"
#include "compute/query/prepared_table.h"

namespace tds::compute::query {

// The key of `contract` under a fixed master secret.
inline ProviderKey TestKey(const std::string& contract) {
  absl::StatusOr<ProviderKey> key =
      ProviderKey::Derive(std::string(kMasterSecretBytes, 'm'), contract);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// Rows "id-i": a name, a score and a column no contract permits (SECRET-i). Name lengths vary
// with i, so that padding has something to do.
inline std::vector<Row> TestRows(int n) {
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) {
    rows.push_back(Row{absl::StrCat("id-", i),
                       {absl::StrCat("name-", std::string(i % 5, 'n'), i), absl::StrCat(i * 7),
                        absl::StrCat("SECRET-", i)}});
  }
  return rows;
}

// Preparation for anonymity `k` with the `permitted` columns (name and score by default), on
// two worker threads.
inline PrepareOptions TestPrepareOptions(uint64_t k, std::vector<uint32_t> permitted = {0, 1}) {
  PrepareOptions o;
  o.k = k;
  o.permitted_columns = std::move(permitted);
  o.threads = 2;
  return o;
}

}  // namespace tds::compute::query
