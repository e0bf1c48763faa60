#include "governance/governance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "ledger/ledger.h"
#include "ledger/membership.h"
#include "ledger/test_network.h"
#include "ledger/test_util.h"

namespace tds::governance {
namespace {

using ledger::testing::KeyFromByte;
using ledger::testing::MakeTx;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "test.noop": accepted, writes nothing; used to advance the height and to prove admission.
class NoopHandler : public ledger::TxHandler {
 public:
  absl::StatusOr<std::string> Apply(const ledger::TxContext&, std::string_view,
                                    ledger::StateWriter&) const override {
    return std::string("noop");
  }
};

// Key bytes by member id: a (the one validator) 1, b 2, c 3, d 4; newcomers e 5, f 6.
const std::map<std::string, uint8_t>& KeyBytes() {
  static const auto* m = new std::map<std::string, uint8_t>{{"a", 1}, {"b", 2}, {"c", 3},  {"d", 4},
                                                            {"e", 5}, {"f", 6}, {"zed", 9}};
  return *m;
}
std::string KeyHex(const std::string& id) {
  return KeyFromByte(KeyBytes().at(id))->public_key().hex();
}

ledger::GenesisInfo MakeGenesis(const std::vector<std::string>& specs) {
  auto json = ledger::BuildGenesisJson("tds.test/governance", specs);
  EXPECT_TRUE(json.ok()) << json.status();
  return std::move(ledger::GenesisInfo::Parse(*json, "gov-genesis")).value();
}

// a: validator+provider, b: consumer, c: auditor, d: provider.
ledger::GenesisInfo FourMembers() {
  return MakeGenesis({"a:validator,provider:" + KeyHex("a"), "b:consumer:" + KeyHex("b"),
                      "c:auditor:" + KeyHex("c"), "d:provider:" + KeyHex("d")});
}

tds::Member NewMember(const std::string& id, const std::string& key_owner,
                      std::vector<std::string> roles = {"consumer"}) {
  tds::Member m;
  m.set_id(id);
  m.set_name("Member " + id);
  for (const auto& r : roles) m.add_roles(r);
  m.set_public_key(KeyHex(key_owner));
  return m;
}

std::string AddBody(const tds::Member& m, uint64_t ttl = 0) {
  tds::ProposeBody b;
  *b.mutable_add_member() = m;
  b.set_ttl_blocks(ttl);
  b.set_reason("admit " + m.id());
  return b.SerializeAsString();
}
std::string RemoveBody(const std::string& id) {
  tds::ProposeBody b;
  b.set_remove_member(id);
  return b.SerializeAsString();
}
std::string SetRolesBody(const std::string& id, std::vector<std::string> roles) {
  tds::ProposeBody b;
  b.mutable_set_roles()->set_member_id(id);
  for (const auto& r : roles) b.mutable_set_roles()->add_roles(r);
  return b.SerializeAsString();
}
std::string VoteBody(uint64_t id, bool approve) {
  tds::VoteBody v;
  v.set_proposal_id(id);
  v.set_approve(approve);
  return v.SerializeAsString();
}

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

class GovernanceTest : public ::testing::Test {
 protected:
  GovernanceTest() {
    Register(app_);
    app_.Register("test.noop", std::make_unique<NoopHandler>());
  }

  void SetUp() override { ledger_ = Open(dir_.Sub("ledger"), FourMembers()); }

  std::unique_ptr<ledger::Ledger> Open(const std::string& dir, ledger::GenesisInfo genesis,
                                       const std::string& member = "a") {
    ledger::LedgerOptions opts;
    opts.data_dir = dir;
    opts.clock = [] { return int64_t{1'800'000'000'000}; };
    if (member != "a" || replicated_) {
      opts.send = net_.SenderFor(member);
      opts.consensus_timeout_ms = 200;
    }
    auto l =
        ledger::Ledger::Open(opts, std::move(genesis), KeyFromByte(KeyBytes().at(member)), &app_);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? std::move(*l) : nullptr;
  }

  absl::StatusOr<ledger::SubmitAck> Submit(const std::string& member, std::string_view type,
                                           const std::string& body) {
    return ledger_->SubmitAndWait(
        MakeTx(*KeyFromByte(KeyBytes().at(member)), member, std::string(type), body, ++nonce_));
  }
  // Proposes and returns the new proposal's id (0 on failure, after a test failure).
  uint64_t Propose(const std::string& member, const std::string& body) {
    auto ack = Submit(member, kProposeTxType, body);
    EXPECT_TRUE(ack.ok()) << ack.status();
    return ack.ok() ? std::stoull(ack->result) : 0;
  }
  absl::StatusOr<std::string> Vote(const std::string& member, uint64_t id, bool approve) {
    auto ack = Submit(member, kVoteTxType, VoteBody(id, approve));
    if (!ack.ok()) return ack.status();
    return ack->result;
  }
  absl::StatusOr<ledger::SubmitAck> Noop(const std::string& member = "a") {
    return Submit(member, "test.noop", "");
  }
  tds::Proposal GetProposal(uint64_t id) {
    tds::Proposal p;
    auto raw = ledger_->GetState(ProposalKey(id));
    EXPECT_TRUE(raw.ok() && raw->has_value()) << "proposal " << id;
    if (raw.ok() && raw->has_value()) {
      EXPECT_TRUE(p.ParseFromString(**raw));
    }
    return p;
  }
  std::optional<tds::Member> GetMember(const std::string& id) {
    auto m = ledger::ReadMember(ledger_->state(), id);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : std::nullopt;
  }
  std::vector<std::string> MemberIds() {
    auto members = ListMembers(ledger_->state());
    EXPECT_TRUE(members.ok()) << members.status();
    std::vector<std::string> ids;
    if (members.ok()) {
      for (const auto& m : *members) ids.push_back(m.id());
    }
    return ids;
  }
  // Passes proposal `id` (made by a) with votes from b and c.
  void PassWithBAndC(uint64_t id) {
    ASSERT_TRUE(Vote("b", id, true).ok());
    auto r = Vote("c", id, true);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, "PROPOSAL_PASSED");
  }

  // Runs b's node beside a's (over memory): once governance makes b a validator, the two
  // order blocks together (ledger/epochs.h), and a alone could not.
  void ReplicateToB() {
    replicated_ = true;
    ledger_.reset();
    ledger_ = Open(dir_.Sub("ledger"), FourMembers());
    ledger_b_ = Open(dir_.Sub("ledger-b"), FourMembers(), "b");
    net_.Attach("a", ledger_.get());
    net_.Attach("b", ledger_b_.get());
  }
  void TearDown() override {
    net_.Attach("a", nullptr);
    net_.Attach("b", nullptr);
    ledger_b_.reset();
    ledger_.reset();
  }

  ledger::testing::TempDir dir_;
  ledger::Application app_;
  ledger::testing::MemoryNetwork net_;
  bool replicated_ = false;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ledger::Ledger> ledger_b_;
  uint64_t nonce_ = 0;
};

TEST_F(GovernanceTest, AddMemberPassesOnlyWithMoreThanTwoThirdsOfEligibleMembers) {
  ASSERT_TRUE(Noop().ok());  // block 1 seeds the genesis members
  const uint64_t id = Propose("a", AddBody(NewMember("e", "e", {"consumer", "auditor"})));
  ASSERT_EQ(id, 1u);
  tds::Proposal p = GetProposal(id);
  EXPECT_EQ(p.proposer(), "a");
  EXPECT_EQ(p.status(), tds::PROPOSAL_OPEN);
  EXPECT_THAT(p.eligible(), ElementsAre("a", "b", "c", "d"));
  ASSERT_EQ(p.votes_size(), 1);  // proposing counts as approving
  EXPECT_EQ(p.votes(0).member_id(), "a");
  EXPECT_TRUE(p.votes(0).approve());
  EXPECT_EQ(p.created_height(), 2u);
  EXPECT_EQ(p.created_ms(), 1'800'000'000'000);
  EXPECT_EQ(p.expires_height(), 2u + kDefaultTtlBlocks);
  EXPECT_EQ(p.body().ttl_blocks(), kDefaultTtlBlocks);

  // Two approvals of four: 6 > 8 fails.
  auto r = Vote("b", id, true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "PROPOSAL_OPEN");
  EXPECT_FALSE(GetMember("e").has_value());

  // Three of four: 9 > 8.
  r = Vote("c", id, true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "PROPOSAL_PASSED");
  p = GetProposal(id);
  EXPECT_EQ(p.status(), tds::PROPOSAL_PASSED);
  EXPECT_EQ(p.decided_height(), ledger_->Status().height);
  EXPECT_THAT(p.outcome(), HasSubstr("member 'e' added"));
  auto e = GetMember("e");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name(), "Member e");
  EXPECT_THAT(e->roles(), ElementsAre("consumer", "auditor"));
  EXPECT_EQ(e->public_key(), KeyHex("e"));
  EXPECT_THAT(MemberIds(), ElementsAre("a", "b", "c", "d", "e"));

  // Decided: the fourth vote is refused and not logged.
  const uint64_t log_size = ledger_->Status().log_size;
  auto late = Vote("d", id, true);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(late.status()), HasSubstr("proposal 1 is already decided (PROPOSAL_PASSED"));
  EXPECT_EQ(ledger_->Status().log_size, log_size);
}

TEST_F(GovernanceTest, ProposalIdsCountUpAndTheResultIsTheDecimalId) {
  auto ack = Submit("b", kProposeTxType, AddBody(NewMember("e", "e")));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->result, "1");
  ack = Submit("c", kProposeTxType, RemoveBody("d"));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->result, "2");
  EXPECT_EQ(GetProposal(2).proposer(), "c");
}

TEST_F(GovernanceTest, UppercaseHexIsStoredLowercaseSoTheLedgerRecognisesTheKey) {
  tds::Member m = NewMember("e", "e");
  std::string upper = m.public_key();
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  m.set_public_key(upper);
  m.set_tls_cert_sha256(std::string(64, 'A'));
  const uint64_t id = Propose("a", AddBody(m));
  PassWithBAndC(id);
  auto e = GetMember("e");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->public_key(), KeyHex("e"));
  EXPECT_EQ(e->tls_cert_sha256(), std::string(64, 'a'));
}

TEST_F(GovernanceTest, NewMemberCanSubmitOnlyAfterItsAdmissionPasses) {
  auto before = Noop("e");
  EXPECT_EQ(before.status().code(), absl::StatusCode::kPermissionDenied);
  const uint64_t id = Propose("a", AddBody(NewMember("e", "e")));
  ASSERT_TRUE(Vote("b", id, true).ok());
  EXPECT_FALSE(Noop("e").ok());  // still open
  ASSERT_TRUE(Vote("c", id, true).ok());
  auto after = Noop("e");
  EXPECT_TRUE(after.ok()) << after.status();
  // And it is a full member: it may propose.
  auto ack = Submit("e", kProposeTxType, SetRolesBody("e", {"consumer", "provider"}));
  EXPECT_TRUE(ack.ok()) << ack.status();
}

TEST_F(GovernanceTest, RemovedMemberIsGoneAndItsTransactionsAreRefused) {
  ASSERT_TRUE(Noop("d").ok());
  const uint64_t id = Propose("a", RemoveBody("d"));
  PassWithBAndC(id);
  EXPECT_FALSE(GetMember("d").has_value());
  EXPECT_THAT(MemberIds(), ElementsAre("a", "b", "c"));
  EXPECT_THAT(GetProposal(id).outcome(), HasSubstr("member 'd' removed"));

  const uint64_t log_size = ledger_->Status().log_size;
  auto refused = Noop("d");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(refused.status()), HasSubstr("is not a current member"));
  EXPECT_FALSE(Submit("d", kProposeTxType, AddBody(NewMember("f", "f"))).ok());
  EXPECT_EQ(ledger_->Status().log_size, log_size);
}

TEST_F(GovernanceTest, RemovedMemberCannotVoteOnAProposalItWasEligibleFor) {
  const uint64_t open = Propose("a", AddBody(NewMember("e", "e")));
  const uint64_t remove = Propose("a", RemoveBody("d"));
  PassWithBAndC(remove);
  EXPECT_THAT(GetProposal(open).eligible(), ElementsAre("a", "b", "c", "d"));
  auto r = Vote("d", open, true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetProposal(open).votes_size(), 1);
}

TEST_F(GovernanceTest, SetRolesReplacesTheRoles) {
  const uint64_t id = Propose("a", SetRolesBody("b", {"provider", "auditor"}));
  PassWithBAndC(id);
  auto b = GetMember("b");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(b->roles(), ElementsAre("provider", "auditor"));
  EXPECT_EQ(b->public_key(), KeyHex("b"));
  EXPECT_TRUE(ledger::RequireRole(ledger_->state(), "b", "provider").ok());
  EXPECT_THAT(Msg(ledger::RequireRole(ledger_->state(), "b", "consumer").status()),
              HasSubstr("lacks role 'consumer'"));
}

TEST_F(GovernanceTest, ValidatorRoleCanMoveWhenAnotherValidatorExists) {
  ReplicateToB();
  PassWithBAndC(Propose("a", SetRolesBody("b", {"consumer", "validator"})));
  // Now two validators: a may give its validator role up, and then b may not.
  PassWithBAndC(Propose("a", SetRolesBody("a", {"provider"})));
  EXPECT_THAT(GetMember("a")->roles(), ElementsAre("provider"));
  auto r = Submit("a", kProposeTxType, RemoveBody("b"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr("remove_member 'b' is the last member with the validator"));
}

TEST_F(GovernanceTest, RejectedOnceApprovalIsImpossible) {
  const uint64_t id = Propose("a", AddBody(NewMember("e", "e")));
  auto r = Vote("b", id, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "PROPOSAL_OPEN");  // 3 approvals still possible: 9 > 8
  r = Vote("c", id, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "PROPOSAL_REJECTED");  // at most 2 approvals: 6 <= 8
  tds::Proposal p = GetProposal(id);
  EXPECT_EQ(p.status(), tds::PROPOSAL_REJECTED);
  EXPECT_EQ(p.decided_height(), ledger_->Status().height);
  EXPECT_EQ(p.outcome(), "2 of 4 eligible members rejected");
  ASSERT_EQ(p.votes_size(), 3);
  EXPECT_FALSE(p.votes(2).approve());
  EXPECT_FALSE(GetMember("e").has_value());
  auto late = Vote("d", id, true);
  EXPECT_THAT(Msg(late.status()), HasSubstr("proposal 1 is already decided (PROPOSAL_REJECTED"));
}

TEST_F(GovernanceTest, ExpiresAfterTtlBlocks) {
  ASSERT_TRUE(Noop().ok());
  const uint64_t id = Propose("a", AddBody(NewMember("e", "e"), /*ttl=*/2));
  tds::Proposal p = GetProposal(id);
  const uint64_t created = p.created_height();
  EXPECT_EQ(p.expires_height(), created + 2);
  ASSERT_TRUE(Vote("b", id, true).ok());  // created + 1
  ASSERT_TRUE(Noop().ok());               // created + 2, the last open height
  EXPECT_EQ(EffectiveProposal(GetProposal(id), created + 2).status(), tds::PROPOSAL_OPEN);

  const std::string before = *ledger_->GetState(ProposalKey(id)).value();
  const uint64_t log_size = ledger_->Status().log_size;
  auto r = Vote("c", id, true);  // would be created + 3
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr(absl::StrCat("gov.vote: proposal 1 expired at height ", created + 3)));
  EXPECT_EQ(*ledger_->GetState(ProposalKey(id)).value(), before);  // stored status stays OPEN
  EXPECT_EQ(ledger_->Status().log_size, log_size);
  EXPECT_FALSE(GetMember("e").has_value());

  const uint64_t now = ledger_->Status().height;
  EXPECT_EQ(GetProposal(id).status(), tds::PROPOSAL_OPEN);
  EXPECT_EQ(EffectiveProposal(GetProposal(id), now + 1).status(), tds::PROPOSAL_EXPIRED);
  auto listed = ListProposals(ledger_->state(), now + 1, 0, 10);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].status(), tds::PROPOSAL_EXPIRED);
}

TEST_F(GovernanceTest, EffectiveProposalLeavesDecidedProposalsAlone) {
  tds::Proposal p;
  p.set_expires_height(10);
  p.set_status(tds::PROPOSAL_PASSED);
  EXPECT_EQ(EffectiveProposal(p, 50).status(), tds::PROPOSAL_PASSED);
  p.set_status(tds::PROPOSAL_OPEN);
  EXPECT_EQ(EffectiveProposal(p, 10).status(), tds::PROPOSAL_OPEN);
  EXPECT_EQ(EffectiveProposal(p, 11).status(), tds::PROPOSAL_EXPIRED);
}

TEST_F(GovernanceTest, SecondVoteBySameMemberIsRefused) {
  const uint64_t id = Propose("a", AddBody(NewMember("e", "e")));
  ASSERT_TRUE(Vote("b", id, true).ok());
  const uint64_t log_size = ledger_->Status().log_size;
  auto again = Vote("b", id, false);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(Msg(again.status()), HasSubstr("member 'b' already voted on proposal 1"));
  auto own = Vote("a", id, true);  // the proposer voted by proposing
  EXPECT_THAT(Msg(own.status()), HasSubstr("member 'a' already voted on proposal 1"));
  EXPECT_EQ(GetProposal(id).votes_size(), 2);
  EXPECT_EQ(ledger_->Status().log_size, log_size);
}

TEST_F(GovernanceTest, MemberAdmittedAfterAProposalCannotVoteOnIt) {
  const uint64_t earlier = Propose("a", SetRolesBody("d", {"provider", "consumer"}));
  PassWithBAndC(Propose("a", AddBody(NewMember("e", "e"))));
  auto r = Vote("e", earlier, true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr("member 'e' may not vote on proposal 1: it was not a member when"));
  EXPECT_EQ(GetProposal(earlier).votes_size(), 1);
}

TEST_F(GovernanceTest, VoteOnUnknownProposalIsRefused) {
  auto r = Vote("b", 42, true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(r.status()), HasSubstr("gov.vote: proposal 42 does not exist"));
  auto garbage = Submit("b", kVoteTxType, "\xff\xff\xff");
  EXPECT_THAT(Msg(garbage.status()), HasSubstr("gov.vote: body is not a tds.VoteBody"));
}

TEST_F(GovernanceTest, NonMemberProposerIsRefusedAtAdmission) {
  auto r = Submit("zed", kProposeTxType, AddBody(NewMember("zed", "zed")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(r.status()), HasSubstr("is not a current member"));
  // Signing as a member with someone else's key is refused too.
  auto forged = ledger_->SubmitAndWait(MakeTx(*KeyFromByte(9), "b", std::string(kProposeTxType),
                                              AddBody(NewMember("zed", "zed")), 1));
  EXPECT_EQ(forged.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ledger_->Status().log_size, 0u);
}

TEST_F(GovernanceTest, APinnedCertificateIdentifiesOneMemberOnly) {
  ASSERT_TRUE(Noop().ok());
  const std::string pin(64, 'a');
  tds::Member e = NewMember("e", "e");
  e.set_tls_cert_sha256(pin);
  const uint64_t id = Propose("a", AddBody(e));
  ASSERT_TRUE(Vote("b", id, true).ok());
  ASSERT_EQ(*Vote("c", id, true), "PROPOSAL_PASSED");
  tds::Member f = NewMember("f", "f");
  f.set_tls_cert_sha256(std::string(64, 'A'));  // the same pin, another spelling
  auto r = Submit("b", kProposeTxType, AddBody(f));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr("add_member.tls_cert_sha256 is already pinned to member 'e'"));
}

TEST_F(GovernanceTest, InvalidProposalsAreRefusedWithTheReasonAndChangeNothing) {
  ASSERT_TRUE(Noop().ok());
  const ledger::LedgerStatus before = ledger_->Status();

  auto expect_refused = [&](const std::string& body, absl::StatusCode code,
                            const std::string& message) {
    auto r = Submit("b", kProposeTxType, body);
    EXPECT_EQ(r.status().code(), code) << message << " / " << r.status();
    EXPECT_THAT(Msg(r.status()), HasSubstr(message));
  };
  using absl::StatusCode;
  expect_refused(AddBody(NewMember("Bad_ID", "e")), StatusCode::kInvalidArgument,
                 "gov.propose: add_member.id 'Bad_ID' must match [a-z0-9][a-z0-9._-]{0,63}");
  expect_refused(AddBody(NewMember("-e", "e")), StatusCode::kInvalidArgument, "add_member.id '-e'");
  expect_refused(AddBody(NewMember(std::string(65, 'e'), "e")), StatusCode::kInvalidArgument,
                 "must match");
  expect_refused(AddBody(NewMember("b", "e")), StatusCode::kAlreadyExists,
                 "gov.propose: add_member.id 'b' is already a member");
  expect_refused(AddBody(NewMember("e", "c")), StatusCode::kAlreadyExists,
                 "gov.propose: add_member.public_key is already the key of member 'c'");
  expect_refused(AddBody(NewMember("e", "e", {"consumer", "admin"})), StatusCode::kInvalidArgument,
                 "gov.propose: add_member.roles: unknown role 'admin'");
  expect_refused(AddBody(NewMember("e", "e", {})), StatusCode::kInvalidArgument,
                 "gov.propose: add_member.roles is empty");
  expect_refused(AddBody(NewMember("e", "e", {"auditor", "auditor"})), StatusCode::kInvalidArgument,
                 "role 'auditor' is listed twice");
  tds::Member bad_key = NewMember("e", "e");
  bad_key.set_public_key("abcd");
  expect_refused(AddBody(bad_key), StatusCode::kInvalidArgument,
                 "gov.propose: add_member.public_key of 'e'");
  tds::Member small_order = NewMember("e", "e");
  small_order.set_public_key(std::string(64, '0'));  // the identity point
  expect_refused(AddBody(small_order), StatusCode::kInvalidArgument, "add_member.public_key");
  tds::Member bad_tls = NewMember("e", "e");
  bad_tls.set_tls_cert_sha256("xyz");
  expect_refused(AddBody(bad_tls), StatusCode::kInvalidArgument,
                 "add_member.tls_cert_sha256 of 'e' must be empty or 64 hex characters");
  tds::Member no_name = NewMember("e", "e");
  no_name.clear_name();
  expect_refused(AddBody(no_name), StatusCode::kInvalidArgument, "add_member.name of 'e'");

  expect_refused(RemoveBody("a"), StatusCode::kFailedPrecondition,
                 "gov.propose: remove_member 'a' is the last member with the validator role");
  expect_refused(RemoveBody("nobody"), StatusCode::kNotFound,
                 "gov.propose: remove_member 'nobody' is not a current member");
  expect_refused(SetRolesBody("a", {"provider"}), StatusCode::kFailedPrecondition,
                 "set_roles.roles would take the validator role from 'a', the last member");
  expect_refused(SetRolesBody("nobody", {"provider"}), StatusCode::kNotFound,
                 "set_roles.member_id 'nobody' is not a current member");
  expect_refused(SetRolesBody("b", {"root"}), StatusCode::kInvalidArgument,
                 "set_roles.roles: unknown role 'root'");
  expect_refused(SetRolesBody("b", {}), StatusCode::kInvalidArgument, "set_roles.roles is empty");

  tds::ProposeBody empty;
  expect_refused(empty.SerializeAsString(), StatusCode::kInvalidArgument,
                 "gov.propose: action: none of add_member, remove_member, set_roles is set");
  expect_refused(AddBody(NewMember("e", "e"), kMaxTtlBlocks + 1), StatusCode::kInvalidArgument,
                 "gov.propose: ttl_blocks 100001 exceeds the limit of 100000");
  tds::ProposeBody long_reason;
  long_reason.set_remove_member("d");
  long_reason.set_reason(std::string(2000, 'x'));
  expect_refused(long_reason.SerializeAsString(), StatusCode::kInvalidArgument,
                 "gov.propose: reason is 2000 bytes; at most 1024");
  expect_refused("\xff\xff\xff", StatusCode::kInvalidArgument,
                 "gov.propose: body is not a tds.ProposeBody");

  const ledger::LedgerStatus after = ledger_->Status();
  EXPECT_EQ(after.log_size, before.log_size);
  EXPECT_EQ(after.state_digest, before.state_digest);
  EXPECT_FALSE(ledger_->GetState(kNextProposalIdKey)->has_value());
  EXPECT_THAT(MemberIds(), ElementsAre("a", "b", "c", "d"));
}

TEST_F(GovernanceTest, MaxTtlIsAccepted) {
  const uint64_t id = Propose("b", AddBody(NewMember("e", "e"), kMaxTtlBlocks));
  tds::Proposal p = GetProposal(id);
  EXPECT_EQ(p.expires_height(), p.created_height() + kMaxTtlBlocks);
}

TEST_F(GovernanceTest, PassedProposalWhoseActionNoLongerAppliesFailsButRecordsTheVote) {
  const uint64_t first = Propose("a", AddBody(NewMember("e", "e")));
  const uint64_t second = Propose("b", AddBody(NewMember("e", "f")));  // same id, other key
  PassWithBAndC(first);
  ASSERT_TRUE(Vote("a", second, true).ok());
  auto r = Vote("c", second, true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "PROPOSAL_FAILED");
  tds::Proposal p = GetProposal(second);
  EXPECT_EQ(p.status(), tds::PROPOSAL_FAILED);
  EXPECT_EQ(p.votes_size(), 3);
  EXPECT_EQ(p.decided_height(), ledger_->Status().height);
  EXPECT_EQ(p.outcome(), "passed but not applied: add_member.id 'e' is already a member");
  EXPECT_EQ(GetMember("e")->public_key(), KeyHex("e"));  // the first admission stands
}

TEST_F(GovernanceTest, LastValidatorGuardHoldsAgainstTwoConcurrentProposals) {
  ReplicateToB();
  PassWithBAndC(Propose("a", SetRolesBody("b", {"validator"})));
  const uint64_t drop_a = Propose("a", SetRolesBody("a", {"provider"}));
  const uint64_t drop_b = Propose("a", RemoveBody("b"));  // each alone is fine
  PassWithBAndC(drop_a);
  ASSERT_TRUE(Vote("b", drop_b, true).ok());
  auto r = Vote("c", drop_b, true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "PROPOSAL_FAILED");
  EXPECT_THAT(GetProposal(drop_b).outcome(),
              HasSubstr("remove_member 'b' is the last member with the validator role"));
  EXPECT_TRUE(GetMember("b").has_value());
}

TEST_F(GovernanceTest, ListProposalsPagesInIdOrder) {
  for (int i = 0; i < 5; ++i) Propose("b", RemoveBody("d"));
  auto page = ListProposals(ledger_->state(), ledger_->Status().height, 0, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id(), 1u);
  EXPECT_EQ((*page)[1].id(), 2u);
  page = ListProposals(ledger_->state(), ledger_->Status().height, 2, 100);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].id(), 3u);
  EXPECT_EQ((*page)[2].id(), 5u);
  EXPECT_TRUE(ListProposals(ledger_->state(), 1, 5, 100)->empty());
  EXPECT_TRUE(ListProposals(ledger_->state(), 1, 0, 0)->empty());
}

TEST(GovernanceSingleMemberTest, ALoneMemberDecidesByProposing) {
  ledger::Application app;
  Register(app);
  ledger::testing::TempDir dir;
  ledger::LedgerOptions opts;
  opts.data_dir = dir.Sub("ledger");
  opts.clock = [] { return int64_t{1'800'000'000'000}; };
  auto l =
      ledger::Ledger::Open(opts, MakeGenesis({"a:validator:" + KeyHex("a")}), KeyFromByte(1), &app);
  ASSERT_TRUE(l.ok()) << l.status();
  auto ack = (*l)->SubmitAndWait(
      MakeTx(*KeyFromByte(1), "a", std::string(kProposeTxType), AddBody(NewMember("e", "e")), 1));
  ASSERT_TRUE(ack.ok()) << ack.status();
  auto members = ListMembers((*l)->state());
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[1].id(), "e");
  auto listed = ListProposals((*l)->state(), ack->height, 0, 10);
  ASSERT_TRUE(listed.ok() && listed->size() == 1u);
  EXPECT_EQ((*listed)[0].status(), tds::PROPOSAL_PASSED);
}

TEST_F(GovernanceTest, TwoLedgersFedTheSameTransactionsReachTheSameState) {
  ledger::testing::TempDir other_dir;
  std::unique_ptr<ledger::Ledger> other = Open(other_dir.Sub("ledger"), FourMembers());
  ASSERT_NE(other, nullptr);
  std::vector<std::string> txs;
  uint64_t nonce = 1000;
  auto tx = [&](const std::string& m, std::string_view type, const std::string& body) {
    txs.push_back(MakeTx(*KeyFromByte(KeyBytes().at(m)), m, std::string(type), body, ++nonce));
  };
  tx("a", kProposeTxType, AddBody(NewMember("e", "e", {"provider", "consumer"})));
  tx("b", kProposeTxType, RemoveBody("d"));
  tx("b", kVoteTxType, VoteBody(1, true));
  tx("c", kVoteTxType, VoteBody(2, false));
  tx("d", kVoteTxType, VoteBody(1, true));
  tx("a", kProposeTxType, SetRolesBody("c", {"auditor", "consumer"}));
  tx("d", kVoteTxType, VoteBody(2, false));
  tx("e", "test.noop", "");
  for (const std::string& t : txs) {
    auto x = ledger_->SubmitAndWait(t);
    auto y = other->SubmitAndWait(t);
    ASSERT_EQ(x.ok(), y.ok()) << x.status() << " vs " << y.status();
    if (x.ok()) {
      EXPECT_EQ(x->result, y->result);
    }
  }
  const ledger::LedgerStatus s1 = ledger_->Status();
  const ledger::LedgerStatus s2 = other->Status();
  EXPECT_EQ(s1.height, txs.size());
  EXPECT_EQ(s1.state_digest, s2.state_digest);
  EXPECT_EQ(s1.log_root, s2.log_root);
  EXPECT_EQ(s1.last_block_hash, s2.last_block_hash);
  EXPECT_THAT(MemberIds(), ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_EQ(GetProposal(2).status(), tds::PROPOSAL_REJECTED);
}

}  // namespace
}  // namespace tds::governance
