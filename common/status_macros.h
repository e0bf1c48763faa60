#pragma once
// Early-return helpers for absl::Status / absl::StatusOr.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TDS_CONCAT_INNER_(a, b) a##b
#define TDS_CONCAT_(a, b) TDS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define TDS_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status tds_status_ = (expr);       \
    if (!tds_status_.ok()) return tds_status_; \
  } while (0)

// `lhs` = value of the StatusOr `rexpr`, or returns its status.
#define TDS_ASSIGN_OR_RETURN(lhs, rexpr) \
  TDS_ASSIGN_OR_RETURN_IMPL_(TDS_CONCAT_(tds_statusor_, __LINE__), lhs, rexpr)
#define TDS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                               \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()
