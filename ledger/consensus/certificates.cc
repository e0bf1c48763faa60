#include "ledger/consensus/certificates.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace tds::consensus {

ValidatorSet::ValidatorSet(std::string origin, Hash genesis_id, std::vector<std::string> ids,
                           std::vector<PublicKey> keys, EpochStart start)
    : origin_(std::move(origin)),
      genesis_id_(genesis_id),
      start_(start),
      ids_(std::move(ids)),
      keys_(std::move(keys)) {
  const size_t n = ids_.size();
  quorum_ = n == 0 ? 1 : n - (n - 1) / 3;
}

int ValidatorSet::IndexOf(std::string_view id) const {
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (ids_[i] == id) return static_cast<int>(i);
  }
  return -1;
}

namespace {

std::string EpochLine(uint64_t epoch) {
  return epoch == 0 ? std::string() : absl::StrCat("tds-epoch ", epoch, "\n");
}

}  // namespace

BlockInfo EmptyBlockInfo(std::string_view origin, uint64_t round, const Hash& parent,
                         uint64_t epoch) {
  BlockInfo info;
  info.vote_body = absl::StrCat(std::string(origin), "\ntds-empty ", round, " ",
                                Base64Encode(AsBytes(parent)), "\n", EpochLine(epoch));
  info.id = Sha256(info.vote_body);
  return info;
}

std::string TimeoutBody(std::string_view origin, uint64_t view, uint64_t high_qc_round,
                        uint64_t epoch) {
  return absl::StrCat(std::string(origin), "\ntds-timeout ", view, " ", high_qc_round, "\n",
                      EpochLine(epoch));
}

namespace {

absl::Status CheckSignature(const ValidatorSet& set, std::string_view body,
                            const tds::ValidatorSignature& sig, std::string_view what) {
  if (sig.signer() >= set.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": signer index ", sig.signer(), " is not a validator"));
  }
  if (sig.signature().size() != 64 || !set.key(sig.signer()).Verify(body, sig.signature())) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": the signature of ",
                                                   set.id(sig.signer()), " does not verify"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyQuorum(const ValidatorSet& set, std::string_view body,
                          const google::protobuf::RepeatedPtrField<tds::ValidatorSignature>& sigs,
                          std::string_view what) {
  if (static_cast<size_t>(sigs.size()) > set.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": more signatures than validators"));
  }
  std::set<uint32_t> signers;
  for (const tds::ValidatorSignature& sig : sigs) {
    if (!signers.insert(sig.signer()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(what), ": validator index ", sig.signer(), " signs twice"));
    }
    if (absl::Status s = CheckSignature(set, body, sig, what); !s.ok()) return s;
  }
  if (signers.size() < set.quorum()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ", signers.size(),
                                                   " signatures, a quorum is ", set.quorum()));
  }
  return absl::OkStatus();
}

absl::Status VerifyCommitProof(const ValidatorSet& set, const Hash& id, uint64_t round,
                               const tds::CommitProof& proof) {
  Hash at = id;
  uint64_t at_round = round;
  auto step = [&](const tds::BlockRef& ref, bool child) -> absl::Status {
    if (!ref.header().empty()) {
      return absl::InvalidArgumentError("commit proof: a block after the epoch's end is not empty");
    }
    if (ref.parent() != AsBytes(at) ||
        (child ? ref.round() != at_round + 1 : ref.round() <= at_round)) {
      return absl::InvalidArgumentError(absl::StrCat("commit proof: block at round ", ref.round(),
                                                     " does not follow round ", at_round,
                                                     child ? " as its child" : ""));
    }
    at = EmptyBlockInfo(set.origin(), ref.round(), at, set.epoch()).id;
    at_round = ref.round();
    return absl::OkStatus();
  };
  for (const tds::BlockRef& ref : proof.path()) {
    if (absl::Status s = step(ref, false); !s.ok()) return s;
  }
  const tds::BlockRef& child = proof.certified_child().block();
  const Hash parent = at;
  if (absl::Status s = step(child, true); !s.ok()) return s;
  return VerifyQuorum(set,
                      EmptyBlockInfo(set.origin(), child.round(), parent, set.epoch()).vote_body,
                      proof.certified_child().votes(), "commit proof");
}

absl::StatusOr<uint64_t> VerifyTimeoutCert(const ValidatorSet& set, const tds::TimeoutCert& tc) {
  const std::string what = absl::StrCat("timeout certificate for view ", tc.view());
  if (static_cast<size_t>(tc.votes_size()) > set.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": more votes than validators"));
  }
  std::set<uint32_t> signers;
  uint64_t high = 0;
  for (const tds::TimeoutVote& v : tc.votes()) {
    if (v.view() != tc.view()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": holds a vote for view ", v.view()));
    }
    if (!signers.insert(v.sig().signer()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": validator index ", v.sig().signer(), " votes twice"));
    }
    if (absl::Status s =
            CheckSignature(set, TimeoutBody(set.origin(), v.view(), v.high_qc_round(), set.epoch()),
                           v.sig(), what);
        !s.ok()) {
      return s;
    }
    high = std::max(high, v.high_qc_round());
  }
  if (signers.size() < set.quorum()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", signers.size(), " votes, a quorum is ", set.quorum()));
  }
  return high;
}

}  // namespace tds::consensus
