#pragma once
// Membership governance: members propose and vote on admitting or removing a member or
// changing its roles. A proposal passes when more than 2/3 of the members eligible at its
// creation approve; it expires after its ttl in blocks. State layout: proto/governance.proto.
//
// Transactions (any current member may submit; the ledger admits only current members):
//   "gov.propose"  body tds.ProposeBody. The action is validated in full against the current
//                  membership; the proposal gets the next id from "gov/next_id" (be64, first id
//                  1) and is stored at ProposalKey(id) with `eligible` = the current member ids
//                  in ascending order. The proposer's submission counts as its approving vote
//                  (recorded as the first Vote). Result bytes: the id in decimal ("7").
//   "gov.vote"     body tds.VoteBody. Only a member listed in `eligible` that is still a
//                  current member, once per proposal, while the proposal is OPEN and the block
//                  height is <= expires_height. Result bytes: the proposal's status name after
//                  the vote ("PROPOSAL_OPEN", "PROPOSAL_PASSED", ...).
//
// Deciding (after every recorded vote, the proposer's included), with n = eligible count:
//   approvals * 3 > n * 2                 → the action is re-validated against the membership
//                                          of that moment and applied in the same transaction
//                                          (status PASSED), or, if it no longer applies (the
//                                          id was taken meanwhile, ...), status FAILED with the
//                                          reason in `outcome`. Either way the vote is recorded.
//   (n - rejections) * 3 <= n * 2          → REJECTED: passing has become impossible.
// Expiry is lazy: nothing is written when a proposal's ttl runs out. A vote in a block above
// expires_height is refused (and so not logged); the stored status stays OPEN and readers use
// EffectiveProposal() to see EXPIRED.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "proto/genesis.pb.h"
#include "proto/governance.pb.h"

namespace tds::governance {

inline constexpr std::string_view kProposeTxType = "gov.propose";
inline constexpr std::string_view kVoteTxType = "gov.vote";
inline constexpr std::string_view kProposalPrefix = "gov/proposal/";
// The next proposal id, 8 bytes big-endian; absent means 1.
inline constexpr std::string_view kNextProposalIdKey = "gov/next_id";

// ttl_blocks 0 means kDefaultTtlBlocks; more than kMaxTtlBlocks is refused.
inline constexpr uint64_t kDefaultTtlBlocks = 1000;
inline constexpr uint64_t kMaxTtlBlocks = 100000;
// An add_member proposal is refused once the consortium has this many members.
inline constexpr size_t kMaxMembers = 10000;
// ListProposals returns at most this many proposals per call.
inline constexpr size_t kMaxListLimit = 1000;

// Registers the gov.propose and gov.vote handlers.
void Register(ledger::Application& app);

// "gov/proposal/" followed by `id` as 8 bytes big-endian, so keys sort by id.
std::string ProposalKey(uint64_t id);

// `p` as a reader at `current_height` should see it: an OPEN proposal whose expires_height is
// below `current_height` comes back with status PROPOSAL_EXPIRED; anything else unchanged.
tds::Proposal EffectiveProposal(const tds::Proposal& p, uint64_t current_height);

// Proposals with id > after_id in ascending id order, at most min(limit, kMaxListLimit) of
// them, each as EffectiveProposal(p, current_height). DataLoss if a stored record is corrupt.
absl::StatusOr<std::vector<tds::Proposal>> ListProposals(const ledger::StateReader& state,
                                                         uint64_t current_height, uint64_t after_id,
                                                         size_t limit);

// The current members in ascending id order. DataLoss if a stored record is corrupt.
absl::StatusOr<std::vector<tds::Member>> ListMembers(const ledger::StateReader& state);

}  // namespace tds::governance
