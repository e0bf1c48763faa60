#pragma once
// Usage contracts as ledger transactions: negotiation (contract.*), metering (usage.*), and the
// deterministic billing and valuation computed from their state.

#include "ledger/application.h"

namespace tds::contracts {

// Registers every contract.* and usage.* transaction type.
void Register(ledger::Application& app);

}  // namespace tds::contracts
