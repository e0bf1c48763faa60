#include "app/application.h"

#include "catalog/catalog.h"
#include "contracts/contracts.h"
#include "evidence/evidence.h"
#include "governance/governance.h"

namespace tds::app {

void RegisterAll(ledger::Application& app) {
  evidence::Register(app);
  governance::Register(app);
  catalog::Register(app);
  contracts::Register(app);
}

}  // namespace tds::app
