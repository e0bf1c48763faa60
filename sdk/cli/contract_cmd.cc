#include "sdk/cli/contract_cmd.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/config.h"
#include "sdk/cli/describe.h"
#include "sdk/cli/output.h"
#include "sdk/cli/session.h"

namespace tds::cli {
namespace {

std::string StateName(tds::ContractState state) {
  return state == tds::CONTRACT_STATE_UNSPECIFIED ? "(none)" : tds::ContractState_Name(state);
}

absl::StatusOr<tds::GetContractResponse> FetchContract(Session& session, const std::string& id) {
  tds::GetContractRequest request;
  request.set_contract_id(id);
  return session.query->GetContract(request);
}

// --- request / counter ---

int RunPropose(const GlobalOptions& g, const std::string& target, const std::string& terms_file,
               bool counter) {
  tds::Terms terms;
  if (absl::Status s = LoadConfigFile(terms_file, &terms); !s.ok()) return Fail(s);
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  sdk::TxBody tx =
      counter ? sdk::CounterContract(target, terms) : sdk::RequestContract(target, terms);
  return SubmitAndReport(**session, tx, [&](const tds::SubmitResponse& ack) {
    return counter
               ? "countered contract " + ack.result() + ": now COUNTERED"
               : "requested contract " + ack.result() + " on product " + target + ": now REQUESTED";
  });
}

// --- accept ---

int RunAccept(const GlobalOptions& g, const std::string& id, const std::string& digest_hex) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  std::string digest;
  if (!digest_hex.empty()) {
    absl::StatusOr<Hash> pinned = HashFromHex(digest_hex, "--digest");
    if (!pinned.ok()) return Fail(pinned.status());
    digest = std::string(AsBytes(*pinned));
  } else {
    // Accept what is on the ledger now, and show what that is.
    absl::StatusOr<tds::GetContractResponse> current = FetchContract(**session, id);
    if (!current.ok()) return Fail(current.status());
    const tds::Contract& c = current->contract();
    digest = c.terms_digest();
    tds::Terms terms;
    terms.ParseFromString(c.terms());
    std::cout << "accepting round " << c.round() << " proposed by " << c.proposed_by()
              << ", terms digest " << HexEncode(digest) << ":\n";
    PrintTerms(std::cout, terms, "  ");
  }
  return SubmitAndReport(
      **session, sdk::AcceptContract(id, digest), [&](const tds::SubmitResponse&) {
        return "accepted contract " + id + " (terms digest " + HexEncode(digest) + "): now ACTIVE";
      });
}

// --- reject / terminate / suspend / resume ---

enum class Action { kReject, kTerminate, kSuspend, kResume };

int RunAction(const GlobalOptions& g, Action action, const std::string& id,
              const std::string& reason) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  sdk::TxBody tx;
  std::string done;
  switch (action) {
    case Action::kReject:
      tx = sdk::RejectContract(id, reason);
      done = "rejected contract " + id + ": now REJECTED";
      break;
    case Action::kTerminate:
      tx = sdk::TerminateContract(id, reason);
      done = "terminated contract " + id + ": now TERMINATED";
      break;
    case Action::kSuspend:
      tx = sdk::SuspendContract(id, reason);
      done = "suspended contract " + id + ": now SUSPENDED";
      break;
    case Action::kResume:
      tx = sdk::ResumeContract(id);
      done = "resumed contract " + id + ": now ACTIVE";
      break;
  }
  return SubmitAndReport(**session, tx, [&](const tds::SubmitResponse&) { return done; });
}

// --- list ---

struct ListArgs {
  std::string party, state, product;
  OutputFormat format = OutputFormat::kTable;
};

int RunList(const GlobalOptions& g, const ListArgs& a) {
  tds::ListContractsRequest request;
  if (!a.state.empty()) {
    tds::ContractState state;
    if (!tds::ContractState_Parse(a.state, &state) || state == tds::CONTRACT_STATE_UNSPECIFIED) {
      return Fail("--state " + a.state +
                  ": expected REQUESTED, COUNTERED, ACTIVE, SUSPENDED, REJECTED, TERMINATED or "
                  "EXPIRED");
    }
    request.set_state(state);
  }
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  request.set_party(a.party);
  request.set_product_id(a.product);
  request.mutable_page()->set_limit(1000);
  Listing listing({"id", "product", "version", "provider", "consumer", "state", "round",
                   "proposed_by", "activated"});
  while (true) {
    absl::StatusOr<tds::ListContractsResponse> r = (*session)->query->ListContracts(request);
    if (!r.ok()) return Fail(r.status());
    for (const tds::Contract& c : r->contracts()) {
      listing.AddRow({c.id(), c.product_id(), std::to_string(c.product_version()), c.provider(),
                      c.consumer(), StateName(c.state()), std::to_string(c.round()),
                      c.proposed_by(), FormatTimeMs(c.activated_ms())},
                     c);
    }
    if (r->next_cursor().empty()) break;
    request.mutable_page()->set_cursor(r->next_cursor());
  }
  listing.Print(std::cout, a.format);
  return 0;
}

// --- show ---

int RunShow(const GlobalOptions& g, const std::string& id, OutputFormat format) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<tds::GetContractResponse> r = FetchContract(**session, id);
  if (!r.ok()) return Fail(r.status());
  const tds::Contract& c = r->contract();
  if (format == OutputFormat::kJson) {
    // The whole answer (contract with its history, counters) as one object, in an array like
    // every listing.
    Listing whole({"contract"});
    whole.AddRow({c.id()}, *r);
    whole.Print(std::cout, format);
    return 0;
  }
  if (format == OutputFormat::kCsv) {
    // The negotiation history, one row per event, the contract id alongside.
    Listing listing(
        {"contract", "event", "by", "from", "to", "height", "time", "terms_digest", "reason"});
    for (const tds::NegotiationEvent& e : c.history()) {
      listing.AddRow({c.id(), e.event(), e.by(), StateName(e.from()), StateName(e.to()),
                      std::to_string(e.height()), FormatTimeMs(e.time_ms()),
                      HexOrDash(e.terms_digest()), e.reason()},
                     e);
    }
    listing.Print(std::cout, format);
    return 0;
  }
  tds::Terms terms;
  terms.ParseFromString(c.terms());
  const tds::UsageCounters& n = r->counters();
  std::cout << "id:            " << c.id() << "\n"
            << "product:       " << c.product_id() << " v" << c.product_version() << "\n"
            << "provider:      " << c.provider() << "\n"
            << "consumer:      " << c.consumer() << "\n"
            << "state:         " << StateName(c.state()) << "\n"
            << "round:         " << c.round() << " (proposed by " << c.proposed_by() << ")\n"
            << "terms digest:  " << HexOrDash(c.terms_digest()) << "\n";
  if (c.activated_height() != 0) {
    std::cout << "activated:     block " << c.activated_height() << ", "
              << FormatTimeMs(c.activated_ms()) << "\n";
  }
  if (!c.end_reason().empty()) std::cout << "end reason:    " << c.end_reason() << "\n";
  std::cout << "usage:         " << n.calls_total() << " call(s), " << n.rows_total() << " row(s), "
            << n.reserved_open() << " open reservation(s)\n"
            << (c.state() == tds::ACTIVE || c.activated_height() != 0 ? "agreed terms:\n"
                                                                      : "proposed terms:\n");
  PrintTerms(std::cout, terms, "  ");
  std::cout << "negotiation:\n";
  Listing history({"event", "by", "from", "to", "height", "time", "terms_digest", "reason"});
  for (const tds::NegotiationEvent& e : c.history()) {
    history.AddRow(
        {e.event(), e.by(), StateName(e.from()), StateName(e.to()), std::to_string(e.height()),
         FormatTimeMs(e.time_ms()),
         e.terms_digest().empty() ? "" : HexEncode(e.terms_digest()).substr(0, 16), e.reason()},
        e);
  }
  history.Print(std::cout, OutputFormat::kTable);
  return 0;
}

}  // namespace

void AddContractCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* contract = app.add_subcommand("contract", "Usage contracts: negotiate and inspect");
  contract->require_subcommand(1);
  contract->footer(
      "Every command signs with --key. The consumer requests terms against a product's offer; "
      "the other side answers\n(counter, accept or reject); accepting signs the digest of the "
      "exact terms proposed, and the contract becomes ACTIVE.");

  struct ProposeArgs {
    std::string target, terms;
  };
  auto ra = std::make_shared<ProposeArgs>();
  CLI::App* request = contract->add_subcommand(
      "request", "Request a contract on a product (consumer): prints the new contract id");
  request->add_option("PRODUCT", ra->target, "Product id")->required();
  request
      ->add_option("--terms", ra->terms,
                   "Proposed tds.Terms, YAML or JSON "
                   "(proto/contracts.proto; see deploy/samples/terms/)")
      ->required()
      ->check(CLI::ExistingFile);
  request->footer(
      "Example: tds --key bank.key contract request tax-invoices --terms "
      "deploy/samples/terms/bank-request.yaml");
  OnRun(request, ctx, [&g, ra] { return RunPropose(g, ra->target, ra->terms, false); });

  auto ca = std::make_shared<ProposeArgs>();
  CLI::App* counter = contract->add_subcommand(
      "counter", "Counter the current proposal with other terms (the party answering it)");
  counter->add_option("ID", ca->target, "Contract id (c-...)")->required();
  counter->add_option("--terms", ca->terms, "Counter-proposed tds.Terms, YAML or JSON")
      ->required()
      ->check(CLI::ExistingFile);
  OnRun(counter, ctx, [&g, ca] { return RunPropose(g, ca->target, ca->terms, true); });

  auto aid = std::make_shared<std::string>();
  auto adigest = std::make_shared<std::string>();
  CLI::App* accept = contract->add_subcommand(
      "accept",
      "Accept the current proposal (the party answering it): the contract becomes "
      "ACTIVE");
  accept->add_option("ID", *aid, "Contract id")->required();
  accept->add_option("--digest", *adigest,
                     "Accept only these terms (64 hex, from `contract show`); without it the "
                     "current proposal is fetched, printed and accepted");
  OnRun(accept, ctx, [&g, aid, adigest] { return RunAccept(g, *aid, *adigest); });

  struct ActionArgs {
    std::string id, reason;
  };
  auto add_action = [&](const char* name, const char* help, Action action, bool needs_reason) {
    auto a = std::make_shared<ActionArgs>();
    CLI::App* sub = contract->add_subcommand(name, help);
    sub->add_option("ID", a->id, "Contract id")->required();
    if (needs_reason) sub->add_option("--reason", a->reason, "Why (recorded)")->required();
    OnRun(sub, ctx, [&g, a, action] { return RunAction(g, action, a->id, a->reason); });
  };
  add_action("reject", "Reject the current proposal (the party answering it); final",
             Action::kReject, true);
  add_action("terminate", "End the contract (either party); final", Action::kTerminate, true);
  add_action("suspend", "Pause use of an ACTIVE contract (provider)", Action::kSuspend, true);
  add_action("resume", "Resume a SUSPENDED contract (provider)", Action::kResume, false);

  auto la = std::make_shared<ListArgs>();
  CLI::App* list = contract->add_subcommand(
      "list", "List contracts you are a party to (auditors and validators: any)");
  list->add_option("--party", la->party, "Contracts of this member (default: you)");
  list->add_option("--state", la->state,
                   "Only this (effective) state: REQUESTED, COUNTERED, ACTIVE, SUSPENDED, "
                   "REJECTED, TERMINATED, EXPIRED");
  list->add_option("--product", la->product, "Only contracts on this product");
  AddOutputOption(list, &la->format);
  OnRun(list, ctx, [&g, la] { return RunList(g, *la); });

  auto sid = std::make_shared<std::string>();
  auto sformat = std::make_shared<OutputFormat>(OutputFormat::kTable);
  CLI::App* show = contract->add_subcommand(
      "show", "Show a contract: parties, state, terms, usage counters and negotiation history");
  show->add_option("ID", *sid, "Contract id")->required();
  AddOutputOption(show, sformat.get());
  show->footer("-o csv lists the negotiation history; -o json the whole contract and counters.");
  OnRun(show, ctx, [&g, sid, sformat] { return RunShow(g, *sid, *sformat); });
}

}  // namespace tds::cli
