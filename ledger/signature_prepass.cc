#include "ledger/signature_prepass.h"

#include "common/ed25519.h"
#include "common/envelope.h"
#include "proto/ledger.pb.h"

namespace tds::ledger {

void PreverifySignatures(const std::vector<const std::string*>& entries, const Application& app,
                         const std::function<bool(std::string_view)>& is_member) {
  std::vector<EnvelopeSignature> sigs;
  sigs.reserve(entries.size() * 2);
  std::vector<NestedEnvelope> nested;
  const auto add = [&](std::string_view envelope, std::string_view context) -> bool {
    absl::StatusOr<EnvelopeSignature> s = ExtractEnvelopeSignature(envelope, context);
    if (!s.ok() || !is_member(s->signer)) return false;
    sigs.push_back(std::move(*s));
    return true;
  };
  for (const std::string* entry : entries) {
    if (!add(*entry, kTxContext)) continue;
    tds::Transaction tx;
    const std::string_view payload = sigs.back().payload();
    if (!tx.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) continue;
    const TxHandler* handler = app.Find(tx.type());
    if (handler == nullptr) continue;
    nested.clear();
    handler->NestedEnvelopes(tx.body(), &nested);
    for (const NestedEnvelope& n : nested) add(n.envelope, n.context);
  }
  if (sigs.size() < 2) return;  // a single check is as fast; leave it to the caller's
  std::vector<ed25519::Item> items;
  items.reserve(sigs.size());
  for (const EnvelopeSignature& s : sigs) items.push_back({s.signer, s.message, s.signature});
  ed25519::VerifyBatch(items);
}

}  // namespace tds::ledger
