#pragma once
// Membership governance: members propose and vote on admitting or removing a member or
// changing its roles. A proposal passes when more than 2/3 of the members eligible at its
// creation approve; it expires after its ttl in blocks. State layout: proto/governance.proto.

#include <string_view>

#include "ledger/application.h"

namespace tds::governance {

inline constexpr std::string_view kProposeTxType = "gov.propose";
inline constexpr std::string_view kVoteTxType = "gov.vote";
inline constexpr std::string_view kProposalPrefix = "gov/proposal/";

void Register(ledger::Application& app);

}  // namespace tds::governance
