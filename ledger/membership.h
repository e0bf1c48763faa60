#pragma once
// Current membership lives in application state, under "member/<id>" → tds.Member: seeded from
// the genesis file by the ledger in block 1, changed afterwards only by governance transactions.
// The ledger admits a transaction only from a current member's key; handlers check roles.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "ledger/application.h"
#include "ledger/genesis.h"
#include "proto/genesis.pb.h"

namespace tds::ledger {

inline constexpr std::string_view kMemberPrefix = "member/";

std::string MemberStateKey(std::string_view member_id);

// The member's record, or nullopt if `member_id` is not a current member.
absl::StatusOr<std::optional<tds::Member>> ReadMember(const StateReader& state,
                                                      std::string_view member_id);

// The current member `member_id` if it holds `role`; otherwise PermissionDenied naming the
// member and the role ("member 'x' lacks role 'provider'", "'x' is not a current member").
absl::StatusOr<tds::Member> RequireRole(const StateReader& state, std::string_view member_id,
                                        std::string_view role);

// The member's validated public key. Parsed keys are cached process-wide (validating a point
// costs as much as verifying a signature), so hot paths can call this per transaction.
absl::StatusOr<PublicKey> MemberKey(const tds::Member& member);

// The current members holding the validator role, in ascending id order (the order of every
// epoch after the genesis one). DataLoss if a record is corrupt.
absl::StatusOr<std::vector<Validator>> CurrentValidators(const StateReader& state);

}  // namespace tds::ledger
