#include "contracts/negotiation.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "common/status_macros.h"
#include "contracts/contract_state.h"
#include "contracts/terms.h"
#include "ledger/genesis.h"
#include "ledger/membership.h"

namespace tds::contracts {
namespace {

// Keeps the code, puts `prefix` before the message.
absl::Status WithPrefix(const absl::Status& s, std::string_view prefix) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(std::string(prefix), std::string(s.message())));
}

std::string ContractPrefix(std::string_view contract_id) {
  return absl::StrCat("contract ", std::string(contract_id), ": ");
}

// First 8 bytes of a digest in hex, enough to tell proposals apart in a message.
std::string ShortDigest(std::string_view digest) {
  return absl::StrCat(HexEncode(digest.substr(0, 8)), "…");
}

std::string ActorDescription(Actor who, const tds::Contract& c) {
  switch (who) {
    case Actor::kConsumer:
      return absl::StrCat("the consumer '", c.consumer(), "'");
    case Actor::kProvider:
      return absl::StrCat("the provider '", c.provider(), "'");
    case Actor::kAnswerer: {
      const bool provider_answers = c.proposed_by() == c.consumer();
      return absl::StrCat("the party answering the current proposal (",
                          provider_answers ? "provider '" : "consumer '",
                          provider_answers ? c.provider() : c.consumer(), "')");
    }
    case Actor::kParty:
      return absl::StrCat("a party to the contract (provider '", c.provider(), "' or consumer '",
                          c.consumer(), "')");
    case Actor::kAnyone:
      return "any member";
  }
  return "";
}

bool ActorMatches(Actor who, const tds::Contract& c, std::string_view member) {
  const bool is_provider = member == c.provider();
  const bool is_consumer = member == c.consumer();
  switch (who) {
    case Actor::kConsumer:
      return is_consumer;
    case Actor::kProvider:
      return is_provider;
    case Actor::kAnswerer:
      return (is_provider || is_consumer) && !c.proposed_by().empty() && member != c.proposed_by();
    case Actor::kParty:
      return is_provider || is_consumer;
    case Actor::kAnyone:
      return !member.empty();
  }
  return false;
}

absl::Status CheckReason(const std::string& reason, Event event) {
  const bool blank = reason.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: required for '", std::string(EventName(event)), "'"));
  }
  if (reason.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: ", reason.size(), " bytes exceeds the limit of ", kMaxReasonBytes));
  }
  return absl::OkStatus();
}

// The latest version of a product that may take new terms for `consumer`: it exists, is not
// retired, and is visible to the consumer.
absl::StatusOr<tds::Product> ReadContractableProduct(const ledger::StateReader& state,
                                                     std::string_view product_id,
                                                     std::string_view consumer) {
  TDS_ASSIGN_OR_RETURN(std::optional<tds::ProductHead> head,
                       catalog::ReadProductHead(state, product_id));
  if (!head.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("product '", std::string(product_id), "' does not exist"));
  }
  if (head->retired()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "product '", std::string(product_id), "' is retired",
        head->retire_reason().empty() ? "" : absl::StrCat(" (", head->retire_reason(), ")"),
        "; it takes no new terms"));
  }
  TDS_ASSIGN_OR_RETURN(tds::Product product, catalog::ReadProduct(state, product_id));
  if (!catalog::VisibleTo(product, consumer)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "product '", std::string(product_id), "' is not visible to member '", std::string(consumer),
        "' (level ", product.level(), ", not on its allow list)"));
  }
  return product;
}

// Parses and validates proposed terms against the product's latest version.
absl::StatusOr<tds::Product> CheckProposal(const ledger::StateReader& state,
                                           std::string_view product_id, std::string_view consumer,
                                           std::string_view terms_bytes, int64_t block_time_ms) {
  TDS_ASSIGN_OR_RETURN(tds::Product product, ReadContractableProduct(state, product_id, consumer));
  if (terms_bytes.empty()) return absl::InvalidArgumentError("terms: required");
  TDS_ASSIGN_OR_RETURN(tds::Terms terms, ParseTerms(terms_bytes));
  TDS_RETURN_IF_ERROR(ValidateTerms(terms, product, block_time_ms));
  return product;
}

void AppendEvent(tds::Contract& c, const ledger::TxContext& ctx, const Transition& t,
                 const std::string& reason) {
  tds::NegotiationEvent* e = c.add_history();
  e->set_event(std::string(EventName(t.event)));
  e->set_by(ctx.submitter);
  e->set_from(t.from);
  e->set_to(t.to);
  e->set_height(ctx.block->height);
  e->set_time_ms(ctx.block->timestamp_ms);
  e->set_terms_digest(c.terms_digest());
  e->set_reason(reason);
  e->set_txid(std::string(AsBytes(ctx.txid)));
  c.set_state(t.to);
}

void SetProposal(tds::Contract& c, const std::string& terms_bytes, const tds::Product& product,
                 std::string_view author) {
  c.set_terms(terms_bytes);
  c.set_terms_digest(std::string(AsBytes(TermsDigest(terms_bytes))));
  c.set_product_version(product.version());
  c.set_proposed_by(std::string(author));
  c.set_round(c.round() + 1);
}

absl::StatusOr<std::string> ApplyRequest(const ledger::TxContext& ctx,
                                         const tds::ContractActionBody& body,
                                         ledger::StateWriter& state) {
  TDS_RETURN_IF_ERROR(ledger::RequireRole(state, ctx.submitter, ledger::kRoleConsumer).status());
  if (body.product_id().empty()) return absl::InvalidArgumentError("product_id: required");
  TDS_ASSIGN_OR_RETURN(tds::Product product, CheckProposal(state, body.product_id(), ctx.submitter,
                                                           body.terms(), ctx.block->timestamp_ms));
  if (product.provider() == ctx.submitter) {
    return absl::PermissionDeniedError(absl::StrCat("member '", ctx.submitter,
                                                    "' is the provider of product '", product.id(),
                                                    "' and cannot contract with itself"));
  }
  tds::Contract c;
  c.set_id(ContractIdFor(ctx.txid));
  c.set_product_id(product.id());
  c.set_provider(product.provider());
  c.set_consumer(ctx.submitter);
  TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> existing, ReadContract(state, c.id()));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat("contract ", c.id(), " already exists"));
  }
  TDS_ASSIGN_OR_RETURN(Transition t, CheckTransition(c, Event::kRequest, ctx.submitter));
  SetProposal(c, body.terms(), product, ctx.submitter);
  AppendEvent(c, ctx, t, "");
  WriteContract(state, c);
  return c.id();
}

// The event-specific guards and effects of a transition on an existing contract, beyond the
// table's (state, party) check. Messages here are completed with the contract prefix.
absl::Status ApplyGuards(Event event, const ledger::TxContext& ctx,
                         const tds::ContractActionBody& body, const ledger::StateReader& state,
                         tds::Contract& c) {
  const int64_t now = ctx.block->timestamp_ms;
  switch (event) {
    case Event::kRequest:
      return absl::InternalError("request on an existing contract");
    case Event::kCounter: {
      TDS_ASSIGN_OR_RETURN(tds::Product product,
                           CheckProposal(state, c.product_id(), c.consumer(), body.terms(), now));
      SetProposal(c, body.terms(), product, ctx.submitter);
      return absl::OkStatus();
    }
    case Event::kAccept: {
      TDS_ASSIGN_OR_RETURN(Hash named, HashFromBytes(body.terms_digest(), "terms_digest"));
      if (AsBytes(named) != c.terms_digest()) {
        return absl::FailedPreconditionError(
            absl::StrCat("accept names terms digest ", ShortDigest(AsBytes(named)),
                         " but the current proposal is ", ShortDigest(c.terms_digest())));
      }
      TDS_RETURN_IF_ERROR(ledger::RequireRole(state, c.consumer(), ledger::kRoleConsumer).status());
      TDS_RETURN_IF_ERROR(ledger::RequireRole(state, c.provider(), ledger::kRoleProvider).status());
      TDS_ASSIGN_OR_RETURN(tds::Product product,
                           CheckProposal(state, c.product_id(), c.consumer(), c.terms(), now));
      c.set_product_version(product.version());
      c.set_activated_height(ctx.block->height);
      c.set_activated_ms(now);
      return absl::OkStatus();
    }
    case Event::kReject:
    case Event::kTerminate:
      TDS_RETURN_IF_ERROR(CheckReason(body.reason(), event));
      c.set_end_reason(body.reason());
      return absl::OkStatus();
    case Event::kSuspend:
      return CheckReason(body.reason(), event);
    case Event::kResume: {
      TDS_ASSIGN_OR_RETURN(tds::Terms terms, ParseTerms(c.terms()));
      if (now >= terms.valid_until_ms()) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot resume: the validity window ended at ", terms.valid_until_ms(),
                         " (block time is ", now, "); submit contract.expire"));
      }
      return absl::OkStatus();
    }
    case Event::kExpire: {
      TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> member,
                           ledger::ReadMember(state, ctx.submitter));
      if (!member.has_value()) {
        return absl::PermissionDeniedError(
            absl::StrCat("'", ctx.submitter, "' is not a current member"));
      }
      TDS_ASSIGN_OR_RETURN(tds::Terms terms, ParseTerms(c.terms()));
      if (now < terms.valid_until_ms()) {
        return absl::FailedPreconditionError(
            absl::StrCat("'expire' is too early: the contract expires at block time ",
                         terms.valid_until_ms(), " (block time is ", now, ")"));
      }
      c.set_end_reason(absl::StrCat("validity window ended at ", terms.valid_until_ms()));
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown event");
}

class NegotiationHandler : public ledger::TxHandler {
 public:
  explicit NegotiationHandler(Event event) : event_(event) {}

  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view body_bytes,
                                    ledger::StateWriter& state) const override {
    const std::string type(EventTxType(event_));
    tds::ContractActionBody body;
    if (!body.ParseFromArray(body_bytes.data(), static_cast<int>(body_bytes.size()))) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": body is not a tds.ContractActionBody"));
    }
    if (event_ == Event::kRequest) {
      auto id = ApplyRequest(ctx, body, state);
      if (!id.ok()) return WithPrefix(id.status(), absl::StrCat(type, ": "));
      return id;
    }
    if (body.contract_id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": contract_id: required"));
    }
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> found,
                         ReadContract(state, body.contract_id()));
    if (!found.has_value()) {
      return absl::NotFoundError(
          absl::StrCat(type, ": contract ", body.contract_id(), " does not exist"));
    }
    tds::Contract& c = *found;
    TDS_ASSIGN_OR_RETURN(Transition t, CheckTransition(c, event_, ctx.submitter));
    TDS_RETURN_IF_ERROR(
        WithPrefix(ApplyGuards(event_, ctx, body, state, c), ContractPrefix(c.id())));
    AppendEvent(c, ctx, t, body.reason());
    WriteContract(state, c);
    return c.id();
  }

 private:
  Event event_;
};

tds::ContractState EffectiveStateWith(const tds::Contract& c, const tds::Terms& terms,
                                      int64_t block_time_ms) {
  if (c.state() == tds::CONTRACT_STATE_UNSPECIFIED || IsFinal(c.state())) return c.state();
  return block_time_ms >= terms.valid_until_ms() ? tds::EXPIRED : c.state();
}

}  // namespace

std::string_view EventName(Event event) {
  switch (event) {
    case Event::kRequest:
      return "request";
    case Event::kCounter:
      return "counter";
    case Event::kAccept:
      return "accept";
    case Event::kReject:
      return "reject";
    case Event::kTerminate:
      return "terminate";
    case Event::kSuspend:
      return "suspend";
    case Event::kResume:
      return "resume";
    case Event::kExpire:
      return "expire";
  }
  return "";
}

std::string_view EventTxType(Event event) {
  switch (event) {
    case Event::kRequest:
      return kRequestTxType;
    case Event::kCounter:
      return kCounterTxType;
    case Event::kAccept:
      return kAcceptTxType;
    case Event::kReject:
      return kRejectTxType;
    case Event::kTerminate:
      return kTerminateTxType;
    case Event::kSuspend:
      return kSuspendTxType;
    case Event::kResume:
      return kResumeTxType;
    case Event::kExpire:
      return kExpireTxType;
  }
  return "";
}

std::string_view ActorName(Actor actor) {
  switch (actor) {
    case Actor::kConsumer:
      return "consumer";
    case Actor::kProvider:
      return "provider";
    case Actor::kAnswerer:
      return "answerer";
    case Actor::kParty:
      return "either party";
    case Actor::kAnyone:
      return "any member";
  }
  return "";
}

std::string StateName(tds::ContractState state) {
  if (state == tds::CONTRACT_STATE_UNSPECIFIED) return "(none)";
  return tds::ContractState_Name(state);
}

bool IsFinal(tds::ContractState state) {
  return state == tds::REJECTED || state == tds::TERMINATED || state == tds::EXPIRED;
}

const Transition* FindTransition(tds::ContractState from, Event event) {
  for (const Transition& t : kTransitions) {
    if (t.from == from && t.event == event) return &t;
  }
  return nullptr;
}

absl::StatusOr<Transition> CheckTransition(const tds::Contract& contract, Event event,
                                           std::string_view member) {
  const std::string prefix = ContractPrefix(contract.id());
  const std::string event_name(EventName(event));
  const Transition* t = FindTransition(contract.state(), event);
  if (t == nullptr) {
    std::string allowed;
    for (const Transition& row : kTransitions) {
      if (row.from != contract.state()) continue;
      absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", std::string(EventName(row.event)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        prefix, "'", event_name, "' is not allowed in state ", StateName(contract.state()),
        allowed.empty() ? " (a final state)" : absl::StrCat(" (allowed: ", allowed, ")")));
  }
  if (!ActorMatches(t->who, contract, member)) {
    return absl::PermissionDeniedError(absl::StrCat(prefix, "'", event_name, "' must come from ",
                                                    ActorDescription(t->who, contract), ", not '",
                                                    std::string(member), "'"));
  }
  return *t;
}

std::string TransitionTableMarkdown() {
  std::string out = "| from | event | by | to |\n|---|---|---|---|\n";
  for (const Transition& t : kTransitions) {
    absl::StrAppend(&out, "| ", StateName(t.from), " | ", std::string(EventName(t.event)), " | ",
                    std::string(ActorName(t.who)), " | ", StateName(t.to), " |\n");
  }
  return out;
}

tds::ContractState EffectiveState(const tds::Contract& contract, int64_t block_time_ms) {
  auto terms = ParseTerms(contract.terms());
  if (!terms.ok()) return contract.state();
  return EffectiveStateWith(contract, *terms, block_time_ms);
}

bool IsUsable(const tds::Contract& contract, int64_t block_time_ms) {
  auto terms = ParseTerms(contract.terms());
  if (!terms.ok()) return false;
  return EffectiveStateWith(contract, *terms, block_time_ms) == tds::ACTIVE &&
         block_time_ms >= terms->valid_from_ms();
}

std::string ContractIdFor(const Hash& request_txid) {
  return absl::StrCat("c-", HexEncode(AsBytes(request_txid).substr(0, 16)));
}

void RegisterNegotiation(ledger::Application& app) {
  for (Event e : kAllEvents) {
    app.Register(std::string(EventTxType(e)), std::make_unique<NegotiationHandler>(e));
  }
}

}  // namespace tds::contracts
