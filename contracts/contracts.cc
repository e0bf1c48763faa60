#include "contracts/contracts.h"

#include "contracts/metering.h"
#include "contracts/negotiation.h"

namespace tds::contracts {

void Register(ledger::Application& app) {
  RegisterNegotiation(app);
  RegisterMetering(app);
}

}  // namespace tds::contracts
