#include "contracts/contract_state.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace tds::contracts {
namespace {

std::string WithIndex(std::string prefix, uint64_t index) {
  PutFixed64BE(&prefix, index);
  return prefix;
}

template <typename T>
absl::StatusOr<std::optional<T>> ReadProto(const ledger::StateReader& state, const std::string& key,
                                           std::string_view what) {
  auto raw = state.Get(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::nullopt;
  T msg;
  if (!msg.ParseFromString(**raw)) {
    return absl::DataLossError(absl::StrCat("state: ", std::string(what), " is corrupt"));
  }
  return msg;
}

}  // namespace

std::string ContractKey(std::string_view id) {
  return absl::StrCat(std::string(kContractPrefix), std::string(id));
}
std::string ContractByPartyKey(std::string_view member_id, std::string_view contract_id) {
  return absl::StrCat(std::string(kContractByPartyPrefix), std::string(member_id), "/",
                      std::string(contract_id));
}
std::string UsageRecordKey(uint64_t index) {
  return WithIndex(std::string(kUsageRecordPrefix), index);
}
std::string UsageByContractKey(std::string_view contract_id, uint64_t index) {
  return WithIndex(absl::StrCat(std::string(kUsageByContractPrefix), std::string(contract_id), "/"),
                   index);
}
std::string UsageByPairKey(std::string_view provider, std::string_view consumer,
                           std::string_view period, uint64_t index) {
  return WithIndex(absl::StrCat(std::string(kUsageByPairPrefix), std::string(provider), "/",
                                std::string(consumer), "/", std::string(period), "/"),
                   index);
}
std::string UsageByProductKey(std::string_view product_id, std::string_view period,
                              uint64_t index) {
  return WithIndex(absl::StrCat(std::string(kUsageByProductPrefix), std::string(product_id), "/",
                                std::string(period), "/"),
                   index);
}
std::string UsageViolationKey(uint64_t index) {
  return WithIndex(std::string(kUsageViolationPrefix), index);
}
std::string UsageIndexPrefix(UsageField field, std::string_view value) {
  std::string_view name;
  switch (field) {
    case UsageField::kProvider:
      name = "provider";
      break;
    case UsageField::kConsumer:
      name = "consumer";
      break;
    case UsageField::kProduct:
      name = "product";
      break;
    case UsageField::kPurpose:
      name = "purpose";
      break;
    case UsageField::kOperation:
      name = "operation";
      break;
    case UsageField::kViolatedTerm:
      name = "term";
      break;
  }
  std::string prefix = absl::StrCat(std::string(kUsageIndexPrefix), std::string(name), "/");
  PutFixed32BE(&prefix, static_cast<uint32_t>(value.size()));
  prefix.append(value.data(), value.size());
  return prefix;
}
std::string ReservationKey(std::string_view id) {
  return absl::StrCat(std::string(kReservationPrefix), std::string(id));
}
std::string CounterKey(std::string_view contract_id) {
  return absl::StrCat(std::string(kCounterPrefix), std::string(contract_id));
}
std::string NonceKey(std::string_view contract_id, std::string_view nonce) {
  return absl::StrCat(std::string(kNoncePrefix), std::string(contract_id), "/", HexEncode(nonce));
}

uint64_t IndexFromKey(std::string_view key) {
  return key.size() < 8 ? 0 : DecodeFixed64BE(key.data() + key.size() - 8);
}

absl::StatusOr<std::optional<tds::Contract>> ReadContract(const ledger::StateReader& state,
                                                          std::string_view contract_id) {
  return ReadProto<tds::Contract>(state, ContractKey(contract_id),
                                  absl::StrCat("contract ", std::string(contract_id)));
}

absl::StatusOr<tds::UsageCounters> ReadCounters(const ledger::StateReader& state,
                                                std::string_view contract_id) {
  auto c = ReadProto<tds::UsageCounters>(state, CounterKey(contract_id), "usage counters");
  if (!c.ok()) return c.status();
  return c->value_or(tds::UsageCounters());
}

absl::StatusOr<std::optional<tds::UsageRecordState>> ReadUsageRecord(
    const ledger::StateReader& state, uint64_t index) {
  return ReadProto<tds::UsageRecordState>(state, UsageRecordKey(index), "usage record");
}

void WriteContract(ledger::StateWriter& state, const tds::Contract& contract) {
  state.Put(ContractKey(contract.id()), contract.SerializeAsString());
  state.Put(ContractByPartyKey(contract.provider(), contract.id()), "");
  state.Put(ContractByPartyKey(contract.consumer(), contract.id()), "");
}

void WriteUsageRecord(ledger::StateWriter& state, const tds::UsageRecordState& r) {
  const uint64_t i = r.index();
  state.Put(UsageRecordKey(i), r.SerializeAsString());
  state.Put(UsageByContractKey(r.contract_id(), i), "");
  state.Put(UsageByPairKey(r.provider(), r.consumer(), r.period(), i), "");
  state.Put(UsageByProductKey(r.product_id(), r.period(), i), "");
  const std::pair<UsageField, const std::string*> fields[] = {
      {UsageField::kProvider, &r.provider()},
      {UsageField::kConsumer, &r.consumer()},
      {UsageField::kProduct, &r.product_id()},
      {UsageField::kPurpose, &r.purpose()},
      {UsageField::kOperation, &r.operation()}};
  for (const auto& [field, value] : fields) {
    state.Put(WithIndex(UsageIndexPrefix(field, *value), i), "");
  }
  if (r.violations_size() == 0) return;
  state.Put(UsageViolationKey(i), "");
  // A record breaking one term twice is listed under it once (Put of the same key).
  for (const tds::Violation& v : r.violations()) {
    state.Put(WithIndex(UsageIndexPrefix(UsageField::kViolatedTerm, v.term()), i), "");
  }
}

absl::StatusOr<tds::Terms> ParseTerms(std::string_view terms_bytes) {
  tds::Terms t;
  if (!t.ParseFromArray(terms_bytes.data(), static_cast<int>(terms_bytes.size()))) {
    return absl::InvalidArgumentError("terms: not a serialized tds.Terms");
  }
  return t;
}

}  // namespace tds::contracts
