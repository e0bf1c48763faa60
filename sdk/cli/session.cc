#include "sdk/cli/session.h"

#include <functional>
#include <iostream>
#include <string_view>
#include <utility>

#include "common/bytes.h"
#include "common/strings.h"

namespace tds::cli {

absl::StatusOr<std::unique_ptr<Session>> OpenSession(const GlobalOptions& options, KeyUse use) {
  auto session = std::make_unique<Session>();
  if (use == KeyUse::kRequired || !options.key.empty()) {
    absl::StatusOr<std::unique_ptr<SigningKey>> key = LoadMemberKey(options);
    if (!key.ok()) return key.status();
    session->key = *std::move(key);
  }
  absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> ledger = ConnectToNode(options);
  if (!ledger.ok()) return ledger.status();
  session->ledger = *std::move(ledger);
  absl::StatusOr<std::unique_ptr<sdk::QueryClient>> query =
      sdk::QueryClient::Connect(ClientOptionsFrom(options));
  if (!query.ok()) return query.status();
  session->query = *std::move(query);
  if (session->key != nullptr) {
    absl::StatusOr<std::string> member = session->query->MemberIdFor(session->key->public_key());
    if (!member.ok()) {
      return absl::Status(member.status().code(),
                          "--key " + options.key + ": " + std::string(member.status().message()));
    }
    session->member_id = *std::move(member);
    session->query->SetIdentity(session->key.get(), session->member_id);
  }
  return session;
}

absl::StatusOr<tds::SubmitResponse> SubmitTx(Session& session, const sdk::TxBody& tx) {
  std::string envelope = sdk::BuildTransaction(*session.key, session.member_id, tx.type, tx.body);
  absl::StatusOr<tds::SubmitResponse> ack = session.ledger->Submit(envelope);
  if (ack.ok()) return ack;
  // LedgerClient prefixes its method name; the user wants the node's own words.
  std::string message(ack.status().message());
  constexpr std::string_view kPrefix = "Submit: ";
  if (StartsWith(message, kPrefix)) message.erase(0, kPrefix.size());
  return absl::Status(ack.status().code(), message);
}

void PrintSubmitted(const tds::SubmitResponse& ack) {
  std::cout << "txid:   " << HexEncode(ack.txid()) << "\n"
            << "block:  " << ack.height() << " (log index " << ack.index() << ")\n"
            << "result: " << (ack.result().empty() ? "-" : ack.result()) << "\n";
}

int SubmitAndReport(Session& session, const sdk::TxBody& tx, const Summary& summary) {
  absl::StatusOr<tds::SubmitResponse> ack = SubmitTx(session, tx);
  if (!ack.ok()) return Fail(ack.status());
  std::cout << summary(*ack) << "\n";
  PrintSubmitted(*ack);
  return 0;
}

}  // namespace tds::cli
