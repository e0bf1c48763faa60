#pragma once
// Tests: ledgers in one process exchanging consensus messages over memory. Each message is
// delivered at once on the sender's thread; a member marked down neither sends nor receives.

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "ledger/ledger.h"
#include "proto/consensus.pb.h"

namespace tds::ledger::testing {

class MemoryNetwork {
 public:
  // `l` receives the messages sent to member `id` (nullptr: none any more).
  void Attach(const std::string& id, Ledger* l) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    ledgers_[id] = l;
  }
  void SetDown(const std::string& id, bool down) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    down_[id] = down;
  }
  // A Byzantine network: `tamper` may alter each message (from its sender) before delivery.
  using Tamper = std::function<void(const std::string& from, tds::ConsensusMessage*)>;
  void SetTamper(Tamper tamper) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    tamper_ = std::move(tamper);
  }
  // LedgerOptions::send for member `from`.
  std::function<void(const std::string&, const tds::ConsensusMessage&)> SenderFor(
      const std::string& from) {
    return
        [this, from](const std::string& to, const tds::ConsensusMessage& m) { Send(from, to, m); };
  }

 private:
  // `to` is a member id, or "" for every other member.
  void Send(const std::string& from, const std::string& to, const tds::ConsensusMessage& m) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    if (down_[from]) return;
    tds::ConsensusMessage copy;
    const tds::ConsensusMessage* out = &m;
    if (tamper_) {
      copy = m;
      tamper_(from, &copy);
      out = &copy;
    }
    for (const auto& [id, ledger] : ledgers_) {
      if (id == from || (!to.empty() && id != to) || down_[id] || ledger == nullptr) continue;
      ledger->DeliverConsensus(from, *out);
    }
  }

  std::recursive_mutex mu_;                 // recursive: a ledger may answer from inside a delivery
  std::map<std::string, Ledger*> ledgers_;  // GUARDED_BY(mu_)
  std::map<std::string, bool> down_;        // GUARDED_BY(mu_)
  Tamper tamper_;                           // GUARDED_BY(mu_)
};

}  // namespace tds::ledger::testing
