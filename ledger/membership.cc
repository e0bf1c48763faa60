#include "ledger/membership.h"

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "ledger/genesis.h"

namespace tds::ledger {

std::string MemberStateKey(std::string_view member_id) {
  return absl::StrCat(std::string(kMemberPrefix), std::string(member_id));
}

absl::StatusOr<std::optional<tds::Member>> ReadMember(const StateReader& state,
                                                      std::string_view member_id) {
  auto raw = state.Get(MemberStateKey(member_id));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::nullopt;
  tds::Member m;
  if (!m.ParseFromString(**raw)) {
    return absl::DataLossError(
        absl::StrCat("state: member record '", std::string(member_id), "' is corrupt"));
  }
  return m;
}

absl::StatusOr<tds::Member> RequireRole(const StateReader& state, std::string_view member_id,
                                        std::string_view role) {
  auto m = ReadMember(state, member_id);
  if (!m.ok()) return m.status();
  if (!m->has_value()) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", std::string(member_id), "' is not a current member"));
  }
  if (!GenesisInfo::HasRole(**m, role)) {
    return absl::PermissionDeniedError(
        absl::StrCat("member '", std::string(member_id), "' lacks role '", std::string(role), "'"));
  }
  return std::move(**m);
}

absl::StatusOr<PublicKey> MemberKey(const tds::Member& member) {
  static std::mutex mu;
  static std::map<std::string, PublicKey, std::less<>> cache;  // hex → key; members are few
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = cache.find(member.public_key());
    if (it != cache.end()) return it->second;
  }
  auto key = PublicKey::FromHex(member.public_key());
  if (!key.ok()) {
    return absl::DataLossError(absl::StrCat(
        "member '", member.id(), "' has an invalid key: ", std::string(key.status().message())));
  }
  std::lock_guard<std::mutex> l(mu);
  if (cache.size() < 100000) cache.emplace(member.public_key(), *key);
  return *key;
}

absl::StatusOr<std::vector<Validator>> CurrentValidators(const StateReader& state) {
  std::vector<Validator> out;
  absl::Status bad;
  absl::Status s =
      state.Scan(kMemberPrefix, "", SIZE_MAX, [&](std::string_view, std::string_view value) {
        tds::Member m;
        if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          bad = absl::DataLossError("state: a member record is corrupt");
          return false;
        }
        if (!GenesisInfo::HasRole(m, kRoleValidator)) return true;
        auto key = MemberKey(m);
        if (!key.ok()) {
          bad = absl::DataLossError(absl::StrCat("state: member '", m.id(), "' has a bad key"));
          return false;
        }
        out.push_back(Validator{m.id(), *key});
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

}  // namespace tds::ledger
