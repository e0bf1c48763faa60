#include "sdk/cli/member_cmd.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "sdk/cli/describe.h"
#include "sdk/cli/output.h"
#include "sdk/cli/session.h"

namespace tds::cli {
namespace {

// "PROPOSAL_PASSED" → "PASSED".
std::string ShortStatus(std::string name) {
  constexpr std::string_view kPrefix = "PROPOSAL_";
  return name.rfind(kPrefix, 0) == 0 ? name.substr(kPrefix.size()) : name;
}

std::string StatusName(tds::ProposalStatus status) {
  return ShortStatus(tds::ProposalStatus_Name(status));
}

// --- propose ---

struct ProposeArgs {
  std::string member_id, name, public_key, tls_cert_sha256, reason;
  std::vector<std::string> roles;
  uint64_t ttl_blocks = 0;
};

enum class ProposalKind { kAdd, kRemove, kSetRoles };

int RunPropose(const GlobalOptions& g, ProposalKind kind, const ProposeArgs& a) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  sdk::TxBody tx;
  std::string what;
  switch (kind) {
    case ProposalKind::kAdd: {
      tds::Member m;
      m.set_id(a.member_id);
      m.set_name(a.name.empty() ? a.member_id : a.name);
      for (const std::string& r : a.roles) m.add_roles(r);
      m.set_public_key(a.public_key);
      m.set_tls_cert_sha256(a.tls_cert_sha256);
      tx = sdk::ProposeAddMember(m, a.reason, a.ttl_blocks);
      what = "add member " + a.member_id;
      break;
    }
    case ProposalKind::kRemove:
      tx = sdk::ProposeRemoveMember(a.member_id, a.reason, a.ttl_blocks);
      what = "remove member " + a.member_id;
      break;
    case ProposalKind::kSetRoles:
      tx = sdk::ProposeSetRoles(a.member_id, a.roles, a.reason, a.ttl_blocks);
      what = "set the roles of " + a.member_id;
      break;
  }
  return SubmitAndReport(**session, tx, [&](const tds::SubmitResponse& ack) {
    return "proposal " + ack.result() + " to " + what +
           " is open; your submission counts as your approval (members vote with `tds member "
           "vote " +
           ack.result() + " --approve`)";
  });
}

// --- vote ---

int RunVote(const GlobalOptions& g, const std::string& id_text, bool approve, bool reject) {
  uint64_t id = 0;
  if (!absl::SimpleAtoi(id_text, &id) || id == 0) {
    return Fail("PROPOSAL_ID \"" + id_text + "\": expected a proposal number (1, 2, ...)");
  }
  if (approve == reject) return Fail("pass exactly one of --approve and --reject");
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  return SubmitAndReport(**session, sdk::Vote(id, approve), [&](const tds::SubmitResponse& ack) {
    // The result is the proposal's status name after the vote ("PROPOSAL_PASSED").
    return std::string(approve ? "approved" : "rejected") + " proposal " + id_text + ": now " +
           ShortStatus(ack.result());
  });
}

// --- list / proposals ---

int RunList(const GlobalOptions& g, OutputFormat format) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kOptional);
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<tds::ListMembersResponse> r = (*session)->query->ListMembers();
  if (!r.ok()) return Fail(r.status());
  Listing listing({"id", "name", "roles", "public_key"});
  for (const tds::Member& m : r->members()) {
    listing.AddRow({m.id(), m.name(), JoinList(m.roles()), m.public_key()}, m);
  }
  listing.Print(std::cout, format);
  return 0;
}

int RunProposals(const GlobalOptions& g, OutputFormat format) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kOptional);
  if (!session.ok()) return Fail(session.status());
  tds::ListProposalsRequest request;
  request.mutable_page()->set_limit(1000);
  Listing listing({"id", "action", "proposer", "status", "approvals", "rejections", "eligible",
                   "created_height", "expires_height", "outcome"});
  while (true) {
    absl::StatusOr<tds::ListProposalsResponse> r = (*session)->query->ListProposals(request);
    if (!r.ok()) return Fail(r.status());
    for (const tds::Proposal& p : r->proposals()) {
      int approvals = 0, rejections = 0;
      for (const tds::Vote& v : p.votes()) (v.approve() ? approvals : rejections)++;
      listing.AddRow(
          {std::to_string(p.id()), DescribeProposal(p.body()), p.proposer(), StatusName(p.status()),
           std::to_string(approvals), std::to_string(rejections), std::to_string(p.eligible_size()),
           std::to_string(p.created_height()), std::to_string(p.expires_height()), p.outcome()},
          p);
    }
    if (r->next_cursor().empty()) break;
    request.mutable_page()->set_cursor(r->next_cursor());
  }
  listing.Print(std::cout, format);
  return 0;
}

}  // namespace

void AddMemberCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* member = app.add_subcommand("member", "Membership and its governance");
  member->require_subcommand(1);
  member->footer(
      "A proposal passes when more than 2/3 of the members at its creation approve, and is "
      "applied at once;\nit is rejected once that has become impossible, and expires after its "
      "ttl in blocks.");

  CLI::App* propose = member->add_subcommand("propose", "Propose a membership change");
  propose->require_subcommand(1);
  auto add_common = [](CLI::App* sub, ProposeArgs* a) {
    sub->add_option("--reason", a->reason, "Why (recorded with the proposal)");
    sub->add_option("--ttl-blocks", a->ttl_blocks,
                    "Blocks the proposal stays open (0: 1000; at most 100000)");
  };

  auto aa = std::make_shared<ProposeArgs>();
  CLI::App* add = propose->add_subcommand("add", "Admit a new member");
  add->add_option("ID", aa->member_id, "New member id, [a-z0-9][a-z0-9._-]{0,63}")->required();
  add->add_option("--roles", aa->roles, "provider, consumer, auditor, validator (comma-separated)")
      ->required()
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  add->add_option("--public-key", aa->public_key, "Its Ed25519 public key, 64 hex (tds keygen)")
      ->required();
  add->add_option("--name", aa->name, "Display name (default: the id)");
  add->add_option("--tls-cert-sha256", aa->tls_cert_sha256,
                  "Pin its TLS certificate: the fingerprint `tds cert issue` printed (docs/tls.md; "
                  "empty: matched by the certificate's CN)");
  add_common(add, aa.get());
  OnRun(add, ctx, [&g, aa] { return RunPropose(g, ProposalKind::kAdd, *aa); });

  auto ra = std::make_shared<ProposeArgs>();
  CLI::App* remove = propose->add_subcommand("remove", "Remove a member");
  remove->add_option("ID", ra->member_id, "Member id")->required();
  add_common(remove, ra.get());
  OnRun(remove, ctx, [&g, ra] { return RunPropose(g, ProposalKind::kRemove, *ra); });

  auto sa = std::make_shared<ProposeArgs>();
  CLI::App* set_roles = propose->add_subcommand("set-roles", "Replace a member's roles");
  set_roles->add_option("ID", sa->member_id, "Member id")->required();
  set_roles->add_option("--roles", sa->roles, "The new roles, comma-separated")
      ->required()
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  add_common(set_roles, sa.get());
  OnRun(set_roles, ctx, [&g, sa] { return RunPropose(g, ProposalKind::kSetRoles, *sa); });

  auto vid = std::make_shared<std::string>();
  auto approve = std::make_shared<bool>(false), reject = std::make_shared<bool>(false);
  CLI::App* vote = member->add_subcommand("vote", "Vote on an open proposal");
  vote->add_option("PROPOSAL_ID", *vid, "Proposal number (see `member proposals`)")->required();
  vote->add_flag("--approve", *approve, "Vote for");
  vote->add_flag("--reject", *reject, "Vote against");
  OnRun(vote, ctx, [&g, vid, approve, reject] { return RunVote(g, *vid, *approve, *reject); });

  auto lformat = std::make_shared<OutputFormat>(OutputFormat::kTable);
  CLI::App* list = member->add_subcommand("list", "The current members, roles and keys");
  AddOutputOption(list, lformat.get());
  OnRun(list, ctx, [&g, lformat] { return RunList(g, *lformat); });

  auto pformat = std::make_shared<OutputFormat>(OutputFormat::kTable);
  CLI::App* proposals = member->add_subcommand(
      "proposals", "Every proposal with its votes and status (EXPIRED once it can take no vote)");
  AddOutputOption(proposals, pformat.get());
  OnRun(proposals, ctx, [&g, pformat] { return RunProposals(g, *pformat); });
}

}  // namespace tds::cli
