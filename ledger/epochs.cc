#include "ledger/epochs.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "ledger/checkpoint.h"
#include "ledger/consensus/certificates.h"
#include "proto/consensus.pb.h"

namespace tds::ledger {

std::vector<tds::ValidatorKey> ToValidatorKeys(const std::vector<Validator>& validators) {
  std::vector<tds::ValidatorKey> out;
  for (const Validator& v : validators) {
    tds::ValidatorKey k;
    k.set_id(v.id);
    k.set_public_key(std::string(v.key.bytes()));
    out.push_back(std::move(k));
  }
  return out;
}

absl::StatusOr<std::vector<Validator>> FromValidatorKeys(
    const google::protobuf::RepeatedPtrField<tds::ValidatorKey>& keys) {
  std::vector<Validator> out;
  std::set<std::string> ids;
  for (const tds::ValidatorKey& k : keys) {
    if (!ValidMemberId(k.id()) || !ids.insert(k.id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("validator id '", k.id(), "' is malformed or repeated"));
    }
    auto key = PublicKey::FromBytes(k.public_key());
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("validator '", k.id(), "': ", std::string(key.status().message())));
    }
    out.push_back(Validator{k.id(), *key});
  }
  return out;
}

bool SameValidators(const std::vector<Validator>& a, const std::vector<Validator>& b) {
  if (a.size() != b.size()) return false;
  auto sorted = [](std::vector<Validator> v) {
    std::sort(v.begin(), v.end(),
              [](const Validator& x, const Validator& y) { return x.id < y.id; });
    return v;
  };
  const std::vector<Validator> x = sorted(a), y = sorted(b);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].id != y[i].id || !(x[i].key == y[i].key)) return false;
  }
  return true;
}

absl::StatusOr<std::vector<Validator>> VerifyEpochChange(const tds::EpochChange& change,
                                                         std::string_view origin, uint64_t epoch,
                                                         const std::vector<Validator>& current) {
  const std::string what = absl::StrCat("epoch ", epoch, " change: ");
  auto fail = [&](const absl::Status& s) {
    return absl::Status(s.code(), what + std::string(s.message()));
  };
  tds::BlockHeader header;
  if (!header.ParseFromString(change.header())) {
    return fail(absl::InvalidArgumentError("header does not parse"));
  }
  if (header.epoch() != epoch) {
    return fail(
        absl::InvalidArgumentError(absl::StrCat("the header is of epoch ", header.epoch())));
  }
  auto next = FromValidatorKeys(header.next_validators());
  if (!next.ok()) return fail(next.status());
  if (next->empty()) return fail(absl::InvalidArgumentError("the header names no validators"));
  auto cp = VerifyCheckpointBy(change.checkpoint(), origin, current);
  if (!cp.ok()) return fail(cp.status());
  if (absl::Status s = CheckpointMatchesHeader(*cp, header, change.header()); !s.ok()) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("the checkpoint is of another block: ", std::string(s.message()))));
  }
  const Hash id = Sha256(change.header());
  tds::CommitProof proof;
  if (!proof.ParseFromString(change.commit_proof())) {
    return fail(absl::InvalidArgumentError("commit proof does not parse"));
  }
  std::vector<std::string> ids;
  std::vector<PublicKey> keys;
  for (const Validator& v : current) {
    ids.push_back(v.id);
    keys.push_back(v.key);
  }
  const consensus::ValidatorSet set(std::string(origin), Hash{}, std::move(ids), std::move(keys),
                                    consensus::EpochStart{epoch, Hash{}, 0});
  absl::Status s = consensus::VerifyCommitProof(set, id, header.round(), proof);
  if (!s.ok()) return fail(s);
  return next;
}

absl::StatusOr<std::vector<Validator>> ValidatorsAfter(
    const GenesisInfo& genesis,
    const google::protobuf::RepeatedPtrField<tds::EpochChange>& changes) {
  std::vector<Validator> current = genesis.validators();
  for (int i = 0; i < changes.size(); ++i) {
    auto next =
        VerifyEpochChange(changes.Get(i), genesis.origin(), static_cast<uint64_t>(i), current);
    if (!next.ok()) return next.status();
    current = std::move(*next);
  }
  return current;
}

}  // namespace tds::ledger
