#pragma once
// Contract negotiation as ledger transactions (contract.*), driven by one transition table.
//
// A consumer requests terms against a product's offer; the party answering the current
// proposal counters (any number of rounds), rejects or accepts; accepting names the digest of
// the current proposal's exact terms bytes, so the proposer (who signed the transaction
// carrying the bytes) and the acceptor (who signed the transaction carrying their digest) have
// both signed the same terms digest, and the contract becomes ACTIVE. The provider may suspend
// and resume an active contract; either party may terminate with a reason; any member may
// expire a contract once block time reaches the end of its window. REJECTED, TERMINATED and
// EXPIRED are final. contracts/README.md prints the table; a test keeps the two equal.
//
// Every refusal names the contract and what failed: the event and state, the party, the
// digest, or the term (via ValidateTerms).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "ledger/application.h"
#include "proto/contracts.pb.h"

namespace tds::contracts {

inline constexpr std::string_view kRequestTxType = "contract.request";
inline constexpr std::string_view kCounterTxType = "contract.counter";
inline constexpr std::string_view kAcceptTxType = "contract.accept";
inline constexpr std::string_view kRejectTxType = "contract.reject";
inline constexpr std::string_view kTerminateTxType = "contract.terminate";
inline constexpr std::string_view kSuspendTxType = "contract.suspend";
inline constexpr std::string_view kResumeTxType = "contract.resume";
inline constexpr std::string_view kExpireTxType = "contract.expire";

// Longest reason accepted on reject, terminate and suspend.
inline constexpr size_t kMaxReasonBytes = 1024;

enum class Event { kRequest, kCounter, kAccept, kReject, kTerminate, kSuspend, kResume, kExpire };
inline constexpr Event kAllEvents[] = {Event::kRequest, Event::kCounter,   Event::kAccept,
                                       Event::kReject,  Event::kTerminate, Event::kSuspend,
                                       Event::kResume,  Event::kExpire};

// Who may submit an event.
enum class Actor {
  kConsumer,  // the contract's consumer
  kProvider,  // the contract's provider (the product's provider)
  kAnswerer,  // the party who did not author the current proposal (Contract.proposed_by)
  kParty,     // either party
  kAnyone,    // any current member
};

struct Transition {
  tds::ContractState from;  // CONTRACT_STATE_UNSPECIFIED: no contract yet
  Event event;
  Actor who;
  tds::ContractState to;
};

// The whole negotiation, as data. At most one row per (from, event); a pair without a row is
// refused. Guards beyond the table: request and counter validate the terms against the
// product's latest version; accept requires the current digest and re-validates the terms
// (product not retired, still visible to the consumer); reject, terminate and suspend require
// a reason; resume requires the window not to have ended; expire requires block time >=
// terms.valid_until_ms.
inline constexpr Transition kTransitions[] = {
    {tds::CONTRACT_STATE_UNSPECIFIED, Event::kRequest, Actor::kConsumer, tds::REQUESTED},
    {tds::REQUESTED, Event::kCounter, Actor::kAnswerer, tds::COUNTERED},
    {tds::REQUESTED, Event::kAccept, Actor::kAnswerer, tds::ACTIVE},
    {tds::REQUESTED, Event::kReject, Actor::kAnswerer, tds::REJECTED},
    {tds::REQUESTED, Event::kTerminate, Actor::kParty, tds::TERMINATED},
    {tds::REQUESTED, Event::kExpire, Actor::kAnyone, tds::EXPIRED},
    {tds::COUNTERED, Event::kCounter, Actor::kAnswerer, tds::COUNTERED},
    {tds::COUNTERED, Event::kAccept, Actor::kAnswerer, tds::ACTIVE},
    {tds::COUNTERED, Event::kReject, Actor::kAnswerer, tds::REJECTED},
    {tds::COUNTERED, Event::kTerminate, Actor::kParty, tds::TERMINATED},
    {tds::COUNTERED, Event::kExpire, Actor::kAnyone, tds::EXPIRED},
    {tds::ACTIVE, Event::kTerminate, Actor::kParty, tds::TERMINATED},
    {tds::ACTIVE, Event::kSuspend, Actor::kProvider, tds::SUSPENDED},
    {tds::ACTIVE, Event::kExpire, Actor::kAnyone, tds::EXPIRED},
    {tds::SUSPENDED, Event::kTerminate, Actor::kParty, tds::TERMINATED},
    {tds::SUSPENDED, Event::kResume, Actor::kProvider, tds::ACTIVE},
    {tds::SUSPENDED, Event::kExpire, Actor::kAnyone, tds::EXPIRED},
};

// "request", "counter", ... (NegotiationEvent.event).
std::string_view EventName(Event event);
// "contract.request", ...
std::string_view EventTxType(Event event);
std::string_view ActorName(Actor actor);
// "REQUESTED", ...; "(none)" for CONTRACT_STATE_UNSPECIFIED.
std::string StateName(tds::ContractState state);
// REJECTED, TERMINATED and EXPIRED: every event is refused.
bool IsFinal(tds::ContractState state);

// The row for (from, event), or nullptr.
const Transition* FindTransition(tds::ContractState from, Event event);

// The transition `member` may make with `event` on `contract` (its id, state, provider,
// consumer and proposed_by are read), or a refusal naming the contract and what failed:
//   FailedPrecondition "contract c-…: 'accept' is not allowed in state ACTIVE (allowed:
//     terminate, suspend, expire)"
//   PermissionDenied  "contract c-…: 'counter' must come from the party answering the current
//     proposal (provider 'p'), not 'c'"
// kAnyone rows accept any member id here; the handler checks current membership.
absl::StatusOr<Transition> CheckTransition(const tds::Contract& contract, Event event,
                                           std::string_view member);

// The markdown table of kTransitions printed in contracts/README.md.
std::string TransitionTableMarkdown();

// The state `contract` is in at block time `block_time_ms`: a non-final contract whose window
// has ended (block time >= terms.valid_until_ms) is EXPIRED even before anyone submits
// contract.expire; otherwise (and if its terms do not parse) its recorded state.
tds::ContractState EffectiveState(const tds::Contract& contract, int64_t block_time_ms);
// Whether a call may be made under `contract` now: effectively ACTIVE and block time >=
// terms.valid_from_ms; false if its terms do not parse. (Quotas and the call itself are
// metering's business.)
bool IsUsable(const tds::Contract& contract, int64_t block_time_ms);

// The contract id a request transaction creates: "c-" + hex of the first 16 bytes of its txid.
std::string ContractIdFor(const Hash& request_txid);

// Registers the eight contract.* transaction types. Each returns the contract id as its result.
void RegisterNegotiation(ledger::Application& app);

}  // namespace tds::contracts
