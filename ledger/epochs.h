#pragma once
// Validator epochs. Epoch 0 is ordered by the genesis validators; a block whose transactions
// change who holds the validator role ends its epoch and names the next one's validators
// (BlockHeader.next_validators). An EpochChange — that block's header, its checkpoint and the
// proof that it committed — is verifiable with the keys of the epoch it ends, so a chain of
// them carries trust from the genesis file to any later epoch (receipts, followers).
//
// Trust note: like every chain of signed hand-overs, this proves what the validators of each
// epoch signed, not that their keys stayed secret after they left. Auditors should treat the
// keys of removed validators as retired and compare checkpoints (consistency proofs).

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/genesis.h"
#include "proto/ledger.pb.h"

namespace tds::consensus {
class ValidatorSet;
}
namespace tds::ledger {

// `validators` as wire keys, and back (InvalidArgument naming a malformed or repeated key).
std::vector<tds::ValidatorKey> ToValidatorKeys(const std::vector<Validator>& validators);
absl::StatusOr<std::vector<Validator>> FromValidatorKeys(
    const google::protobuf::RepeatedPtrField<tds::ValidatorKey>& keys);

// Same ids with the same keys, whatever the order.
bool SameValidators(const std::vector<Validator>& a, const std::vector<Validator>& b);

// Checks `change` as the end of epoch `epoch`, whose validators are `current`: its header is of
// that epoch and names next validators; its checkpoint carries a quorum of `current` and is of
// that header; its commit proof holds under `current`. Returns the next epoch's validators.
// Errors say which part failed ("epoch 2 change: checkpoint: ...").
absl::StatusOr<std::vector<Validator>> VerifyEpochChange(const tds::EpochChange& change,
                                                         std::string_view origin, uint64_t epoch,
                                                         const std::vector<Validator>& current);

// Follows `changes` (epochs 0, 1, ... in order) from the genesis validators.
absl::StatusOr<std::vector<Validator>> ValidatorsAfter(
    const GenesisInfo& genesis,
    const google::protobuf::RepeatedPtrField<tds::EpochChange>& changes);

}  // namespace tds::ledger
