#pragma once
// The data space's application: every module's transaction handlers, registered in the order
// tdsd uses. One place, so that a replica (node/server.cc) and an auditor re-executing blocks
// (tds audit replay) run the same state machine: a module missing from one of them would show
// as a divergence that is not there.

#include "ledger/application.h"

namespace tds::app {

// REQUIRES: `app` has none of the modules' transaction types registered yet.
void RegisterAll(ledger::Application& app);

}  // namespace tds::app
