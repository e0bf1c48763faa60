#include "ledger/consensus/core.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace tds::consensus {
namespace {

std::string Short(const Hash& id) { return HexEncode(id).substr(0, 12); }

bool HasVotes(const tds::TimeoutCert& tc) { return tc.votes_size() > 0; }

absl::StatusOr<Hash> HashField(const std::string& bytes, std::string_view what) {
  if (bytes.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " is not 32 bytes"));
  }
  Hash h;
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

}  // namespace

Root GenesisRoot() { return Root{}; }

class Core::Impl {
 public:
  Impl(const ValidatorSet* set, size_t self, const SigningKey* key, BlockApp* app,
       CoreOptions options)
      : set_(*set), self_(self), key_(*key), app_(*app), opt_(options) {}

  // ---- events ---------------------------------------------------------------------------

  Actions Start(const tds::SafetyState& safety, const Root& root) {
    Actions out;
    out_ = &out;
    safety_ = safety;
    auto info = DescribeRef(root.block.block());
    root_id_ = info.ok() ? info->id : set_.genesis_id();
    root_round_ = root.block.block().round();
    Node r;
    r.id = root_id_;
    r.round = root_round_;
    r.proposal = root.block;
    r.qc = root.qc;
    r.has_qc = true;
    r.executed = true;
    r.empty = root.block.block().header().empty();
    committed_[root_id_] = r;
    committed_order_.push_back(root_id_);
    if (!safety_.has_high_qc() || safety_.high_qc().block().round() < root_round_) {
      *safety_.mutable_high_qc() = root.qc;
    }
    auto hq = DescribeRef(safety_.high_qc().block());
    high_qc_id_ = hq.ok() ? hq->id : root_id_;
    high_qc_round_ = safety_.high_qc().block().round();
    if (HasVotes(safety_.last_tc())) {
      auto high = VerifyTimeoutCert(set_, safety_.last_tc());
      last_tc_high_ = high.ok() ? *high : UINT64_MAX;
    }
    // Blocks journaled with the safety record: re-executed over the root, oldest first.
    for (const tds::BlockProposal& p : safety.blocks()) {
      if (p.block().round() <= root_round_) continue;
      auto b = CheckProposal(p);
      auto parent = HashField(p.block().parent(), "parent");
      if (!b.ok() || !parent.ok() || !Known(*parent) || Known(b->id)) continue;
      if (Insert(*b, *parent, p).ok()) voted_blocks_.insert(b->id);
    }
    safety_.clear_blocks();
    if (safety_.view() < set_.start_view()) safety_.set_view(set_.start_view());
    round_ = std::max(high_qc_round_ + 1, FirstRound(safety_.view()));
    if (ViewOf(round_) > safety_.view()) safety_.set_view(ViewOf(round_));
    ArmTimer();
    // Uncommitted blocks did not survive the restart: fetch the high QC's from its proposer.
    if (!Known(high_qc_id_)) {
      size_t peer = set_.LeaderOf(ViewOf(high_qc_round_));
      if (peer == self_) peer = (self_ + 1) % set_.size();
      Request(peer, high_qc_id_);
    }
    if (!member()) CatchUpFrom(sync_peer_);
    MaybePropose();
    DrainSelf();
    out_ = nullptr;
    return out;
  }

  Actions OnMessage(size_t from, const tds::ConsensusMessage& msg) {
    Actions out;
    out_ = &out;
    refusal_ = absl::OkStatus();
    absl::Status s;
    if (from == self_) {
      s = absl::PermissionDeniedError("message from this replica itself");
    } else if (from >= set_.size() && msg.kind_case() != tds::ConsensusMessage::kBlockRequest &&
               msg.kind_case() != tds::ConsensusMessage::kBlockResponse) {
      // Replicas outside the set (new validators catching up, retired ones, validators of a
      // later epoch) may only ask for blocks and answer such requests.
      s = absl::PermissionDeniedError("message from a sender that is not a validator");
    } else {
      switch (msg.kind_case()) {
        case tds::ConsensusMessage::kProposal:
          s = OnProposal(from, msg.proposal());
          break;
        case tds::ConsensusMessage::kVote:
          s = OnVote(from, msg.vote());
          break;
        case tds::ConsensusMessage::kTimeout:
          s = OnTimeout(from, msg.timeout());
          break;
        case tds::ConsensusMessage::kBlockRequest:
          s = OnBlockRequest(from, msg.block_request());
          break;
        case tds::ConsensusMessage::kBlockResponse:
          s = OnBlockResponse(from, msg.block_response());
          break;
        default:
          s = absl::InvalidArgumentError("message of no known kind");
      }
    }
    if (!s.ok()) {
      refusal_ =
          absl::Status(s.code(), absl::StrCat("from ", from < set_.size() ? set_.id(from) : "?",
                                              ": ", std::string(s.message())));
      ++refused_;
    }
    DrainSelf();
    out_ = nullptr;
    return out;
  }

  Actions OnTimer(uint64_t view) {
    Actions out;
    out_ = &out;
    requested_.clear();  // unanswered block requests may be asked again
    if (!member()) {
      // Not a validator of this epoch: follow the chain by asking a validator, in turn.
      sync_peer_ = (sync_peer_ + 1) % set_.size();
      CatchUpFrom(sync_peer_);
      ArmTimer();
    } else if (view == safety_.view()) {
      if (!Known(high_qc_id_) && set_.size() > 1) {
        // Still missing the certified block everyone builds on: whoever named it may be
        // Byzantine and never answer, so ask the next validator in turn.
        sync_peer_ = (sync_peer_ + 1) % set_.size();
        if (sync_peer_ == self_) sync_peer_ = (sync_peer_ + 1) % set_.size();
        Request(sync_peer_, high_qc_id_);
      }
      if (!NeedsProgress()) {
        // Idle: nothing to order, nothing to time out. Ask one validator, in turn, whether
        // anything committed that this replica missed (it would hear of nothing else).
        sync_peer_ = (sync_peer_ + 1) % set_.size();
        if (sync_peer_ != self_) CatchUpFrom(sync_peer_);
        ArmTimer();
      } else {
        LocalTimeout(view);
      }
    }
    DrainSelf();
    out_ = nullptr;
    return out;
  }

  Actions OnWork() {
    Actions out;
    out_ = &out;
    MaybePropose();
    DrainSelf();
    out_ = nullptr;
    return out;
  }

  Actions CatchUp(size_t peer) {
    Actions out;
    out_ = &out;
    CatchUpFrom(peer);
    out_ = nullptr;
    return out;
  }

  const absl::Status& last_refusal() const { return refusal_; }

  CoreStatus status() const {
    CoreStatus s;
    s.view = safety_.view();
    s.round = round_;
    s.highest_vote_round = safety_.highest_vote_round();
    s.high_qc_round = high_qc_round_;
    s.committed_round = root_round_;
    s.committed_id = root_id_;
    s.timeouts = timeouts_formed_;
    s.refused = refused_;
    s.blocks = blocks_.size();
    return s;
  }

 private:
  struct Node {
    Hash id{};
    Hash parent{};
    uint64_t round = 0;
    bool empty = true;
    bool executed = false;
    bool has_qc = false;
    tds::BlockProposal proposal;
    tds::QuorumCert qc;
  };
  struct Parked {
    size_t from;
    tds::BlockProposal proposal;
    bool vote;  // it came from its leader (not a fetch): vote once it can be executed
  };

  // ---- describing and verifying ---------------------------------------------------------

  absl::StatusOr<BlockInfo> DescribeRef(const tds::BlockRef& ref) const {
    if (ref.round() == 0) {
      if (!ref.parent().empty() || !ref.header().empty()) {
        return absl::InvalidArgumentError("a round-0 block other than the genesis root");
      }
      return BlockInfo{set_.genesis_id(), ""};
    }
    auto parent = HashField(ref.parent(), "block parent");
    if (!parent.ok()) return parent.status();
    if (ref.header().empty()) {
      return EmptyBlockInfo(set_.origin(), ref.round(), *parent, set_.epoch());
    }
    return app_.DescribeHeader(ref);
  }

  absl::StatusOr<BlockInfo> VerifyQC(const tds::QuorumCert& qc) {
    auto info = DescribeRef(qc.block());
    if (!info.ok()) return info.status();
    if (qc.block().round() == 0) {
      if (qc.votes_size() != 0) return absl::InvalidArgumentError("genesis QC carries votes");
      return info;
    }
    // The epoch's root committed in the epoch before, under that epoch's validators.
    if (set_.epoch() > 0 && info->id == set_.start().root) return info;
    const Hash key = Sha256(qc.SerializeAsString());
    if (verified_qcs_.count(key) > 0) return info;
    absl::Status s = VerifyQuorum(set_, info->vote_body, qc.votes(),
                                  absl::StrCat("QC for round ", qc.block().round()));
    if (!s.ok()) return s;
    verified_qcs_.insert(key);
    verified_order_.push_back(key);
    if (verified_order_.size() > 4096) {
      verified_qcs_.erase(verified_order_.front());
      verified_order_.pop_front();
    }
    return info;
  }

  // Structural validity of a proposal: its justify certifies its parent, and its round follows
  // the justify's (consecutive) or opens the view after a valid TC whose highest QC it carries.
  absl::StatusOr<BlockInfo> CheckProposal(const tds::BlockProposal& p) {
    const tds::BlockRef& ref = p.block();
    if (ref.round() == 0) return absl::InvalidArgumentError("proposal for round 0");
    if (static_cast<size_t>(p.entries_size()) > opt_.max_entries) {
      return absl::InvalidArgumentError(absl::StrCat("proposal carries ", p.entries_size(),
                                                     " entries; the limit is ", opt_.max_entries));
    }
    if (ref.header().empty() && p.entries_size() > 0) {
      return absl::InvalidArgumentError("an empty block with entries");
    }
    if (static_cast<size_t>(p.rejected_size()) > opt_.max_entries) {
      return absl::InvalidArgumentError(
          absl::StrCat("proposal reports ", p.rejected_size(), " rejected transactions"));
    }
    auto info = DescribeRef(ref);
    if (!info.ok()) return info.status();
    auto justify = VerifyQC(p.justify());
    if (!justify.ok()) return justify.status();
    if (AsBytes(justify->id) != ref.parent()) {
      return absl::InvalidArgumentError("the justify QC does not certify the block's parent");
    }
    const uint64_t qc_round = p.justify().block().round();
    if (qc_round >= ref.round()) {
      return absl::InvalidArgumentError("block round is not above its justify's");
    }
    if (HasVotes(p.tc())) {
      auto high = VerifyTimeoutCert(set_, p.tc());
      if (!high.ok()) return high.status();
      if (ref.round() != FirstRound(p.tc().view() + 1) || qc_round < *high) {
        return absl::InvalidArgumentError(
            absl::StrCat("round ", ref.round(), " does not open the view after the TC for view ",
                         p.tc().view(), " with its highest QC"));
      }
    } else if (qc_round + 1 != ref.round() && !Opening(ref.round(), justify->id)) {
      return absl::InvalidArgumentError(absl::StrCat("round ", ref.round(),
                                                     " neither follows its QC (round ", qc_round,
                                                     ") nor carries a timeout certificate"));
    }
    return info;
  }

  // The first round of an epoch after the genesis one may build on the epoch's root without a
  // certificate of this epoch: there is nothing uncommitted in the epoch for it to skip over.
  bool Opening(uint64_t round, const Hash& justify_id) const {
    return set_.epoch() > 0 && justify_id == set_.start().root &&
           round == FirstRound(set_.start_view());
  }

  // ---- proposals --------------------------------------------------------------------------

  absl::Status OnProposal(size_t from, const tds::BlockProposal& p) {
    if (set_.LeaderOf(ViewOf(p.block().round())) != from) {
      return absl::PermissionDeniedError(absl::StrCat("proposal for round ", p.block().round(),
                                                      " from a validator that does not lead view ",
                                                      ViewOf(p.block().round())));
    }
    return AcceptProposal(from, p, /*vote=*/true);
  }

  absl::Status AcceptProposal(size_t from, const tds::BlockProposal& p, bool vote) {
    auto info = CheckProposal(p);
    if (!info.ok()) return info.status();
    ProcessQC(p.justify(), from);
    if (HasVotes(p.tc())) ProcessTC(p.tc());
    if (p.block().round() <= root_round_ || committed_.count(info->id) > 0) return Finish();
    if (blocks_.count(info->id) == 0) {
      const Hash parent = *HashField(p.block().parent(), "parent");
      if (!Known(parent)) {
        Park(from, parent, p, vote);
        Request(from, parent);
        return Finish();
      }
      absl::Status s = Insert(*info, parent, p);
      if (!s.ok()) return s;
      Unpark(info->id);
    }
    if (vote) MaybeVote(info->id);
    return Finish();
  }

  // Adds an executed block whose parent is known and executed.
  absl::Status Insert(const BlockInfo& info, const Hash& parent, const tds::BlockProposal& p) {
    if (!Extends(parent)) {
      return absl::FailedPreconditionError(
          absl::StrCat("block ", Short(info.id), " does not extend the committed chain"));
    }
    absl::Status s = app_.Execute(info.id, p);
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("block ", Short(info.id), " at round ", p.block().round(), ": ",
                                 std::string(s.message())));
    }
    Node n;
    n.id = info.id;
    n.parent = parent;
    n.round = p.block().round();
    n.empty = p.block().header().empty();
    n.executed = true;
    n.proposal = p;
    if (info.id == high_qc_id_) {
      n.qc = safety_.high_qc();
      n.has_qc = true;
    }
    blocks_[info.id] = std::move(n);
    if (auto it = blocks_.find(parent); it != blocks_.end() && !it->second.has_qc) {
      it->second.qc = p.justify();
      it->second.has_qc = true;
    }
    return absl::OkStatus();
  }

  void MaybeVote(const Hash& id) {
    auto it = blocks_.find(id);
    if (it == blocks_.end()) return;  // committed (or pruned) meanwhile
    const Node& n = it->second;
    if (!member()) return;
    if (ViewOf(n.round) != safety_.view() || n.round <= safety_.highest_vote_round()) return;
    auto info = DescribeRef(n.proposal.block());
    if (!info.ok()) return;
    safety_.set_highest_vote_round(n.round);
    voted_blocks_.insert(id);
    Persist();
    tds::ConsensusMessage m;
    tds::BlockVote* v = m.mutable_vote();
    *v->mutable_block() = n.proposal.block();
    v->mutable_sig()->set_signer(static_cast<uint32_t>(self_));
    v->mutable_sig()->set_signature(key_.Sign(info->vote_body));
    SendTo(set_.LeaderOf(ViewOf(n.round + 1)), m);
  }

  // ---- votes and certificates -------------------------------------------------------------

  absl::Status OnVote(size_t from, const tds::BlockVote& v) { return AcceptVote(from, v); }

  absl::Status AcceptVote(size_t from, const tds::BlockVote& v) {
    if (v.sig().signer() != from) {
      return absl::PermissionDeniedError("vote signed for another validator");
    }
    const uint64_t round = v.block().round();
    if (round <= high_qc_round_ || round <= root_round_) return Finish();  // already certified
    if (round > round_ + kMaxRoundsAhead) {
      return absl::InvalidArgumentError(
          absl::StrCat("vote for round ", round, ", far beyond ", round_));
    }
    auto info = DescribeRef(v.block());
    if (!info.ok()) return info.status();
    if (v.sig().signature().size() != 64 ||
        !set_.key(from).Verify(info->vote_body, v.sig().signature())) {
      return absl::InvalidArgumentError(
          absl::StrCat("vote for round ", round, ": the signature does not verify"));
    }
    auto [prev, fresh] = voted_.emplace(std::make_pair(round, from), info->id);
    if (!fresh && prev->second != info->id) {
      return absl::InvalidArgumentError(
          absl::StrCat("double vote: a second block at round ", round));
    }
    VoteSet& set = votes_[info->id];
    if (set.formed) return Finish();
    set.ref = v.block();
    set.sigs[from] = v.sig().signature();
    if (set.sigs.size() < set_.quorum()) return Finish();
    set.formed = true;
    tds::QuorumCert qc;
    *qc.mutable_block() = set.ref;
    for (const auto& [signer, sig] : set.sigs) {
      tds::ValidatorSignature* s = qc.add_votes();
      s->set_signer(static_cast<uint32_t>(signer));
      s->set_signature(sig);
    }
    verified_qcs_.insert(Sha256(qc.SerializeAsString()));
    ProcessQC(qc, from);
    if (auto it = blocks_.find(info->id); it != blocks_.end() && !it->second.has_qc) {
      it->second.qc = qc;
      it->second.has_qc = true;
    }
    return Finish();
  }

  // A verified QC: raise the high QC and follow its round (Finish commits what it completes).
  void ProcessQC(const tds::QuorumCert& qc, size_t from) {
    const uint64_t round = qc.block().round();
    auto info = DescribeRef(qc.block());
    if (!info.ok()) return;
    if (auto it = blocks_.find(info->id); it != blocks_.end() && !it->second.has_qc) {
      it->second.qc = qc;
      it->second.has_qc = true;
    }
    if (round > high_qc_round_) {
      *safety_.mutable_high_qc() = qc;
      high_qc_round_ = round;
      high_qc_id_ = info->id;
      if (!Known(info->id) && round > root_round_) Request(from, info->id);
      const bool same_view = ViewOf(round + 1) == safety_.view();
      AdvanceRound(round + 1);
      // Progress in this view: a block with transactions certified, or an empty one that
      // certifies such a block, or nothing waiting. A leader that keeps the chain moving with
      // empty blocks while transactions wait does not count, so it is timed out and replaced.
      if (same_view && (!qc.block().header().empty() || ChainNeedsBlocks() || !app_.HasWork())) {
        consecutive_timeouts_ = 0;
        ArmTimer();
      }
    }
  }

  void ProcessTC(const tds::TimeoutCert& tc) {
    if (tc.view() < safety_.view() && HasVotes(safety_.last_tc()) &&
        safety_.last_tc().view() >= tc.view()) {
      return;
    }
    auto high = VerifyTimeoutCert(set_, tc);
    if (!high.ok()) return;
    if (!HasVotes(safety_.last_tc()) || tc.view() > safety_.last_tc().view()) {
      *safety_.mutable_last_tc() = tc;
      last_tc_high_ = *high;
    }
    if (tc.view() + 1 > safety_.view()) {
      ++timeouts_formed_;
      AdvanceRound(FirstRound(tc.view() + 1));
    }
  }

  void AdvanceRound(uint64_t round) {
    if (round <= round_) return;
    round_ = round;
    if (ViewOf(round) > safety_.view()) {
      safety_.set_view(ViewOf(round));
      ArmTimer();
    }
  }

  // ---- timeouts ---------------------------------------------------------------------------

  // Gives up on `view` (the current one, or a later one f + 1 others gave up on): no more votes
  // in it, and a signed timeout carrying the high QC to everyone.
  void LocalTimeout(uint64_t view) {
    if (!member()) return;
    if (view > safety_.view()) {
      safety_.set_view(view);
      round_ = std::max(round_, FirstRound(view));
    }
    ++consecutive_timeouts_;
    if (auto mine = latest_timeout_.find(self_);
        mine != latest_timeout_.end() && mine->second.view() == view) {
      // Timed out here already: send the same vote again (with the QC it names), for those
      // that missed it.
      tds::ConsensusMessage m;
      *m.mutable_timeout()->mutable_vote() = mine->second;
      *m.mutable_timeout()->mutable_high_qc() = my_timeout_qc_;
      if (HasVotes(safety_.last_tc())) *m.mutable_timeout()->mutable_last_tc() = safety_.last_tc();
      SendTo(-1, m);
      ArmTimer();
      return;
    }
    safety_.set_highest_vote_round(std::max(safety_.highest_vote_round(), LastRound(view)));
    Persist();
    tds::ConsensusMessage m;
    tds::Timeout* t = m.mutable_timeout();
    tds::TimeoutVote* tv = t->mutable_vote();
    tv->set_view(view);
    tv->set_high_qc_round(high_qc_round_);
    tv->mutable_sig()->set_signer(static_cast<uint32_t>(self_));
    tv->mutable_sig()->set_signature(
        key_.Sign(TimeoutBody(set_.origin(), view, high_qc_round_, set_.epoch())));
    *t->mutable_high_qc() = safety_.high_qc();
    my_timeout_qc_ = safety_.high_qc();
    if (HasVotes(safety_.last_tc())) *t->mutable_last_tc() = safety_.last_tc();
    SendTo(-1, m);
    ArmTimer();  // re-broadcast if the view still does not change
    CollectTimeout(self_, *tv);
  }

  absl::Status OnTimeout(size_t from, const tds::Timeout& t) {
    const tds::TimeoutVote& tv = t.vote();
    if (tv.sig().signer() != from) {
      return absl::PermissionDeniedError("timeout signed for another validator");
    }
    if (t.high_qc().block().round() != tv.high_qc_round()) {
      return absl::InvalidArgumentError("timeout's QC round differs from the round it signs");
    }
    if (tv.view() > safety_.view() + kMaxViewsAhead) {
      return absl::InvalidArgumentError(
          absl::StrCat("timeout for view ", tv.view(), ", far beyond ", safety_.view()));
    }
    if (tv.sig().signature().size() != 64 ||
        !set_.key(from).Verify(
            TimeoutBody(set_.origin(), tv.view(), tv.high_qc_round(), set_.epoch()),
            tv.sig().signature())) {
      return absl::InvalidArgumentError("timeout: the signature does not verify");
    }
    auto qc = VerifyQC(t.high_qc());
    if (!qc.ok()) return qc.status();
    ProcessQC(t.high_qc(), from);
    if (HasVotes(t.last_tc())) ProcessTC(t.last_tc());
    if (tv.view() < safety_.view()) {
      // Stale: that view is over here. If the sender is still in it and does not have the
      // certificate that ended it, pass that on (never in answer to a message carrying it).
      const bool sender_has_it =
          HasVotes(t.last_tc()) && t.last_tc().view() >= safety_.last_tc().view();
      if (HasVotes(safety_.last_tc()) && safety_.last_tc().view() >= tv.view() && !sender_has_it) {
        ShareTimeoutCert(static_cast<int>(from));
      }
      return Finish();
    }
    CollectTimeout(from, tv);
    return Finish();
  }

  void CollectTimeout(size_t from, const tds::TimeoutVote& tv) {
    auto& latest = latest_timeout_[from];
    if (latest.has_sig() && latest.view() >= tv.view()) return;
    latest = tv;
    if (tv.view() < safety_.view()) return;
    size_t count = 0;
    for (const auto& [signer, vote] : latest_timeout_) count += vote.view() == tv.view() ? 1 : 0;
    // f + 1 gave up on this view, so at least one honest validator did: join them, or a
    // validator that saw no trouble itself (no work, a late start) would never let a TC form.
    const size_t f_plus_one = set_.size() - set_.quorum() + 1;
    auto mine = latest_timeout_.find(self_);
    if (count >= f_plus_one && from != self_ &&
        (mine == latest_timeout_.end() || mine->second.view() < tv.view())) {
      LocalTimeout(tv.view());
      return;  // that counted this validator's timeout too
    }
    if (count < set_.quorum()) return;
    tds::TimeoutCert tc;
    tc.set_view(tv.view());
    for (const auto& [signer, vote] : latest_timeout_) {
      if (vote.view() == tv.view()) *tc.add_votes() = vote;
    }
    ProcessTC(tc);
    ShareTimeoutCert(-1);  // those that did not collect it themselves advance too
    MaybePropose();
  }

  // This validator's latest timeout with its last TC attached: lets validators still in the
  // certified view (they missed timeouts) move on.
  void ShareTimeoutCert(int to) {
    auto mine = latest_timeout_.find(self_);
    if (mine == latest_timeout_.end() || !HasVotes(safety_.last_tc())) return;
    tds::ConsensusMessage m;
    tds::Timeout* t = m.mutable_timeout();
    *t->mutable_vote() = mine->second;
    *t->mutable_high_qc() = my_timeout_qc_;  // the QC of the round the vote names
    *t->mutable_last_tc() = safety_.last_tc();
    SendTo(to, m);
  }

  // ---- proposing --------------------------------------------------------------------------

  void MaybePropose() {
    const uint64_t view = safety_.view();
    if (set_.LeaderOf(view) != self_ || ViewOf(round_) != view) return;
    if (round_ <= proposed_round_ || round_ <= safety_.highest_vote_round()) return;
    if (!Known(high_qc_id_)) return;
    const bool consecutive = high_qc_round_ + 1 == round_;
    const bool after_tc = HasVotes(safety_.last_tc()) && safety_.last_tc().view() + 1 == view &&
                          round_ == FirstRound(view) && high_qc_round_ >= last_tc_high_;
    const bool opening = Opening(round_, high_qc_id_);
    if (!consecutive && !after_tc && !opening) return;
    const bool needed = ChainNeedsBlocks();
    if (!needed && !app_.HasWork()) return;
    tds::BlockProposal p;
    p.mutable_block()->set_round(round_);
    p.mutable_block()->set_parent(std::string(AsBytes(high_qc_id_)));
    *p.mutable_justify() = safety_.high_qc();
    if (!consecutive && !opening) *p.mutable_tc() = safety_.last_tc();
    if (!app_.Build(&p).ok()) return;
    // Waiting transactions may all be in flight already: an empty block only when one is due,
    // or to tell the others which waiting transactions cannot apply.
    if (p.block().header().empty() && !needed && p.rejected_size() == 0) return;
    proposed_round_ = round_;
    unannounced_commit_ = false;
    tds::ConsensusMessage m;
    *m.mutable_proposal() = p;
    SendTo(-1, m);
    (void)AcceptProposal(self_, p, /*vote=*/true);
  }

  // Blocks must keep coming while a block with transactions is not yet committed everywhere:
  // one on the high chain is uncommitted, or this replica committed one through a QC it formed
  // and has not yet passed on in a proposal.
  bool ChainNeedsBlocks() const {
    if (unannounced_commit_) return true;
    Hash id = high_qc_id_;
    for (;;) {
      auto it = blocks_.find(id);
      if (it == blocks_.end()) return false;
      if (!it->second.empty) return true;
      id = it->second.parent;
    }
  }

  bool NeedsProgress() const {
    if (app_.HasWork()) return true;
    for (const auto& [id, n] : blocks_) {
      if (!n.empty) return true;
    }
    return false;
  }

  // ---- commit -----------------------------------------------------------------------------

  // Commits the highest block B whose child at round B.round + 1 is certified.
  void CommitScan() {
    const Node* best = nullptr;
    const Node* child = nullptr;
    for (const auto& [id, n] : blocks_) {
      if (!n.has_qc) continue;
      auto parent = blocks_.find(n.parent);
      if (parent == blocks_.end() || parent->second.round + 1 != n.round) continue;
      if (best == nullptr || parent->second.round > best->round) {
        best = &parent->second;
        child = &n;
      }
    }
    if (best != nullptr) CommitUpTo(best->id, *child);
  }

  // Commits the chain up to `id`, whose certified child is `child`.
  void CommitUpTo(const Hash& id, const Node& child) {
    std::vector<Hash> chain;
    for (Hash at = id; at != root_id_;) {
      const Node& n = blocks_.at(at);
      chain.push_back(at);
      at = n.parent;
    }
    std::reverse(chain.begin(), chain.end());
    bool with_transactions = false;
    for (size_t i = 0; i < chain.size(); ++i) {
      Node n = std::move(blocks_.at(chain[i]));
      blocks_.erase(chain[i]);
      CommitAction c;
      c.id = n.id;
      c.block = n.proposal;
      c.qc = n.qc;
      // Proof of commit: the rest of the chain (its blocks are still in blocks_) and the QC.
      for (size_t j = i + 1; j < chain.size(); ++j) {
        *c.proof.add_path() = blocks_.at(chain[j]).proposal.block();
      }
      *c.proof.mutable_child()->mutable_block() = child.proposal.block();  // no entries needed
      *c.proof.mutable_child()->mutable_justify() = child.proposal.justify();
      *c.proof.mutable_certified_child() = child.qc;
      with_transactions |= !n.empty;
      out_->push_back(std::move(c));
      root_id_ = n.id;
      root_round_ = n.round;
      committed_[n.id] = std::move(n);
      committed_order_.push_back(root_id_);
    }
    while (committed_order_.size() > opt_.committed_window) {
      committed_.erase(committed_order_.front());
      committed_order_.pop_front();
    }
    // A leader that committed transactions must pass the certificate that did it on.
    if (with_transactions && set_.LeaderOf(safety_.view()) == self_) unannounced_commit_ = true;
    consecutive_timeouts_ = 0;
    Prune();
  }

  // Drops blocks that no longer extend the committed chain, and bookkeeping below the root.
  void Prune() {
    for (auto it = blocks_.begin(); it != blocks_.end();) {
      if (!Extends(it->first)) {
        app_.Forget(it->first);
        it = blocks_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      it = it->second.proposal.block().round() <= root_round_ ? pending_.erase(it) : std::next(it);
    }
    for (auto it = votes_.begin(); it != votes_.end();) {
      it = it->second.ref.round() <= root_round_ ? votes_.erase(it) : std::next(it);
    }
    voted_.erase(voted_.begin(), voted_.lower_bound({root_round_ + 1, 0}));
    for (auto it = voted_blocks_.begin(); it != voted_blocks_.end();) {
      it = blocks_.count(*it) > 0 ? std::next(it) : voted_blocks_.erase(it);
    }
  }

  // ---- fetching ---------------------------------------------------------------------------

  absl::Status OnBlockRequest(size_t from, const tds::BlockRequest& r) {
    auto id = HashField(r.id(), "requested id");
    if (!id.ok()) return id.status();
    if (r.known_size() > 4) return absl::InvalidArgumentError("block request lists > 4 known");
    std::set<std::string> known(r.known().begin(), r.known().end());
    const uint32_t max = std::min(std::max(r.max_blocks(), 1u), opt_.max_fetch_blocks);
    // Backwards from the block asked for; complete if it reaches what the requester has.
    tds::ConsensusMessage m;
    // The requester has the block itself (a catch-up from its root): only what follows counts.
    const bool has_it = known.count(r.id()) > 0;
    bool reaches = false;
    for (Hash at = *id; !has_it && m.block_response().blocks_size() < static_cast<int>(max);) {
      const Node* n = Find(at);
      if (n == nullptr || n->round == 0) break;
      *m.mutable_block_response()->add_blocks() = n->proposal;
      reaches = known.count(n->proposal.block().parent()) > 0;
      if (reaches) break;
      at = n->parent;
    }
    if (!reaches) {
      // Too far behind for that: the committed blocks after the first known one, newest first.
      for (const std::string& k : r.known()) {
        auto after = HashField(k, "known id");
        if (!after.ok()) return after.status();
        std::vector<tds::BlockProposal> forward = CommittedAfter(*after, max);
        if (forward.empty() && *after != root_id_) continue;
        // Reaching this replica's root, go on along the certified chain to the high QC and
        // send that QC: without it the requester could not commit what this replica committed
        // (an idle data space sends nothing else).
        bool tip = false;
        if (forward.empty() || DescribeRef(forward.back().block())->id == root_id_) {
          std::vector<const Node*> chain;
          for (Hash at = high_qc_id_; at != root_id_;) {
            auto it = blocks_.find(at);
            if (it == blocks_.end()) {
              chain.clear();
              break;
            }
            chain.push_back(&it->second);
            at = it->second.parent;
          }
          if (forward.size() + chain.size() <= max) {
            for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
              forward.push_back((*it)->proposal);
            }
            tip = !forward.empty();
          }
        }
        if (forward.empty()) continue;
        m.mutable_block_response()->clear_blocks();
        for (auto it = forward.rbegin(); it != forward.rend(); ++it) {
          *m.mutable_block_response()->add_blocks() = std::move(*it);
        }
        if (tip) *m.mutable_block_response()->mutable_tip_qc() = safety_.high_qc();
        break;
      }
    }
    if (m.block_response().blocks_size() > 0) SendTo(static_cast<int>(from), m);
    return absl::OkStatus();
  }

  // Committed blocks after `id`, oldest first: from memory, else from the application.
  std::vector<tds::BlockProposal> CommittedAfter(const Hash& id, size_t max) const {
    std::vector<tds::BlockProposal> out;
    auto it = std::find(committed_order_.begin(), committed_order_.end(), id);
    if (it == committed_order_.end()) return app_.CommittedAfter(id, max);
    for (++it; it != committed_order_.end() && out.size() < max; ++it) {
      out.push_back(committed_.at(*it).proposal);
    }
    return out;
  }

  absl::Status OnBlockResponse(size_t from, const tds::BlockResponse& r) {
    if (r.blocks_size() == 0 || static_cast<uint32_t>(r.blocks_size()) > opt_.max_fetch_blocks) {
      return absl::InvalidArgumentError("block response with no or too many blocks");
    }
    std::vector<BlockInfo> infos;
    for (int i = 0; i < r.blocks_size(); ++i) {
      auto info = CheckProposal(r.blocks(i));
      if (!info.ok()) return info.status();
      if (i > 0 && AsBytes(info->id) != r.blocks(i - 1).block().parent()) {
        return absl::InvalidArgumentError("block response is not a chain");
      }
      infos.push_back(*info);
    }
    std::optional<BlockInfo> tip;
    if (r.has_tip_qc()) {
      auto info = VerifyQC(r.tip_qc());
      if (!info.ok()) return info.status();
      if (info->id != infos.front().id) {
        return absl::InvalidArgumentError("block response: tip QC certifies another block");
      }
      tip = *info;
    }
    // Either the block asked for and its ancestors, or (catching up) a chain that continues
    // from a block this replica has.
    const bool asked = Asked(infos.front().id);
    auto oldest_parent = HashField(r.blocks(r.blocks_size() - 1).block().parent(), "parent");
    const bool forward = !asked && oldest_parent.ok() && Known(*oldest_parent);
    if (!asked && !forward) {
      if (Known(infos.front().id) || committed_.count(infos.front().id) > 0) return Finish();
      return absl::InvalidArgumentError("block response that nobody asked for");
    }
    Answered(infos.front().id);
    // Oldest first: a block whose parent is still unknown waits for it (and the oldest asks).
    size_t inserted = 0;
    for (int i = r.blocks_size() - 1; i >= 0; --i) {
      const tds::BlockProposal& p = r.blocks(i);
      if (p.block().round() <= root_round_ || Known(infos[i].id)) continue;
      const Hash parent = *HashField(p.block().parent(), "parent");
      if (!Known(parent)) {
        Park(from, parent, p, /*vote=*/false);
        if (i == r.blocks_size() - 1) Request(from, parent);
        continue;
      }
      absl::Status s = Insert(infos[i], parent, p);
      if (!s.ok()) return s;
      ++inserted;
      Unpark(infos[i].id);
    }
    if (tip.has_value() && Known(tip->id)) ProcessQC(r.tip_qc(), from);
    if (forward) {
      // Progress, but not there yet: ask again from the new tip. No progress: forget the
      // requests, so that the next message naming those blocks asks afresh (no ping-pong).
      std::set<Hash> missing;
      for (const auto& [id, peer] : requested_) {
        if (!Known(id)) missing.insert(id);
      }
      for (const Hash& id : missing) {
        Answered(id);
        if (inserted > 0) Request(from, id);
      }
    }
    return Finish();
  }

  bool Asked(const Hash& id) const {
    auto it = requested_.lower_bound({id, 0});
    return it != requested_.end() && it->first == id;
  }
  void Answered(const Hash& id) {
    requested_.erase(requested_.lower_bound({id, 0}), requested_.lower_bound({id, SIZE_MAX}));
  }

  // Asks `peer` for the committed blocks after the root (and what follows from there).
  void CatchUpFrom(size_t peer) {
    requested_.erase({root_id_, peer});
    Request(peer, root_id_);
  }

  void Request(size_t from, const Hash& id) {
    // Once per block and peer until answered or a timer fires: a Byzantine peer that never
    // answers costs nothing, the next message naming the block asks its sender.
    if (from == self_ || !requested_.insert({id, from}).second) return;
    if (requested_.size() > 1024) requested_.erase(requested_.begin());
    tds::ConsensusMessage m;
    tds::BlockRequest* r = m.mutable_block_request();
    r->set_id(std::string(AsBytes(id)));
    r->set_max_blocks(opt_.max_fetch_blocks);
    const Node* newest = nullptr;
    for (const auto& [bid, n] : blocks_) {
      if (newest == nullptr || n.round > newest->round) newest = &n;
    }
    if (newest != nullptr) r->add_known(std::string(AsBytes(newest->id)));
    r->add_known(std::string(AsBytes(root_id_)));
    SendTo(static_cast<int>(from), m);
  }

  void Park(size_t from, const Hash& parent, const tds::BlockProposal& p, bool vote) {
    if (pending_.size() >= opt_.max_pending) pending_.erase(pending_.begin());
    pending_.emplace(parent, Parked{from, p, vote});
  }

  // Accepts the blocks that waited for `id`, and theirs in turn: a loop over a work list, not a
  // recursion as deep as the chain being caught up.
  void Unpark(const Hash& id) {
    auto range = pending_.equal_range(id);
    for (auto it = range.first; it != range.second; ++it)
      unparked_.push_back(std::move(it->second));
    pending_.erase(range.first, range.second);
    if (unparking_) return;
    unparking_ = true;
    while (!unparked_.empty()) {
      Parked p = std::move(unparked_.front());
      unparked_.pop_front();
      (void)AcceptProposal(p.from, p.proposal, p.vote);
    }
    unparking_ = false;
  }

  // ---- helpers ----------------------------------------------------------------------------

  // After handling a message: commits, then lets a leader propose on what changed.
  absl::Status Finish() {
    CommitScan();
    MaybePropose();
    return absl::OkStatus();
  }

  const Node* Find(const Hash& id) const {
    if (auto it = blocks_.find(id); it != blocks_.end()) return &it->second;
    if (auto it = committed_.find(id); it != committed_.end()) return &it->second;
    return nullptr;
  }
  bool Known(const Hash& id) const { return id == root_id_ || blocks_.count(id) > 0; }
  // A validator of this epoch (else a replica that follows without voting).
  bool member() const { return self_ < set_.size(); }

  // Whether block `id` (known or the root) descends from the committed root.
  bool Extends(const Hash& id) const {
    for (Hash at = id;;) {
      if (at == root_id_) return true;
      auto it = blocks_.find(at);
      if (it == blocks_.end() || it->second.round <= root_round_) return false;
      at = it->second.parent;
    }
  }

  // The safety record, with the chains of every uncommitted block this replica voted for and
  // of the high QC's block. Every voted block, not only the last: any of them may still be
  // certified by votes that others hold, and then honest voters are the ones who must be able
  // to serve it (a Byzantine proposer need not).
  void Persist() {
    tds::SafetyState state = safety_;
    std::set<Hash> seen;
    std::vector<const Node*> chain;
    std::vector<Hash> tips(voted_blocks_.begin(), voted_blocks_.end());
    tips.push_back(high_qc_id_);
    // Down to the last committed block with transactions: the application keeps that one
    // durably, but not the empty blocks committed after it.
    for (const Hash& tip : tips) {
      for (Hash at = tip;;) {
        const Node* n = Find(at);
        if (n == nullptr || n->round == 0 || !seen.insert(at).second) break;
        if (!n->empty && committed_.count(at) > 0) break;
        chain.push_back(n);
        at = n->parent;
      }
    }
    std::sort(chain.begin(), chain.end(),
              [](const Node* a, const Node* b) { return a->round < b->round; });
    for (const Node* n : chain) *state.add_blocks() = n->proposal;
    out_->push_back(PersistAction{std::move(state)});
  }

  // A vote to oneself is queued and handled after the current event (DrainSelf), so a lone
  // validator's propose → vote → certify → propose chain is a loop, not a recursion.
  void SendTo(int to, const tds::ConsensusMessage& m) {
    if (to == static_cast<int>(self_)) {
      if (m.kind_case() == tds::ConsensusMessage::kVote) self_votes_.push_back(m.vote());
      return;
    }
    out_->push_back(SendAction{to, m});
  }

  void DrainSelf() {
    while (!self_votes_.empty()) {
      tds::BlockVote v = std::move(self_votes_.front());
      self_votes_.pop_front();
      (void)AcceptVote(self_, v);
    }
  }

  void ArmTimer() {
    const int shift = static_cast<int>(std::min<uint64_t>(consecutive_timeouts_, 20));
    const int64_t after = std::min(opt_.max_timeout_ms, opt_.base_timeout_ms << shift);
    out_->push_back(TimerAction{safety_.view(), after});
  }

  static constexpr uint64_t kMaxRoundsAhead = 1 << 16;
  static constexpr uint64_t kMaxViewsAhead = 1 << 16;

  struct VoteSet {
    tds::BlockRef ref;
    std::map<size_t, std::string> sigs;
    bool formed = false;
  };

  const ValidatorSet& set_;
  const size_t self_;
  const SigningKey& key_;
  BlockApp& app_;
  const CoreOptions opt_;
  Actions* out_ = nullptr;

  tds::SafetyState safety_;
  uint64_t high_qc_round_ = 0;
  Hash high_qc_id_{};
  uint64_t last_tc_high_ = 0;
  uint64_t round_ = 1;
  uint64_t proposed_round_ = 0;
  uint64_t consecutive_timeouts_ = 0;
  bool unannounced_commit_ = false;
  std::set<Hash> voted_blocks_;    // uncommitted blocks this replica voted for (journaled)
  tds::QuorumCert my_timeout_qc_;  // sent with this validator's latest timeout

  Hash root_id_{};
  uint64_t root_round_ = 0;
  std::map<Hash, Node> blocks_;     // uncommitted, executed, descending from the root
  std::map<Hash, Node> committed_;  // the last committed_window blocks, to serve fetches
  std::deque<Hash> committed_order_;
  std::multimap<Hash, Parked> pending_;  // by missing parent
  std::deque<Parked> unparked_;          // parent arrived: to accept (Unpark)
  bool unparking_ = false;
  std::set<std::pair<Hash, size_t>> requested_;  // (block, peer) asked and not yet answered

  std::map<Hash, VoteSet> votes_;
  std::map<std::pair<uint64_t, size_t>, Hash> voted_;  // (round, signer) → block voted for
  std::map<size_t, tds::TimeoutVote> latest_timeout_;  // per signer, its highest view
  std::deque<tds::BlockVote> self_votes_;
  std::set<Hash> verified_qcs_;
  std::deque<Hash> verified_order_;

  absl::Status refusal_;
  uint64_t refused_ = 0;
  uint64_t timeouts_formed_ = 0;
  size_t sync_peer_ = 0;  // non-members: the validator asked last
};

Core::Core(const ValidatorSet* set, size_t self, const SigningKey* key, BlockApp* app,
           CoreOptions options)
    : impl_(std::make_unique<Impl>(set, self, key, app, options)) {}
Core::~Core() = default;
Actions Core::Start(const tds::SafetyState& safety, const Root& root) {
  return impl_->Start(safety, root);
}
Actions Core::OnMessage(size_t from, const tds::ConsensusMessage& msg) {
  return impl_->OnMessage(from, msg);
}
Actions Core::OnTimer(uint64_t view) { return impl_->OnTimer(view); }
Actions Core::OnWork() { return impl_->OnWork(); }
Actions Core::CatchUp(size_t peer) { return impl_->CatchUp(peer); }
const absl::Status& Core::last_refusal() const { return impl_->last_refusal(); }
CoreStatus Core::status() const { return impl_->status(); }

}  // namespace tds::consensus
