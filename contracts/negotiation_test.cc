#include "contracts/negotiation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/catalog.h"
#include "contracts/contract_state.h"
#include "contracts/terms.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"

namespace tds::contracts {
namespace {

using ledger::testing::KeyFromByte;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kT0 = 1'800'000'000'000;
constexpr int64_t kDay = 86'400'000;

const tds::ContractState kAllStates[] = {tds::CONTRACT_STATE_UNSPECIFIED,
                                         tds::REQUESTED,
                                         tds::COUNTERED,
                                         tds::ACTIVE,
                                         tds::SUSPENDED,
                                         tds::REJECTED,
                                         tds::TERMINATED,
                                         tds::EXPIRED};

// The table's notion of who may act, restated independently as the tests' oracle.
bool MayAct(Actor who, const tds::Contract& c, const std::string& member) {
  const bool party = member == c.provider() || member == c.consumer();
  switch (who) {
    case Actor::kConsumer:
      return member == c.consumer();
    case Actor::kProvider:
      return member == c.provider();
    case Actor::kAnswerer:
      return party && member != c.proposed_by();
    case Actor::kParty:
      return party;
    case Actor::kAnyone:
      return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The table and CheckTransition, without a ledger.
// ---------------------------------------------------------------------------------------------

tds::Contract PureContract(tds::ContractState state, const std::string& proposed_by) {
  tds::Contract c;
  c.set_id("c-test");
  c.set_provider("prov");
  c.set_consumer("bank");
  c.set_state(state);
  c.set_proposed_by(proposed_by);
  return c;
}

TEST(TransitionTableTest, HasAtMostOneRowPerStateAndEvent) {
  for (const Transition& a : kTransitions) {
    int rows = 0;
    for (const Transition& b : kTransitions) rows += (a.from == b.from && a.event == b.event);
    EXPECT_EQ(rows, 1) << StateName(a.from) << " " << EventName(a.event);
    EXPECT_EQ(FindTransition(a.from, a.event), &a);
  }
}

TEST(TransitionTableTest, FinalStatesHaveNoWayOut) {
  for (const Transition& t : kTransitions) EXPECT_FALSE(IsFinal(t.from)) << StateName(t.from);
  for (tds::ContractState s : kAllStates) {
    EXPECT_EQ(IsFinal(s), s == tds::REJECTED || s == tds::TERMINATED || s == tds::EXPIRED);
  }
}

TEST(TransitionTableTest, EveryLiveContractCanBeTerminatedAndExpired) {
  for (tds::ContractState s : {tds::REQUESTED, tds::COUNTERED, tds::ACTIVE, tds::SUSPENDED}) {
    const Transition* term = FindTransition(s, Event::kTerminate);
    ASSERT_NE(term, nullptr) << StateName(s);
    EXPECT_EQ(term->to, tds::TERMINATED);
    EXPECT_EQ(term->who, Actor::kParty);
    const Transition* exp = FindTransition(s, Event::kExpire);
    ASSERT_NE(exp, nullptr) << StateName(s);
    EXPECT_EQ(exp->to, tds::EXPIRED);
    EXPECT_EQ(exp->who, Actor::kAnyone);
  }
}

TEST(TransitionTableTest, EveryStateIsReachable) {
  for (tds::ContractState s : kAllStates) {
    if (s == tds::CONTRACT_STATE_UNSPECIFIED) continue;
    bool reachable = false;
    for (const Transition& t : kTransitions) reachable |= t.to == s;
    EXPECT_TRUE(reachable) << StateName(s);
  }
}

TEST(TransitionTableTest, CheckTransitionAgreesWithTheTableForEveryStateEventAndMember) {
  int allowed = 0, refused = 0;
  for (tds::ContractState state : kAllStates) {
    for (const std::string proposer : {"bank", "prov", ""}) {
      const tds::Contract c = PureContract(state, proposer);
      for (Event e : kAllEvents) {
        for (const std::string member : {"prov", "bank", "other"}) {
          SCOPED_TRACE(absl::StrCat(StateName(state), " proposed by '", proposer, "' ",
                                    std::string(EventName(e)), " by ", member));
          const Transition* t = FindTransition(state, e);
          auto r = CheckTransition(c, e, member);
          const std::string msg(r.status().message());
          if (t == nullptr) {
            ++refused;
            EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
            EXPECT_THAT(msg, StartsWith(absl::StrCat(
                                 "contract c-test: '", std::string(EventName(e)),
                                 "' is not allowed in state ", StateName(state), " (")));
          } else if (!MayAct(t->who, c, member) ||
                     (t->who == Actor::kAnswerer && proposer.empty())) {
            ++refused;
            EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
            EXPECT_THAT(msg,
                        StartsWith(absl::StrCat("contract c-test: '", std::string(EventName(e)),
                                                "' must come from ")));
            EXPECT_THAT(msg, HasSubstr(absl::StrCat(", not '", member, "'")));
          } else {
            ++allowed;
            ASSERT_TRUE(r.ok()) << r.status();
            EXPECT_EQ(r->to, t->to);
            EXPECT_EQ(r->from, state);
          }
        }
      }
    }
  }
  EXPECT_GT(allowed, 0);
  EXPECT_GT(refused, allowed);
}

TEST(TransitionTableTest, RefusalsSayWhatWasAllowedAndWhoShouldAct) {
  auto msg = [](const tds::Contract& c, Event e, const std::string& m) {
    return std::string(CheckTransition(c, e, m).status().message());
  };
  EXPECT_EQ(msg(PureContract(tds::ACTIVE, "bank"), Event::kAccept, "prov"),
            "contract c-test: 'accept' is not allowed in state ACTIVE (allowed: terminate, "
            "suspend, expire)");
  EXPECT_EQ(msg(PureContract(tds::REJECTED, "bank"), Event::kTerminate, "bank"),
            "contract c-test: 'terminate' is not allowed in state REJECTED (a final state)");
  EXPECT_EQ(msg(PureContract(tds::REQUESTED, "bank"), Event::kRequest, "bank"),
            "contract c-test: 'request' is not allowed in state REQUESTED (allowed: counter, "
            "accept, reject, terminate, expire)");
  EXPECT_EQ(msg(PureContract(tds::REQUESTED, "bank"), Event::kCounter, "bank"),
            "contract c-test: 'counter' must come from the party answering the current proposal "
            "(provider 'prov'), not 'bank'");
  EXPECT_EQ(msg(PureContract(tds::COUNTERED, "prov"), Event::kAccept, "prov"),
            "contract c-test: 'accept' must come from the party answering the current proposal "
            "(consumer 'bank'), not 'prov'");
  EXPECT_EQ(msg(PureContract(tds::ACTIVE, "bank"), Event::kSuspend, "bank"),
            "contract c-test: 'suspend' must come from the provider 'prov', not 'bank'");
  EXPECT_EQ(msg(PureContract(tds::ACTIVE, "bank"), Event::kTerminate, "other"),
            "contract c-test: 'terminate' must come from a party to the contract (provider "
            "'prov' or consumer 'bank'), not 'other'");
  EXPECT_EQ(msg(PureContract(tds::CONTRACT_STATE_UNSPECIFIED, ""), Event::kRequest, "other"),
            "contract c-test: 'request' must come from the consumer 'bank', not 'other'");
}

// contracts/README.md: beside this file, or found from the working directory upwards (the
// build may pass __FILE__ relative to the build directory).
std::filesystem::path FindReadme() {
  namespace fs = std::filesystem;
  const fs::path beside = fs::path(__FILE__).parent_path() / "README.md";
  if (fs::exists(beside)) return beside;
  for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
    const fs::path candidate = dir / "contracts" / "README.md";
    if (fs::exists(candidate) && fs::exists(dir / "contracts" / "negotiation.h")) return candidate;
    if (dir == dir.root_path()) break;
  }
  return {};
}

TEST(TransitionTableTest, ReadmePrintsTheTableFromTheCode) {
  const std::filesystem::path readme = FindReadme();
  ASSERT_FALSE(readme.empty()) << "contracts/README.md not found from " << __FILE__ << " or "
                               << std::filesystem::current_path();
  std::ifstream in(readme);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(TransitionTableMarkdown())) << "update " << readme << " with:\n"
                                                                << TransitionTableMarkdown();
}

// ---------------------------------------------------------------------------------------------
// EffectiveState and IsUsable.
// ---------------------------------------------------------------------------------------------

tds::Contract WithWindow(tds::ContractState state, int64_t from, int64_t until) {
  tds::Terms t;
  t.set_valid_from_ms(from);
  t.set_valid_until_ms(until);
  tds::Contract c = PureContract(state, "bank");
  c.set_terms(t.SerializeAsString());
  return c;
}

TEST(EffectiveStateTest, LiveContractsExpireAtTheEndOfTheirWindow) {
  for (tds::ContractState s : {tds::REQUESTED, tds::COUNTERED, tds::ACTIVE, tds::SUSPENDED}) {
    const tds::Contract c = WithWindow(s, 1000, 2000);
    EXPECT_EQ(EffectiveState(c, 1999), s) << StateName(s);
    EXPECT_EQ(EffectiveState(c, 2000), tds::EXPIRED) << StateName(s);
    EXPECT_EQ(EffectiveState(c, 5000), tds::EXPIRED) << StateName(s);
  }
}

TEST(EffectiveStateTest, FinalStatesStayAsRecorded) {
  for (tds::ContractState s : {tds::REJECTED, tds::TERMINATED, tds::EXPIRED}) {
    EXPECT_EQ(EffectiveState(WithWindow(s, 1000, 2000), 5000), s);
    EXPECT_EQ(EffectiveState(WithWindow(s, 1000, 2000), 1500), s);
  }
}

TEST(EffectiveStateTest, UsableOnlyWhileActiveInsideTheWindow) {
  const tds::Contract active = WithWindow(tds::ACTIVE, 1000, 2000);
  EXPECT_FALSE(IsUsable(active, 999));
  EXPECT_TRUE(IsUsable(active, 1000));
  EXPECT_TRUE(IsUsable(active, 1999));
  EXPECT_FALSE(IsUsable(active, 2000));
  for (tds::ContractState s : {tds::REQUESTED, tds::COUNTERED, tds::SUSPENDED, tds::REJECTED,
                               tds::TERMINATED, tds::EXPIRED}) {
    EXPECT_FALSE(IsUsable(WithWindow(s, 1000, 2000), 1500)) << StateName(s);
  }
  tds::Contract corrupt = active;
  corrupt.set_terms("\xff\xff");
  EXPECT_FALSE(IsUsable(corrupt, 1500));
  EXPECT_EQ(EffectiveState(corrupt, 1500), tds::ACTIVE);
}

// ---------------------------------------------------------------------------------------------
// Negotiation on a real ledger.
// ---------------------------------------------------------------------------------------------

// Genesis members and their key bytes. "dual" is both provider and consumer.
const std::map<std::string, uint8_t>& MemberKeys() {
  static const auto* keys = new std::map<std::string, uint8_t>{
      {"node", 1}, {"bank", 2}, {"prov", 3}, {"other", 4}, {"audit", 5}, {"dual", 6}};
  return *keys;
}

ledger::GenesisInfo NegotiationGenesis() {
  const std::map<std::string, std::string> roles = {
      {"node", "validator"}, {"bank", "consumer"}, {"prov", "provider"},
      {"other", "consumer"}, {"audit", "auditor"}, {"dual", "provider,consumer"}};
  std::vector<std::string> specs;
  for (const auto& [id, key] : MemberKeys()) {
    specs.push_back(absl::StrCat(id, ":", roles.at(id), ":", KeyFromByte(key)->public_key().hex()));
  }
  auto json = ledger::BuildGenesisJson("tds.test/contracts", specs);
  EXPECT_TRUE(json.ok()) << json.status();
  return std::move(ledger::GenesisInfo::Parse(*json, "negotiation-genesis")).value();
}

// A product the catalog accepts: psi and stats for credit_risk and anti_fraud on id and income,
// 1000 calls, 100 a day, 10000 rows a call, groups of 5, strict, CNY 100 a call. Level 5
// products are listed to "other" only.
tds::Product ProductDescription(const std::string& id, uint32_t level) {
  tds::Product p;
  p.set_id(id);
  p.set_title("Tax invoices of small businesses");
  p.set_level(level);
  p.set_update_cadence("monthly");
  for (const char* col : {"id", "income", "region"}) {
    tds::Column* c = p.add_schema();
    c->set_name(col);
    c->set_type("string");
    c->set_level(1);
  }
  p.add_operations("psi");
  p.add_operations("stats");
  tds::Terms* o = p.mutable_offer();
  o->add_operations("psi");
  o->add_operations("stats");
  o->add_purposes("credit_risk");
  o->add_purposes("anti_fraud");
  o->add_columns("id");
  o->add_columns("income");
  o->set_max_calls_total(1000);
  o->set_max_calls_per_day(100);
  o->set_max_rows_per_call(10000);
  o->set_min_group_size(5);
  o->set_metering(tds::METERING_STRICT);
  o->mutable_price()->set_currency("CNY");
  o->mutable_price()->set_per_call(100);
  if (level == 5) p.add_allow_list("other");
  return p;
}

class NegotiationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog::Register(app_);
    RegisterNegotiation(app_);
    ledger::LedgerOptions opts;
    opts.data_dir = dir_.Sub("ledger");
    opts.sync = false;
    opts.clock = [this] { return clock_ms_.load(); };
    auto l = ledger::Ledger::Open(opts, NegotiationGenesis(), KeyFromByte(1), &app_);
    ASSERT_TRUE(l.ok()) << l.status();
    ledger_ = std::move(*l);
    ASSERT_TRUE(Publish(ProductDescription("p1", 2)).ok());
  }

  absl::StatusOr<std::string> Submit(const std::string& member, std::string_view type,
                                     const std::string& body) {
    auto ack = ledger_->SubmitAndWait(ledger::testing::MakeTx(
        *KeyFromByte(MemberKeys().at(member)), member, std::string(type), body, ++nonce_));
    if (!ack.ok()) return ack.status();
    last_txid_ = ack->txid;
    return ack->result;
  }
  absl::StatusOr<std::string> Publish(const tds::Product& p, const std::string& by = "prov") {
    tds::PublishBody body;
    *body.mutable_product() = p;
    return Submit(by, catalog::kPublishTxType, body.SerializeAsString());
  }
  absl::StatusOr<std::string> UpdateProduct(const tds::Product& p) {
    tds::PublishBody body;
    *body.mutable_product() = p;
    return Submit("prov", catalog::kUpdateTxType, body.SerializeAsString());
  }
  absl::StatusOr<std::string> Retire(const std::string& product_id) {
    tds::RetireBody body;
    body.set_product_id(product_id);
    body.set_reason("source discontinued");
    return Submit("prov", catalog::kRetireTxType, body.SerializeAsString());
  }

  // Terms within p1's offer, valid from kT0 for `window_ms` after the current clock.
  tds::Terms Terms(int64_t per_call = 90, int64_t window_ms = 10 * kDay) {
    tds::Terms t;
    t.add_operations("psi");
    t.add_purposes("credit_risk");
    t.add_columns("id");
    t.set_valid_from_ms(kT0);
    t.set_valid_until_ms(clock_ms_.load() + window_ms);
    t.set_max_calls_total(500);
    t.set_max_calls_per_day(50);
    t.set_max_rows_per_call(10000);
    t.set_min_group_size(5);
    t.set_metering(tds::METERING_STRICT);
    t.mutable_price()->set_currency("CNY");
    t.mutable_price()->set_per_call(per_call);
    return t;
  }

  absl::StatusOr<std::string> Act(Event e, const std::string& member,
                                  const tds::ContractActionBody& body) {
    return Submit(member, EventTxType(e), body.SerializeAsString());
  }
  absl::StatusOr<std::string> Request(const std::string& member, const std::string& product_id,
                                      const std::string& terms_bytes) {
    tds::ContractActionBody b;
    b.set_product_id(product_id);
    b.set_terms(terms_bytes);
    return Act(Event::kRequest, member, b);
  }
  absl::StatusOr<std::string> Counter(const std::string& member, const std::string& id,
                                      const std::string& terms_bytes) {
    tds::ContractActionBody b;
    b.set_contract_id(id);
    b.set_terms(terms_bytes);
    return Act(Event::kCounter, member, b);
  }
  absl::StatusOr<std::string> Accept(const std::string& member, const std::string& id,
                                     const std::string& digest) {
    tds::ContractActionBody b;
    b.set_contract_id(id);
    b.set_terms_digest(digest);
    return Act(Event::kAccept, member, b);
  }
  absl::StatusOr<std::string> AcceptCurrent(const std::string& member, const std::string& id) {
    return Accept(member, id, Get(id).terms_digest());
  }
  // reject, terminate, suspend, resume, expire.
  absl::StatusOr<std::string> Simple(Event e, const std::string& member, const std::string& id,
                                     const std::string& reason = "") {
    tds::ContractActionBody b;
    b.set_contract_id(id);
    b.set_reason(reason);
    return Act(e, member, b);
  }

  // A well-formed body for `e` on contract `id`: what a legitimate party would send.
  tds::ContractActionBody BodyFor(Event e, const std::string& id) {
    tds::ContractActionBody b;
    b.set_contract_id(id);
    if (e == Event::kCounter) b.set_terms(Terms(70).SerializeAsString());
    if (e == Event::kAccept) b.set_terms_digest(Get(id).terms_digest());
    if (e == Event::kReject || e == Event::kTerminate || e == Event::kSuspend) {
      b.set_reason("budget cut");
    }
    return b;
  }

  tds::Contract Get(const std::string& id) {
    auto c = ReadContract(ledger_->state(), id);
    EXPECT_TRUE(c.ok() && c->has_value()) << id;
    return c.ok() && c->has_value() ? **c : tds::Contract();
  }
  void Advance(int64_t ms) { clock_ms_ += ms; }
  uint64_t LogSize() { return ledger_->Status().log_size; }

  // A contract on p1 between prov and bank in `state`, with a window of `window_ms`.
  // COUNTERED: `consumer_last` decides who authored the current proposal.
  std::string MakeContract(tds::ContractState state, bool consumer_last = false,
                           int64_t window_ms = 10 * kDay) {
    auto id = Request("bank", "p1", Terms(90, window_ms).SerializeAsString());
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) return "";
    auto ok = [](const absl::StatusOr<std::string>& r) { EXPECT_TRUE(r.ok()) << r.status(); };
    switch (state) {
      case tds::COUNTERED:
        ok(Counter("prov", *id, Terms(110, window_ms).SerializeAsString()));
        if (consumer_last) ok(Counter("bank", *id, Terms(100, window_ms).SerializeAsString()));
        break;
      case tds::ACTIVE:
        ok(AcceptCurrent("prov", *id));
        break;
      case tds::SUSPENDED:
        ok(AcceptCurrent("prov", *id));
        ok(Simple(Event::kSuspend, "prov", *id, "unpaid invoice"));
        break;
      case tds::REJECTED:
        ok(Simple(Event::kReject, "prov", *id, "purpose too broad"));
        break;
      case tds::TERMINATED:
        ok(Simple(Event::kTerminate, "bank", *id, "no longer needed"));
        break;
      case tds::EXPIRED:
        Advance(window_ms);
        ok(Simple(Event::kExpire, "audit", *id));
        break;
      default:
        break;
    }
    EXPECT_EQ(Get(*id).state(), state);
    return *id;
  }

  ledger::testing::TempDir dir_;
  ledger::Application app_;
  std::atomic<int64_t> clock_ms_{kT0};
  std::unique_ptr<ledger::Ledger> ledger_;
  uint64_t nonce_ = 0;
  Hash last_txid_{};
};

TEST_F(NegotiationTest, RequestCreatesARequestedContractNamedAfterItsTransaction) {
  const std::string terms = Terms().SerializeAsString();
  auto id = Request("bank", "p1", terms);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, ContractIdFor(last_txid_));
  EXPECT_EQ(*id, "c-" + HexEncode(AsBytes(last_txid_).substr(0, 16)));
  const tds::Contract c = Get(*id);
  EXPECT_EQ(c.id(), *id);
  EXPECT_EQ(c.state(), tds::REQUESTED);
  EXPECT_EQ(c.product_id(), "p1");
  EXPECT_EQ(c.product_version(), 1u);
  EXPECT_EQ(c.provider(), "prov");
  EXPECT_EQ(c.consumer(), "bank");
  EXPECT_EQ(c.terms(), terms);
  EXPECT_EQ(c.terms_digest(), std::string(AsBytes(TermsDigest(terms))));
  EXPECT_EQ(c.proposed_by(), "bank");
  EXPECT_EQ(c.round(), 1u);
  ASSERT_EQ(c.history_size(), 1);
  const tds::NegotiationEvent& e = c.history(0);
  EXPECT_EQ(e.event(), "request");
  EXPECT_EQ(e.by(), "bank");
  EXPECT_EQ(e.from(), tds::CONTRACT_STATE_UNSPECIFIED);
  EXPECT_EQ(e.to(), tds::REQUESTED);
  EXPECT_EQ(e.time_ms(), kT0);
  EXPECT_EQ(e.terms_digest(), c.terms_digest());
  EXPECT_EQ(e.txid(), std::string(AsBytes(last_txid_)));
  for (const char* party : {"prov", "bank"}) {
    auto idx = ledger_->GetState(ContractByPartyKey(party, *id));
    ASSERT_TRUE(idx.ok());
    EXPECT_TRUE(idx->has_value()) << party;
  }
}

TEST_F(NegotiationTest, CounterRoundsAlternateUntilTheAnswererAccepts) {
  auto id = Request("bank", "p1", Terms(80).SerializeAsString());
  ASSERT_TRUE(id.ok()) << id.status();
  const std::vector<std::pair<std::string, int64_t>> rounds = {
      {"prov", 120}, {"bank", 95}, {"prov", 105}, {"bank", 100}};
  for (const auto& [who, price] : rounds) {
    const std::string terms = Terms(price).SerializeAsString();
    auto r = Counter(who, *id, terms);
    ASSERT_TRUE(r.ok()) << who << ": " << r.status();
    EXPECT_EQ(*r, *id);
    const tds::Contract c = Get(*id);
    EXPECT_EQ(c.state(), tds::COUNTERED);
    EXPECT_EQ(c.proposed_by(), who);
    EXPECT_EQ(c.terms(), terms);
    EXPECT_EQ(c.terms_digest(), std::string(AsBytes(TermsDigest(terms))));
  }
  EXPECT_EQ(Get(*id).round(), 5u);
  // The consumer authored the last proposal, so it cannot accept its own terms.
  auto own = AcceptCurrent("bank", *id);
  EXPECT_EQ(own.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(own.status().message()),
              HasSubstr("must come from the party answering the current proposal (provider "
                        "'prov'), not 'bank'"));
  auto accepted = AcceptCurrent("prov", *id);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  const tds::Contract c = Get(*id);
  EXPECT_EQ(c.state(), tds::ACTIVE);
  EXPECT_EQ(ParseTerms(c.terms())->price().per_call(), 100);
  EXPECT_GT(c.activated_height(), 0u);
  EXPECT_EQ(c.activated_ms(), kT0);
  ASSERT_EQ(c.history_size(), 6);
  const std::vector<std::string> events = {"request", "counter", "counter",
                                           "counter", "counter", "accept"};
  for (int i = 0; i < c.history_size(); ++i) {
    EXPECT_EQ(c.history(i).event(), events[i]) << i;
    if (i > 0) {
      EXPECT_EQ(c.history(i).from(), c.history(i - 1).to()) << i;
    }
  }
  EXPECT_EQ(c.history(5).by(), "prov");
  EXPECT_EQ(c.history(5).terms_digest(), c.terms_digest());
  EXPECT_TRUE(IsUsable(c, kT0));
}

TEST_F(NegotiationTest, AcceptNamingAnOldDigestIsRefusedAndChangesNothing) {
  auto id = Request("bank", "p1", Terms(80).SerializeAsString());
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string requested = Get(*id).terms_digest();
  ASSERT_TRUE(Counter("prov", *id, Terms(120).SerializeAsString()).ok());
  const std::string countered = Get(*id).terms_digest();
  const tds::Contract before = Get(*id);
  const uint64_t log = LogSize();
  auto r = Accept("bank", *id, requested);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(r.status().message()),
            absl::StrCat("contract ", *id, ": accept names terms digest ",
                         HexEncode(requested.substr(0, 8)), "… but the current proposal is ",
                         HexEncode(countered.substr(0, 8)), "…"));
  EXPECT_EQ(Get(*id).SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(LogSize(), log);
  auto short_digest = Accept("bank", *id, "abc");
  EXPECT_EQ(short_digest.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_digest.status().message()),
              StartsWith(absl::StrCat("contract ", *id, ": terms_digest")));
  EXPECT_TRUE(Accept("bank", *id, countered).ok());
  EXPECT_EQ(Get(*id).state(), tds::ACTIVE);
}

TEST_F(NegotiationTest, ProposalsBeyondTheOfferAreRefusedNamingTheTerm) {
  tds::Terms greedy = Terms();
  greedy.set_max_calls_total(5000);
  auto r = Request("bank", "p1", greedy.SerializeAsString());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            "contract.request: terms.max_calls_total: 5000 exceeds the offer's 1000");
  auto id = Request("bank", "p1", Terms().SerializeAsString());
  ASSERT_TRUE(id.ok());
  tds::Terms marketing = Terms();
  marketing.add_purposes("marketing");
  const uint64_t log = LogSize();
  auto c = Counter("prov", *id, marketing.SerializeAsString());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      std::string(c.status().message()),
      absl::StrCat("contract ", *id,
                   ": terms.purposes: 'marketing' is not allowed by the offer of product p1"));
  EXPECT_EQ(Get(*id).state(), tds::REQUESTED);
  EXPECT_EQ(Get(*id).round(), 1u);
  EXPECT_EQ(LogSize(), log);
  auto garbage = Counter("prov", *id, "\xff\xff\xff");
  EXPECT_THAT(std::string(garbage.status().message()), HasSubstr("terms: not a serialized"));
  auto empty = Counter("prov", *id, "");
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("terms: required"));
}

TEST_F(NegotiationTest, RequestNeedsAConsumerAndAContractableProduct) {
  const std::string terms = Terms().SerializeAsString();
  struct Case {
    std::string member, product, message;
    absl::StatusCode code;
  };
  ASSERT_TRUE(Publish(ProductDescription("p5", 5)).ok());
  ASSERT_TRUE(Publish(ProductDescription("own", 2), "dual").ok());
  ASSERT_TRUE(Publish(ProductDescription("old", 2)).ok());
  ASSERT_TRUE(Retire("old").ok());
  const std::vector<Case> cases = {
      {"prov", "p1", "contract.request: member 'prov' lacks role 'consumer'",
       absl::StatusCode::kPermissionDenied},
      {"audit", "p1", "contract.request: member 'audit' lacks role 'consumer'",
       absl::StatusCode::kPermissionDenied},
      {"bank", "", "contract.request: product_id: required", absl::StatusCode::kInvalidArgument},
      {"bank", "nope", "contract.request: product 'nope' does not exist",
       absl::StatusCode::kNotFound},
      {"bank", "old",
       "contract.request: product 'old' is retired (source discontinued); it takes no new terms",
       absl::StatusCode::kFailedPrecondition},
      {"bank", "p5",
       "contract.request: product 'p5' is not visible to member 'bank' (level 5, not on its "
       "allow list)",
       absl::StatusCode::kPermissionDenied},
      {"dual", "own",
       "contract.request: member 'dual' is the provider of product 'own' and cannot contract "
       "with itself",
       absl::StatusCode::kPermissionDenied},
  };
  const uint64_t log = LogSize();
  for (const Case& c : cases) {
    auto r = Request(c.member, c.product, terms);
    EXPECT_EQ(r.status().code(), c.code) << c.message;
    EXPECT_EQ(std::string(r.status().message()), c.message);
  }
  EXPECT_EQ(LogSize(), log);
  // The allow-listed member may contract for the level-5 product.
  auto listed = Request("other", "p5", terms);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(Get(*listed).consumer(), "other");
  auto body = Submit("bank", kRequestTxType, "\xff\xff");
  EXPECT_EQ(std::string(body.status().message()),
            "contract.request: body is not a tds.ContractActionBody");
}

TEST_F(NegotiationTest, AcceptRevalidatesAgainstTheLatestProduct) {
  auto retired = Request("bank", "p1", Terms().SerializeAsString());
  ASSERT_TRUE(retired.ok());
  // The provider narrows the offer: 100 calls at most.
  tds::Product v2 = ProductDescription("p1", 2);
  v2.mutable_offer()->set_max_calls_total(100);
  ASSERT_TRUE(UpdateProduct(v2).ok());
  auto narrowed = AcceptCurrent("prov", *retired);
  EXPECT_EQ(narrowed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      std::string(narrowed.status().message()),
      absl::StrCat("contract ", *retired, ": terms.max_calls_total: 500 exceeds the offer's 100"));
  // A counter within the new offer records the version it was checked against.
  tds::Terms fits = Terms();
  fits.set_max_calls_total(100);
  ASSERT_TRUE(Counter("prov", *retired, fits.SerializeAsString()).ok());
  EXPECT_EQ(Get(*retired).product_version(), 2u);
  // Once retired, the product takes no agreement.
  ASSERT_TRUE(Retire("p1").ok());
  const uint64_t log = LogSize();
  auto r = AcceptCurrent("bank", *retired);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(r.status().message()),
            absl::StrCat("contract ", *retired,
                         ": product 'p1' is retired (source discontinued); it takes no new terms"));
  auto counter = Counter("bank", *retired, fits.SerializeAsString());
  EXPECT_THAT(std::string(counter.status().message()), HasSubstr("product 'p1' is retired"));
  EXPECT_EQ(Get(*retired).state(), tds::COUNTERED);
  EXPECT_EQ(LogSize(), log);
  // Terminating needs no product.
  EXPECT_TRUE(Simple(Event::kTerminate, "bank", *retired, "product retired").ok());
}

TEST_F(NegotiationTest, AcceptAfterTheProposedWindowEndedIsRefused) {
  auto id = Request("bank", "p1", Terms(90, kDay).SerializeAsString());
  ASSERT_TRUE(id.ok());
  Advance(kDay);
  auto r = AcceptCurrent("prov", *id);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr(": terms.valid_until_ms: the window already ended at "));
}

TEST_F(NegotiationTest, RejectTerminateAndSuspendRequireAReason) {
  const std::string id = MakeContract(tds::ACTIVE);
  const std::string requested = MakeContract(tds::REQUESTED);
  const uint64_t log = LogSize();
  for (const std::string reason : {"", "   ", "\n\t"}) {
    auto t = Simple(Event::kTerminate, "bank", id, reason);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(t.status().message()),
              absl::StrCat("contract ", id, ": reason: required for 'terminate'"));
    auto s = Simple(Event::kSuspend, "prov", id, reason);
    EXPECT_EQ(std::string(s.status().message()),
              absl::StrCat("contract ", id, ": reason: required for 'suspend'"));
    auto r = Simple(Event::kReject, "prov", requested, reason);
    EXPECT_EQ(std::string(r.status().message()),
              absl::StrCat("contract ", requested, ": reason: required for 'reject'"));
  }
  auto long_reason = Simple(Event::kTerminate, "bank", id, std::string(kMaxReasonBytes + 1, 'x'));
  EXPECT_EQ(std::string(long_reason.status().message()),
            absl::StrCat("contract ", id, ": reason: 1025 bytes exceeds the limit of 1024"));
  EXPECT_EQ(LogSize(), log);
  EXPECT_EQ(Get(id).state(), tds::ACTIVE);
  ASSERT_TRUE(Simple(Event::kTerminate, "bank", id, "merged into another contract").ok());
  const tds::Contract c = Get(id);
  EXPECT_EQ(c.state(), tds::TERMINATED);
  EXPECT_EQ(c.end_reason(), "merged into another contract");
  EXPECT_EQ(c.history(c.history_size() - 1).reason(), "merged into another contract");
  EXPECT_EQ(c.history(c.history_size() - 1).by(), "bank");
}

TEST_F(NegotiationTest, SuspendAndResumeAreTheProvidersAndRecordTheReason) {
  const std::string id = MakeContract(tds::ACTIVE);
  ASSERT_TRUE(Simple(Event::kSuspend, "prov", id, "unpaid invoice").ok());
  tds::Contract c = Get(id);
  EXPECT_EQ(c.state(), tds::SUSPENDED);
  EXPECT_EQ(c.history(c.history_size() - 1).reason(), "unpaid invoice");
  EXPECT_FALSE(IsUsable(c, kT0));
  ASSERT_TRUE(Simple(Event::kResume, "prov", id).ok());
  c = Get(id);
  EXPECT_EQ(c.state(), tds::ACTIVE);
  EXPECT_TRUE(IsUsable(c, kT0));
}

TEST_F(NegotiationTest, ResumeAfterTheWindowEndedIsRefused) {
  const std::string id = MakeContract(tds::SUSPENDED, false, kDay);
  Advance(kDay);
  auto r = Simple(Event::kResume, "prov", id);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(r.status().message()),
            absl::StrCat("contract ", id, ": cannot resume: the validity window ended at ",
                         kT0 + kDay, " (block time is ", kT0 + kDay, "); submit contract.expire"));
  EXPECT_EQ(Get(id).state(), tds::SUSPENDED);
  EXPECT_EQ(EffectiveState(Get(id), kT0 + kDay), tds::EXPIRED);
}

TEST_F(NegotiationTest, ExpireIsRefusedBeforeTheWindowEndsAndAcceptedAfter) {
  const std::string id = MakeContract(tds::ACTIVE, false, kDay);
  Advance(kDay - 1);
  const uint64_t log = LogSize();
  auto early = Simple(Event::kExpire, "audit", id);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(early.status().message()),
            absl::StrCat("contract ", id,
                         ": 'expire' is too early: the contract expires at block "
                         "time ",
                         kT0 + kDay, " (block time is ", kT0 + kDay - 1, ")"));
  EXPECT_EQ(LogSize(), log);
  EXPECT_TRUE(IsUsable(Get(id), kT0 + kDay - 1));
  Advance(1);
  auto r = Simple(Event::kExpire, "other", id);  // any member, not only the parties
  ASSERT_TRUE(r.ok()) << r.status();
  const tds::Contract c = Get(id);
  EXPECT_EQ(c.state(), tds::EXPIRED);
  EXPECT_EQ(c.end_reason(), absl::StrCat("validity window ended at ", kT0 + kDay));
  EXPECT_EQ(c.history(c.history_size() - 1).by(), "other");
  EXPECT_EQ(c.history(c.history_size() - 1).from(), tds::ACTIVE);
  auto again = Simple(Event::kExpire, "audit", id);
  EXPECT_EQ(std::string(again.status().message()),
            absl::StrCat("contract ", id,
                         ": 'expire' is not allowed in state EXPIRED (a final "
                         "state)"));
}

TEST_F(NegotiationTest, EventsOnAnUnknownContractAreRefused) {
  for (Event e : kAllEvents) {
    if (e == Event::kRequest) continue;
    tds::ContractActionBody body;
    body.set_contract_id("c-00000000000000000000000000000000");
    body.set_terms(Terms().SerializeAsString());
    body.set_terms_digest(std::string(32, '\0'));
    body.set_reason("why not");
    auto r = Act(e, "bank", body);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << EventName(e);
    EXPECT_EQ(std::string(r.status().message()),
              absl::StrCat(std::string(EventTxType(e)),
                           ": contract c-00000000000000000000000000000000 does "
                           "not exist"));
    tds::ContractActionBody no_id;
    auto missing = Act(e, "bank", no_id);
    EXPECT_EQ(std::string(missing.status().message()),
              absl::StrCat(std::string(EventTxType(e)), ": contract_id: required"));
  }
}

// Every (state, event, member) a contract can be in on the ledger: refusals follow the table and
// change nothing; every allowed combination, replayed on a fresh contract, lands in the table's
// target state.
TEST_F(NegotiationTest, EveryStateEventAndMemberFollowsTheTable) {
  struct Setup {
    tds::ContractState state;
    bool consumer_last;
  };
  const Setup setups[] = {{tds::REQUESTED, false},  {tds::COUNTERED, false}, {tds::COUNTERED, true},
                          {tds::ACTIVE, false},     {tds::SUSPENDED, false}, {tds::REJECTED, false},
                          {tds::TERMINATED, false}, {tds::EXPIRED, false}};
  const std::string members[] = {"prov", "bank", "other", "audit"};
  int legal = 0, illegal = 0;
  for (const Setup& setup : setups) {
    const std::string id = MakeContract(setup.state, setup.consumer_last);
    const tds::Contract contract = Get(id);
    for (Event e : kAllEvents) {
      if (e == Event::kRequest) continue;  // always creates a new contract (pure test above)
      for (const std::string& member : members) {
        SCOPED_TRACE(absl::StrCat(StateName(setup.state), " (proposed by ", contract.proposed_by(),
                                  ") ", std::string(EventName(e)), " by ", member));
        const Transition* t = FindTransition(setup.state, e);
        if (t == nullptr || !MayAct(t->who, contract, member)) {
          ++illegal;
          const uint64_t log = LogSize();
          auto r = Act(e, member, BodyFor(e, id));
          ASSERT_FALSE(r.ok());
          const std::string msg(r.status().message());
          if (t == nullptr) {
            EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
            EXPECT_THAT(msg, StartsWith(absl::StrCat(
                                 "contract ", id, ": '", std::string(EventName(e)),
                                 "' is not allowed in state ", StateName(setup.state))));
          } else {
            EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
            EXPECT_THAT(msg,
                        StartsWith(absl::StrCat("contract ", id, ": '", std::string(EventName(e)),
                                                "' must come from ")));
            EXPECT_THAT(msg, HasSubstr(absl::StrCat("not '", member, "'")));
          }
          EXPECT_EQ(Get(id).SerializeAsString(), contract.SerializeAsString());
          EXPECT_EQ(LogSize(), log);
          continue;
        }
        ++legal;
        const bool expire = e == Event::kExpire;
        const std::string fresh =
            MakeContract(setup.state, setup.consumer_last, expire ? 60'000 : 10 * kDay);
        if (expire) Advance(60'000);
        auto r = Act(e, member, BodyFor(e, fresh));
        ASSERT_TRUE(r.ok()) << r.status();
        EXPECT_EQ(*r, fresh);
        const tds::Contract after = Get(fresh);
        EXPECT_EQ(after.state(), t->to);
        const tds::NegotiationEvent& last = after.history(after.history_size() - 1);
        EXPECT_EQ(last.event(), EventName(e));
        EXPECT_EQ(last.by(), member);
        EXPECT_EQ(last.from(), setup.state);
        EXPECT_EQ(last.to(), t->to);
      }
    }
  }
  EXPECT_EQ(legal, 41);
  EXPECT_EQ(illegal, 8 * 7 * 4 - 41);
}

}  // namespace
}  // namespace tds::contracts
