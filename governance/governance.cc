#include "governance/governance.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "common/status_macros.h"
#include "ledger/genesis.h"
#include "ledger/membership.h"

namespace tds::governance {
namespace {

constexpr size_t kMaxReasonBytes = 1024;
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kScanPage = 256;

// ---------------------------------------------------------------------------------------------
// Reading state.

// Calls fn(key, value) for every key under `prefix` in key order, a page at a time (so no
// caller-chosen limit can truncate the result). Stops at fn's first error and returns it.
absl::Status ScanAll(const ledger::StateReader& state, std::string_view prefix,
                     const std::function<absl::Status(std::string_view, std::string_view)>& fn) {
  std::string after;
  for (;;) {
    size_t seen = 0;
    std::string last;
    absl::Status err;
    TDS_RETURN_IF_ERROR(
        state.Scan(prefix, after, kScanPage, [&](std::string_view k, std::string_view v) {
          ++seen;
          last = std::string(k);
          err = fn(k, v);
          return err.ok();
        }));
    TDS_RETURN_IF_ERROR(err);
    if (seen < kScanPage) return absl::OkStatus();
    after = std::move(last);
  }
}

// The current members, ascending by id, and how many hold the validator role.
struct Membership {
  std::vector<tds::Member> members;
  size_t validators = 0;

  const tds::Member* Find(std::string_view id) const {
    auto it = std::lower_bound(members.begin(), members.end(), id,
                               [](const tds::Member& m, std::string_view v) { return m.id() < v; });
    return it != members.end() && it->id() == id ? &*it : nullptr;
  }
};

absl::StatusOr<Membership> LoadMembership(const ledger::StateReader& state) {
  Membership ms;
  TDS_RETURN_IF_ERROR(
      ScanAll(state, ledger::kMemberPrefix, [&](std::string_view key, std::string_view value) {
        const std::string id(key.substr(ledger::kMemberPrefix.size()));
        tds::Member m;
        if (!m.ParseFromArray(value.data(), static_cast<int>(value.size())) || m.id() != id) {
          return absl::DataLossError(absl::StrCat("state: member record '", id, "' is corrupt"));
        }
        if (ledger::GenesisInfo::HasRole(m, ledger::kRoleValidator)) ++ms.validators;
        ms.members.push_back(std::move(m));
        return absl::OkStatus();
      }));
  return ms;
}

absl::StatusOr<tds::Proposal> ParseProposal(std::string_view key, std::string_view value) {
  tds::Proposal p;
  if (!p.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
      key != ProposalKey(p.id())) {
    return absl::DataLossError(
        absl::StrCat("state: proposal record '", HexEncode(key), "' is corrupt"));
  }
  return p;
}

absl::StatusOr<std::optional<tds::Proposal>> ReadProposal(const ledger::StateReader& state,
                                                          uint64_t id) {
  const std::string key = ProposalKey(id);
  TDS_ASSIGN_OR_RETURN(std::optional<std::string> raw, state.Get(key));
  if (!raw.has_value()) return std::nullopt;
  return ParseProposal(key, *raw);
}

// ---------------------------------------------------------------------------------------------
// Validating and applying actions. Messages name the field and never carry the transaction
// type, so the same check serves at proposal time and again when a proposal passes.

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

// Printable form of an untrusted string for an error message.
std::string Quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 64)) out += absl::ascii_isprint(c) ? c : '?';
  if (s.size() > 64) out += "...";
  return out + "'";
}

absl::Status CheckRoles(std::string_view field,
                        const google::protobuf::RepeatedPtrField<std::string>& roles) {
  if (roles.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), " is empty"));
  }
  std::set<std::string_view> seen;
  for (const std::string& r : roles) {
    if (!ledger::KnownRole(r)) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": unknown role ",
                                                     Quoted(r),
                                                     " (provider, consumer, auditor, validator)"));
    }
    if (!seen.insert(r).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(field), ": role '", r, "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

bool HasRole(const google::protobuf::RepeatedPtrField<std::string>& roles, std::string_view role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::Status CheckAddMember(const tds::Member& m, const Membership& ms) {
  if (!ledger::ValidMemberId(m.id())) {
    return absl::InvalidArgumentError(
        absl::StrCat("add_member.id ", Quoted(m.id()), " must match [a-z0-9][a-z0-9._-]{0,63}"));
  }
  if (ms.Find(m.id()) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("add_member.id '", m.id(), "' is already a member"));
  }
  if (m.name().empty() || m.name().size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("add_member.name of '", m.id(), "' must be 1..",
                                                   kMaxNameBytes, " bytes, got ", m.name().size()));
  }
  TDS_RETURN_IF_ERROR(CheckRoles("add_member.roles", m.roles()));
  auto key = PublicKey::FromHex(m.public_key());
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("add_member.public_key of '", m.id(),
                                                   "': ", std::string(key.status().message())));
  }
  for (const tds::Member& other : ms.members) {
    auto raw = HexDecode(other.public_key());
    if (raw.ok() && *raw == key->bytes()) {
      return absl::AlreadyExistsError(
          absl::StrCat("add_member.public_key is already the key of member '", other.id(), "'"));
    }
  }
  if (!m.tls_cert_sha256().empty() &&
      (m.tls_cert_sha256().size() != 64 || !IsHex(m.tls_cert_sha256()))) {
    return absl::InvalidArgumentError(absl::StrCat("add_member.tls_cert_sha256 of '", m.id(),
                                                   "' must be empty or 64 hex characters"));
  }
  // A pinned certificate identifies exactly one member (node/peer_identity.h).
  for (const tds::Member& other : ms.members) {
    if (!m.tls_cert_sha256().empty() && absl::AsciiStrToLower(other.tls_cert_sha256()) ==
                                            absl::AsciiStrToLower(m.tls_cert_sha256())) {
      return absl::AlreadyExistsError(absl::StrCat(
          "add_member.tls_cert_sha256 is already pinned to member '", other.id(), "'"));
    }
  }
  if (ms.members.size() >= kMaxMembers) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "add_member: the consortium already has the maximum of ", kMaxMembers, " members"));
  }
  return absl::OkStatus();
}

absl::Status CheckRemoveMember(const std::string& id, const Membership& ms) {
  const tds::Member* m = ms.Find(id);
  if (m == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("remove_member ", Quoted(id), " is not a current member"));
  }
  if (ledger::GenesisInfo::HasRole(*m, ledger::kRoleValidator) && ms.validators <= 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("remove_member '", id, "' is the last member with the validator role"));
  }
  return absl::OkStatus();
}

absl::Status CheckSetRoles(const tds::SetRoles& sr, const Membership& ms) {
  const tds::Member* m = ms.Find(sr.member_id());
  if (m == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("set_roles.member_id ", Quoted(sr.member_id()), " is not a current member"));
  }
  TDS_RETURN_IF_ERROR(CheckRoles("set_roles.roles", sr.roles()));
  if (ledger::GenesisInfo::HasRole(*m, ledger::kRoleValidator) &&
      !HasRole(sr.roles(), ledger::kRoleValidator) && ms.validators <= 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("set_roles.roles would take the validator role from '", sr.member_id(),
                     "', the last member holding it"));
  }
  return absl::OkStatus();
}

absl::Status CheckAction(const tds::ProposeBody& body, const Membership& ms) {
  switch (body.action_case()) {
    case tds::ProposeBody::kAddMember:
      return CheckAddMember(body.add_member(), ms);
    case tds::ProposeBody::kRemoveMember:
      return CheckRemoveMember(body.remove_member(), ms);
    case tds::ProposeBody::kSetRoles:
      return CheckSetRoles(body.set_roles(), ms);
    case tds::ProposeBody::ACTION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("action: none of add_member, remove_member, set_roles is set");
}

// Applies a checked action; returns the outcome text for the proposal record.
// REQUIRES: CheckAction(body, ms) is OK.
std::string ApplyAction(const tds::ProposeBody& body, const Membership& ms,
                        ledger::StateWriter& state) {
  switch (body.action_case()) {
    case tds::ProposeBody::kAddMember: {
      const tds::Member& in = body.add_member();
      tds::Member m;  // canonical: known fields only, lowercase hex
      m.set_id(in.id());
      m.set_name(in.name());
      *m.mutable_roles() = in.roles();
      m.set_public_key(PublicKey::FromHex(in.public_key())->hex());
      m.set_tls_cert_sha256(absl::AsciiStrToLower(in.tls_cert_sha256()));
      state.Put(ledger::MemberStateKey(m.id()), m.SerializeAsString());
      return absl::StrCat("member '", m.id(), "' added with roles ", absl::StrJoin(m.roles(), ","));
    }
    case tds::ProposeBody::kRemoveMember:
      state.Delete(ledger::MemberStateKey(body.remove_member()));
      return absl::StrCat("member '", body.remove_member(), "' removed");
    case tds::ProposeBody::kSetRoles: {
      tds::Member m = *ms.Find(body.set_roles().member_id());
      *m.mutable_roles() = body.set_roles().roles();
      state.Put(ledger::MemberStateKey(m.id()), m.SerializeAsString());
      return absl::StrCat("member '", m.id(), "' now has roles ", absl::StrJoin(m.roles(), ","));
    }
    case tds::ProposeBody::ACTION_NOT_SET:
      break;
  }
  return std::string();
}

// ---------------------------------------------------------------------------------------------
// Deciding.

// Decides `p` from its votes if it can be decided (see the header); applies a passed action.
absl::Status Decide(tds::Proposal& p, uint64_t height, ledger::StateWriter& state) {
  const uint64_t n = static_cast<uint64_t>(p.eligible_size());
  uint64_t approvals = 0;
  uint64_t rejections = 0;
  for (const tds::Vote& v : p.votes()) ++(v.approve() ? approvals : rejections);
  if (approvals * 3 > n * 2) {
    TDS_ASSIGN_OR_RETURN(Membership ms, LoadMembership(state));
    p.set_decided_height(height);
    if (absl::Status s = CheckAction(p.body(), ms); !s.ok()) {
      p.set_status(tds::PROPOSAL_FAILED);
      p.set_outcome(absl::StrCat("passed but not applied: ", std::string(s.message())));
    } else {
      p.set_status(tds::PROPOSAL_PASSED);
      p.set_outcome(ApplyAction(p.body(), ms, state));
    }
  } else if ((n - rejections) * 3 <= n * 2) {
    p.set_decided_height(height);
    p.set_status(tds::PROPOSAL_REJECTED);
    p.set_outcome(absl::StrCat(rejections, " of ", n, " eligible members rejected"));
  }
  return absl::OkStatus();
}

absl::Status WithPrefix(std::string_view prefix, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(std::string(prefix), ": ", std::string(s.message())));
}

// ---------------------------------------------------------------------------------------------
// Handlers.

class ProposeHandler : public ledger::TxHandler {
 public:
  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view raw,
                                    ledger::StateWriter& state) const override {
    tds::ProposeBody body;
    if (!body.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
      return absl::InvalidArgumentError("gov.propose: body is not a tds.ProposeBody");
    }
    body.DiscardUnknownFields();  // the stored record holds only what this code understood
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> proposer,
                         ledger::ReadMember(state, ctx.submitter));
    if (!proposer.has_value()) {
      return absl::PermissionDeniedError(
          absl::StrCat("gov.propose: '", ctx.submitter, "' is not a current member"));
    }
    if (body.reason().size() > kMaxReasonBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gov.propose: reason is ", body.reason().size(), " bytes; at most ", kMaxReasonBytes));
    }
    if (body.ttl_blocks() > kMaxTtlBlocks) {
      return absl::InvalidArgumentError(absl::StrCat("gov.propose: ttl_blocks ", body.ttl_blocks(),
                                                     " exceeds the limit of ", kMaxTtlBlocks));
    }
    if (body.ttl_blocks() == 0) body.set_ttl_blocks(kDefaultTtlBlocks);

    TDS_ASSIGN_OR_RETURN(Membership ms, LoadMembership(state));
    if (absl::Status s = CheckAction(body, ms); !s.ok()) return WithPrefix("gov.propose", s);

    TDS_ASSIGN_OR_RETURN(std::optional<std::string> next_raw, state.Get(kNextProposalIdKey));
    uint64_t id = 1;
    if (next_raw.has_value()) {
      if (next_raw->size() != 8) {
        return absl::DataLossError(
            absl::StrCat("state: '", std::string(kNextProposalIdKey), "' is corrupt"));
      }
      id = DecodeFixed64BE(next_raw->data());
    }
    std::string next;
    PutFixed64BE(&next, id + 1);
    state.Put(kNextProposalIdKey, next);

    const uint64_t height = ctx.block->height;
    tds::Proposal p;
    p.set_id(id);
    p.set_proposer(ctx.submitter);
    *p.mutable_body() = std::move(body);
    p.set_created_height(height);
    p.set_created_ms(ctx.block->timestamp_ms);
    p.set_expires_height(height + p.body().ttl_blocks());
    for (const tds::Member& m : ms.members) p.add_eligible(m.id());
    tds::Vote* own = p.add_votes();  // proposing is approving
    own->set_member_id(ctx.submitter);
    own->set_approve(true);
    own->set_height(height);
    p.set_status(tds::PROPOSAL_OPEN);
    TDS_RETURN_IF_ERROR(Decide(p, height, state));  // a lone member decides at once
    state.Put(ProposalKey(id), p.SerializeAsString());
    return absl::StrCat(id);
  }
};

class VoteHandler : public ledger::TxHandler {
 public:
  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view raw,
                                    ledger::StateWriter& state) const override {
    tds::VoteBody body;
    if (!body.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
      return absl::InvalidArgumentError("gov.vote: body is not a tds.VoteBody");
    }
    const uint64_t id = body.proposal_id();
    const uint64_t height = ctx.block->height;
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Proposal> found, ReadProposal(state, id));
    if (!found.has_value()) {
      return absl::NotFoundError(absl::StrCat("gov.vote: proposal ", id, " does not exist"));
    }
    tds::Proposal& p = *found;
    if (p.status() != tds::PROPOSAL_OPEN) {
      return absl::FailedPreconditionError(absl::StrCat(
          "gov.vote: proposal ", id, " is already decided (", tds::ProposalStatus_Name(p.status()),
          " at height ", p.decided_height(), ")"));
    }
    if (height > p.expires_height()) {
      return absl::FailedPreconditionError(
          absl::StrCat("gov.vote: proposal ", id, " expired at height ", p.expires_height() + 1,
                       " (it was open through height ", p.expires_height(), ")"));
    }
    if (!std::binary_search(p.eligible().begin(), p.eligible().end(), ctx.submitter)) {
      return absl::PermissionDeniedError(
          absl::StrCat("gov.vote: member '", ctx.submitter, "' may not vote on proposal ", id,
                       ": it was not a member when the proposal was made"));
    }
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> voter,
                         ledger::ReadMember(state, ctx.submitter));
    if (!voter.has_value()) {
      return absl::PermissionDeniedError(
          absl::StrCat("gov.vote: '", ctx.submitter, "' is no longer a current member"));
    }
    for (const tds::Vote& v : p.votes()) {
      if (v.member_id() == ctx.submitter) {
        return absl::AlreadyExistsError(
            absl::StrCat("gov.vote: member '", ctx.submitter, "' already voted on proposal ", id));
      }
    }
    tds::Vote* v = p.add_votes();
    v->set_member_id(ctx.submitter);
    v->set_approve(body.approve());
    v->set_height(height);
    TDS_RETURN_IF_ERROR(Decide(p, height, state));
    state.Put(ProposalKey(id), p.SerializeAsString());
    return tds::ProposalStatus_Name(p.status());
  }
};

}  // namespace

void Register(ledger::Application& app) {
  app.Register(std::string(kProposeTxType), std::make_unique<ProposeHandler>());
  app.Register(std::string(kVoteTxType), std::make_unique<VoteHandler>());
}

std::string ProposalKey(uint64_t id) {
  std::string key(kProposalPrefix);
  PutFixed64BE(&key, id);
  return key;
}

tds::Proposal EffectiveProposal(const tds::Proposal& p, uint64_t current_height) {
  tds::Proposal out = p;
  if (out.status() == tds::PROPOSAL_OPEN && current_height > out.expires_height()) {
    out.set_status(tds::PROPOSAL_EXPIRED);
  }
  return out;
}

absl::StatusOr<std::vector<tds::Proposal>> ListProposals(const ledger::StateReader& state,
                                                         uint64_t current_height, uint64_t after_id,
                                                         size_t limit) {
  std::vector<tds::Proposal> out;
  limit = std::min(limit, kMaxListLimit);
  if (limit == 0) return out;
  absl::Status err;
  TDS_RETURN_IF_ERROR(state.Scan(kProposalPrefix, after_id == 0 ? "" : ProposalKey(after_id), limit,
                                 [&](std::string_view k, std::string_view v) {
                                   auto p = ParseProposal(k, v);
                                   if (!p.ok()) {
                                     err = p.status();
                                     return false;
                                   }
                                   out.push_back(EffectiveProposal(*p, current_height));
                                   return true;
                                 }));
  TDS_RETURN_IF_ERROR(err);
  return out;
}

absl::StatusOr<std::vector<tds::Member>> ListMembers(const ledger::StateReader& state) {
  TDS_ASSIGN_OR_RETURN(Membership ms, LoadMembership(state));
  return std::move(ms.members);
}

}  // namespace tds::governance
