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
    std::lock_guard<std::mutex> g(mu_);
    ledgers_[id] = l;
  }
  void SetDown(const std::string& id, bool down) {
    std::lock_guard<std::mutex> g(mu_);
    down_[id] = down;
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
    std::lock_guard<std::mutex> g(mu_);
    if (down_[from]) return;
    for (const auto& [id, ledger] : ledgers_) {
      if (id == from || (!to.empty() && id != to) || down_[id] || ledger == nullptr) continue;
      ledger->DeliverConsensus(from, m);
    }
  }

  std::mutex mu_;
  std::map<std::string, Ledger*> ledgers_;  // GUARDED_BY(mu_)
  std::map<std::string, bool> down_;        // GUARDED_BY(mu_)
};

}  // namespace tds::ledger::testing
