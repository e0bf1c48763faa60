#include "catalog/catalog.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "catalog/catalog_state.h"
#include "catalog/price.h"
#include "common/period.h"
#include "common/status_macros.h"
#include "ledger/genesis.h"
#include "ledger/membership.h"

namespace tds::catalog {
namespace {

constexpr const char* kColumnTypes[] = {"int64", "double",    "string", "bool",
                                        "date",  "timestamp", "bytes"};
constexpr const char* kCadences[] = {"daily",     "weekly", "monthly",
                                     "quarterly", "static", "realtime"};
constexpr const char* kOperations[] = {"psi",      "stats",    "joint_stats", "query",
                                       "lr_train", "lr_score", "enclave_sql"};

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9][a-z0-9._-]{0,127}
bool ValidProductId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  if (!IsLower(id[0]) && !IsDigit(id[0])) return false;
  for (char c : id) {
    if (!IsLower(c) && !IsDigit(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// [a-z0-9_-]{1,32}
bool ValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 32) return false;
  for (char c : tag) {
    if (!IsLower(c) && !IsDigit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

// [a-z_][a-z0-9_]{0,63}
bool ValidColumnName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!IsLower(name[0]) && name[0] != '_') return false;
  for (char c : name) {
    if (!IsLower(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

bool ValidMeasurement(std::string_view m) {
  if (m.size() != 64) return false;
  for (char c : m) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

template <size_t N>
bool OneOf(std::string_view v, const char* const (&options)[N]) {
  for (const char* o : options) {
    if (v == o) return true;
  }
  return false;
}

template <size_t N>
std::string JoinOptions(const char* const (&options)[N]) {
  return absl::StrJoin(options, options + N, ", ");
}

absl::Status Invalid(const std::string& msg) { return absl::InvalidArgumentError(msg); }

// Same code, message prefixed with the transaction type.
absl::Status Prefixed(std::string_view tx_type, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(std::string(tx_type), ": ", std::string(s.message())));
}

absl::Status ValidateTags(const tds::Product& p) {
  if (p.tags_size() > kMaxTags) {
    return Invalid(absl::StrCat("product.tags: ", p.tags_size(), " tags; at most ", kMaxTags));
  }
  std::set<std::string_view> seen;
  for (int i = 0; i < p.tags_size(); ++i) {
    const std::string& t = p.tags(i);
    if (!ValidTag(t)) {
      return Invalid(absl::StrCat("product.tags[", i, "] '", t.substr(0, 64),
                                  "' must match [a-z0-9_-]{1,32}"));
    }
    if (!seen.insert(t).second) {
      return Invalid(absl::StrCat("product.tags[", i, "] '", t, "' is a duplicate"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSchema(const tds::Product& p) {
  if (p.schema_size() < 1 || p.schema_size() > kMaxColumns) {
    return Invalid(
        absl::StrCat("product.schema: ", p.schema_size(), " columns; must be 1..", kMaxColumns));
  }
  std::set<std::string_view> seen;
  for (int i = 0; i < p.schema_size(); ++i) {
    const tds::Column& c = p.schema(i);
    const std::string field = absl::StrCat("product.schema[", i, "]");
    if (!ValidColumnName(c.name())) {
      return Invalid(absl::StrCat(field, ".name '", c.name().substr(0, 80),
                                  "' must match [a-z_][a-z0-9_]{0,63}"));
    }
    if (!seen.insert(c.name()).second) {
      return Invalid(absl::StrCat(field, ".name '", c.name(), "' is a duplicate"));
    }
    if (!OneOf(c.type(), kColumnTypes)) {
      return Invalid(absl::StrCat(field, ".type '", c.type().substr(0, 64), "' must be one of ",
                                  JoinOptions(kColumnTypes)));
    }
    if (c.level() < 1 || c.level() > 5) {
      return Invalid(absl::StrCat(field, ".level ", c.level(), " must be 1..5"));
    }
    if (c.level() > p.level()) {
      return Invalid(
          absl::StrCat(field, ".level ", c.level(), " exceeds the product's level ", p.level()));
    }
    if (c.description().size() > kMaxTextBytes) {
      return Invalid(absl::StrCat(field, ".description: ", c.description().size(),
                                  " bytes; at most ", kMaxTextBytes));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOperations(const tds::Product& p) {
  if (p.operations_size() == 0) return Invalid("product.operations must not be empty");
  std::set<std::string_view> seen;
  for (int i = 0; i < p.operations_size(); ++i) {
    const std::string& op = p.operations(i);
    const std::string field = absl::StrCat("product.operations[", i, "] '", op.substr(0, 64), "'");
    if (!KnownOperation(op)) {
      return Invalid(
          absl::StrCat(field, " is not a known operation (", JoinOptions(kOperations), ")"));
    }
    if (!seen.insert(op).second) return Invalid(absl::StrCat(field, " is a duplicate"));
    if (OperationKind(op) == "export" && p.level() >= 3) {
      return Invalid(absl::StrCat(field,
                                  " releases raw rows (export) and is forbidden at level 3 and "
                                  "above (product.level ",
                                  p.level(), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOffer(const tds::Product& p) {
  if (!p.has_offer()) return Invalid("product.offer is required (the default offer)");
  const tds::Terms& o = p.offer();
  if (o.operations_size() == 0) return Invalid("product.offer.operations must not be empty");
  const std::set<std::string_view> product_ops(p.operations().begin(), p.operations().end());
  std::set<std::string_view> seen;
  for (int i = 0; i < o.operations_size(); ++i) {
    const std::string& op = o.operations(i);
    const std::string field =
        absl::StrCat("product.offer.operations[", i, "] '", op.substr(0, 64), "'");
    if (!product_ops.contains(op)) {
      return Invalid(absl::StrCat(field, " is not among the product's operations"));
    }
    if (!seen.insert(op).second) return Invalid(absl::StrCat(field, " is a duplicate"));
  }
  if (o.purposes_size() == 0) return Invalid("product.offer.purposes must not be empty");
  seen.clear();
  for (int i = 0; i < o.purposes_size(); ++i) {
    const std::string& purpose = o.purposes(i);
    const std::string field =
        absl::StrCat("product.offer.purposes[", i, "] '", purpose.substr(0, 64), "'");
    if (!KnownPurpose(purpose)) return Invalid(absl::StrCat(field, " is not a known purpose"));
    if (!seen.insert(purpose).second) return Invalid(absl::StrCat(field, " is a duplicate"));
  }
  std::set<std::string_view> columns;
  for (const tds::Column& c : p.schema()) columns.insert(c.name());
  seen.clear();
  for (int i = 0; i < o.columns_size(); ++i) {
    const std::string& col = o.columns(i);
    const std::string field =
        absl::StrCat("product.offer.columns[", i, "] '", col.substr(0, 80), "'");
    if (!columns.contains(col)) {
      return Invalid(absl::StrCat(field, " is not a column of product.schema"));
    }
    if (!seen.insert(col).second) return Invalid(absl::StrCat(field, " is a duplicate"));
  }
  if (o.valid_from_ms() < 0) {
    return Invalid(
        absl::StrCat("product.offer.valid_from_ms ", o.valid_from_ms(), " must be >= 0"));
  }
  if (o.valid_until_ms() != 0 && o.valid_until_ms() <= o.valid_from_ms()) {
    return Invalid(absl::StrCat("product.offer.valid_until_ms ", o.valid_until_ms(),
                                " must be 0 (open-ended) or after valid_from_ms ",
                                o.valid_from_ms()));
  }
  if (o.metering() != tds::METERING_STRICT && o.metering() != tds::METERING_BATCHED) {
    return Invalid("product.offer.metering must be METERING_STRICT or METERING_BATCHED");
  }
  if (o.metering() == tds::METERING_BATCHED && o.batched_max_delay_ms() <= 0) {
    return Invalid(absl::StrCat("product.offer.batched_max_delay_ms ", o.batched_max_delay_ms(),
                                " must be > 0 when metering is batched"));
  }
  if (o.metering() == tds::METERING_STRICT && o.batched_max_delay_ms() != 0) {
    return Invalid("product.offer.batched_max_delay_ms applies only to batched metering");
  }
  if (!o.has_price()) return Invalid("product.offer.price is required");
  return ValidatePrice(o.price(), "product.offer.price");
}

absl::Status ValidateEnclave(const tds::Product& p) {
  if (p.enclave_measurements_size() > kMaxEnclaveMeasurements) {
    return Invalid(absl::StrCat("product.enclave_measurements: ", p.enclave_measurements_size(),
                                " entries; at most ", kMaxEnclaveMeasurements));
  }
  std::set<std::string_view> seen;
  for (int i = 0; i < p.enclave_measurements_size(); ++i) {
    const std::string& m = p.enclave_measurements(i);
    const std::string field = absl::StrCat("product.enclave_measurements[", i, "]");
    if (!ValidMeasurement(m)) {
      return Invalid(
          absl::StrCat(field, " '", m.substr(0, 80), "' must be 64 lowercase hex characters"));
    }
    if (!seen.insert(m).second) return Invalid(absl::StrCat(field, " is a duplicate"));
  }
  const bool enclave_allowed = std::find(p.operations().begin(), p.operations().end(),
                                         "enclave_sql") != p.operations().end();
  if (enclave_allowed && p.enclave_measurements_size() == 0) {
    return Invalid(
        "product.enclave_measurements must not be empty when enclave_sql is allowed (the "
        "enclaves the provider accepts)");
  }
  return absl::OkStatus();
}

absl::Status ValidateAllowListShape(const tds::Product& p) {
  if (p.level() != 5) {
    if (p.allow_list_size() > 0) {
      return Invalid(absl::StrCat("product.allow_list is only for level 5 products (product.level ",
                                  p.level(), ")"));
    }
    return absl::OkStatus();
  }
  if (p.allow_list_size() == 0) {
    return Invalid(
        "product.allow_list must not be empty at level 5 (important data is listed only to "
        "named members)");
  }
  if (p.allow_list_size() > kMaxAllowList) {
    return Invalid(absl::StrCat("product.allow_list: ", p.allow_list_size(), " members; at most ",
                                kMaxAllowList));
  }
  std::set<std::string_view> seen;
  for (int i = 0; i < p.allow_list_size(); ++i) {
    if (!seen.insert(p.allow_list(i)).second) {
      return Invalid(
          absl::StrCat("product.allow_list[", i, "] '", p.allow_list(i), "' is a duplicate"));
    }
  }
  return absl::OkStatus();
}

// The allow-list names current members.
absl::Status ValidateAllowListMembers(const tds::Product& p, const ledger::StateReader& state) {
  for (int i = 0; i < p.allow_list_size(); ++i) {
    TDS_ASSIGN_OR_RETURN(auto member, ledger::ReadMember(state, p.allow_list(i)));
    if (!member.has_value()) {
      return Invalid(absl::StrCat("product.allow_list[", i, "] '", p.allow_list(i).substr(0, 80),
                                  "' is not a current member"));
    }
  }
  return absl::OkStatus();
}

// Fields the ledger sets must arrive unset.
absl::Status CheckLedgerFieldsUnset(const tds::Product& p) {
  if (!p.provider().empty()) {
    return Invalid(absl::StrCat("product.provider '", p.provider().substr(0, 80),
                                "' must be unset (the ledger sets it to the submitter)"));
  }
  if (p.published_height() != 0 || p.published_ms() != 0) {
    return Invalid(
        "product.published_height and published_ms must be unset (the ledger sets them)");
  }
  return absl::OkStatus();
}

template <typename Body>
absl::StatusOr<Body> ParseBody(std::string_view body, const char* message_name) {
  Body parsed;
  if (!parsed.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Invalid(absl::StrCat("body is not a ", message_name));
  }
  return parsed;
}

absl::StatusOr<tds::ProductHead> RequireHead(const ledger::StateReader& state,
                                             std::string_view product_id, const char* field) {
  if (!ValidProductId(product_id)) {
    return Invalid(absl::StrCat(field, " '", std::string(product_id.substr(0, 130)),
                                "' must match [a-z0-9][a-z0-9._-]{0,127}"));
  }
  TDS_ASSIGN_OR_RETURN(auto head, ReadProductHead(state, product_id));
  if (!head.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("product '", std::string(product_id), "' does not exist"));
  }
  return *std::move(head);
}

absl::Status RequireProvider(const tds::ProductHead& head, const std::string& submitter) {
  if (head.provider() != submitter) {
    return absl::PermissionDeniedError(absl::StrCat("'", submitter,
                                                    "' is not the provider of product '", head.id(),
                                                    "' (its provider is '", head.provider(), "')"));
  }
  return absl::OkStatus();
}

// Stamps the ledger-set fields and writes the version record and head.
std::string WriteVersion(const ledger::TxContext& ctx, tds::Product product, uint32_t version,
                         tds::ProductHead head, ledger::StateWriter& state) {
  product.set_version(version);
  product.set_provider(ctx.submitter);
  product.set_published_height(ctx.block->height);
  product.set_published_ms(ctx.block->timestamp_ms);
  head.set_id(product.id());
  head.set_provider(ctx.submitter);
  head.set_latest_version(version);
  state.Put(ProductVersionKey(product.id(), version), product.SerializeAsString());
  state.Put(ProductHeadKey(product.id()), head.SerializeAsString());
  return absl::StrCat("v", version);
}

// Every catalog handler: refusals carry the transaction type ("catalog.publish: ...").
class CatalogHandler : public ledger::TxHandler {
 public:
  explicit CatalogHandler(std::string_view type) : type_(type) {}
  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view body,
                                    ledger::StateWriter& state) const final {
    auto r = DoApply(ctx, body, state);
    if (!r.ok()) return Prefixed(type_, r.status());
    return r;
  }

 protected:
  virtual absl::StatusOr<std::string> DoApply(const ledger::TxContext& ctx, std::string_view body,
                                              ledger::StateWriter& state) const = 0;

 private:
  const std::string_view type_;
};

class PublishHandler : public CatalogHandler {
 public:
  PublishHandler() : CatalogHandler(kPublishTxType) {}

 private:
  absl::StatusOr<std::string> DoApply(const ledger::TxContext& ctx, std::string_view body,
                                      ledger::StateWriter& state) const override {
    TDS_ASSIGN_OR_RETURN(tds::PublishBody b, ParseBody<tds::PublishBody>(body, "PublishBody"));
    if (!b.has_product()) return Invalid("body has no product");
    const tds::Product& p = b.product();
    TDS_RETURN_IF_ERROR(ledger::RequireRole(state, ctx.submitter, ledger::kRoleProvider).status());
    if (p.version() != 0) {
      return Invalid(absl::StrCat("product.version ", p.version(),
                                  " must be unset (the ledger sets it to 1 on publish)"));
    }
    TDS_RETURN_IF_ERROR(CheckLedgerFieldsUnset(p));
    TDS_RETURN_IF_ERROR(ValidateProduct(p));
    TDS_RETURN_IF_ERROR(ValidateAllowListMembers(p, state));
    TDS_ASSIGN_OR_RETURN(auto existing, ReadProductHead(state, p.id()));
    if (existing.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("product.id '", p.id(),
                                                   "' is already taken (published by '",
                                                   existing->provider(), "')"));
    }
    return WriteVersion(ctx, p, 1, tds::ProductHead(), state);
  }
};

class UpdateHandler : public CatalogHandler {
 public:
  UpdateHandler() : CatalogHandler(kUpdateTxType) {}

 private:
  absl::StatusOr<std::string> DoApply(const ledger::TxContext& ctx, std::string_view body,
                                      ledger::StateWriter& state) const override {
    TDS_ASSIGN_OR_RETURN(tds::PublishBody b, ParseBody<tds::PublishBody>(body, "PublishBody"));
    if (!b.has_product()) return Invalid("body has no product");
    const tds::Product& p = b.product();
    TDS_ASSIGN_OR_RETURN(tds::ProductHead head, RequireHead(state, p.id(), "product.id"));
    TDS_RETURN_IF_ERROR(RequireProvider(head, ctx.submitter));
    TDS_RETURN_IF_ERROR(ledger::RequireRole(state, ctx.submitter, ledger::kRoleProvider).status());
    if (head.retired()) {
      return absl::FailedPreconditionError(
          absl::StrCat("product '", head.id(), "' was retired at height ", head.retired_height(),
                       "; a retired product cannot be updated"));
    }
    const uint32_t next = head.latest_version() + 1;
    if (p.version() != 0 && p.version() != next) {
      return absl::FailedPreconditionError(
          absl::StrCat("product.version ", p.version(), " does not follow the latest version ",
                       head.latest_version(), " (leave it unset or set ", next, ")"));
    }
    if (!p.provider().empty() && p.provider() != head.provider()) {
      return Invalid(absl::StrCat("product.provider '", p.provider().substr(0, 80),
                                  "' cannot change (the provider is '", head.provider(), "')"));
    }
    if (p.published_height() != 0 || p.published_ms() != 0) {
      return Invalid(
          "product.published_height and published_ms must be unset (the ledger sets them)");
    }
    TDS_RETURN_IF_ERROR(ValidateProduct(p));
    TDS_RETURN_IF_ERROR(ValidateAllowListMembers(p, state));
    return WriteVersion(ctx, p, next, std::move(head), state);
  }
};

class RetireHandler : public CatalogHandler {
 public:
  RetireHandler() : CatalogHandler(kRetireTxType) {}

 private:
  absl::StatusOr<std::string> DoApply(const ledger::TxContext& ctx, std::string_view body,
                                      ledger::StateWriter& state) const override {
    TDS_ASSIGN_OR_RETURN(tds::RetireBody b, ParseBody<tds::RetireBody>(body, "RetireBody"));
    TDS_ASSIGN_OR_RETURN(tds::ProductHead head, RequireHead(state, b.product_id(), "product_id"));
    TDS_RETURN_IF_ERROR(RequireProvider(head, ctx.submitter));
    if (head.retired()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "product '", head.id(), "' was already retired at height ", head.retired_height()));
    }
    if (b.reason().size() > kMaxTextBytes) {
      return Invalid(
          absl::StrCat("reason: ", b.reason().size(), " bytes; at most ", kMaxTextBytes));
    }
    head.set_retired(true);
    head.set_retired_height(ctx.block->height);
    head.set_retire_reason(b.reason());
    state.Put(ProductHeadKey(head.id()), head.SerializeAsString());
    return std::string("retired");
  }
};

class DeclareCostHandler : public CatalogHandler {
 public:
  DeclareCostHandler() : CatalogHandler(kDeclareCostTxType) {}

 private:
  absl::StatusOr<std::string> DoApply(const ledger::TxContext& ctx, std::string_view body,
                                      ledger::StateWriter& state) const override {
    TDS_ASSIGN_OR_RETURN(tds::DeclareCostBody b,
                         ParseBody<tds::DeclareCostBody>(body, "DeclareCostBody"));
    TDS_ASSIGN_OR_RETURN(tds::ProductHead head, RequireHead(state, b.product_id(), "product_id"));
    TDS_RETURN_IF_ERROR(RequireProvider(head, ctx.submitter));
    if (absl::Status s = PeriodBounds(b.period()).status(); !s.ok()) {
      return Invalid(
          absl::StrCat("period '", b.period().substr(0, 32), "' must be a month YYYY-MM"));
    }
    if (b.category().empty() || b.category().size() > 64) {
      return Invalid(absl::StrCat("category must be 1..64 bytes, got ", b.category().size()));
    }
    if (b.amount() < 0) return Invalid(absl::StrCat("amount ", b.amount(), " must be >= 0"));
    if (!IsCurrencyCode(b.currency())) {
      return Invalid(absl::StrCat("currency '", b.currency().substr(0, 16),
                                  "' must be 3 uppercase letters (ISO 4217)"));
    }
    if (b.note().size() > kMaxTextBytes) {
      return Invalid(absl::StrCat("note: ", b.note().size(), " bytes; at most ", kMaxTextBytes));
    }
    state.Put(CostKey(b.product_id(), b.period(), ctx.index), b.SerializeAsString());
    return std::string();
  }
};

}  // namespace

absl::Status ValidateProduct(const tds::Product& p) {
  if (!ValidProductId(p.id())) {
    return Invalid(absl::StrCat("product.id '", p.id().substr(0, 130),
                                "' must match [a-z0-9][a-z0-9._-]{0,127}"));
  }
  if (p.title().empty() || p.title().size() > kMaxTitleBytes) {
    return Invalid(absl::StrCat("product.title must be 1..", kMaxTitleBytes, " bytes, got ",
                                p.title().size()));
  }
  if (p.description().size() > kMaxDescriptionBytes) {
    return Invalid(absl::StrCat("product.description: ", p.description().size(), " bytes; at most ",
                                kMaxDescriptionBytes));
  }
  if (p.level() < 1 || p.level() > 5) {
    return Invalid(
        absl::StrCat("product.level ", p.level(), " must be 1..5 (JR/T 0197-2020 classification)"));
  }
  TDS_RETURN_IF_ERROR(ValidateTags(p));
  TDS_RETURN_IF_ERROR(ValidateSchema(p));
  TDS_RETURN_IF_ERROR(ValidateOperations(p));
  TDS_RETURN_IF_ERROR(ValidateOffer(p));
  if (!OneOf(p.update_cadence(), kCadences)) {
    return Invalid(absl::StrCat("product.update_cadence '", p.update_cadence().substr(0, 32),
                                "' must be one of ", JoinOptions(kCadences)));
  }
  TDS_RETURN_IF_ERROR(ValidateEnclave(p));
  return ValidateAllowListShape(p);
}

void Register(ledger::Application& app) {
  app.Register(std::string(kPublishTxType), std::make_unique<PublishHandler>());
  app.Register(std::string(kUpdateTxType), std::make_unique<UpdateHandler>());
  app.Register(std::string(kRetireTxType), std::make_unique<RetireHandler>());
  app.Register(std::string(kDeclareCostTxType), std::make_unique<DeclareCostHandler>());
}

}  // namespace tds::catalog
