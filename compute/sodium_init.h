#pragma once
// libsodium start-up for the protocols in compute/ (ECDH-PSI, OT-extension PSI, anonymous query).

namespace tds::compute {

// Initialises libsodium once (which also selects its fastest code paths for this CPU).
// Idempotent and thread-safe; aborts if libsodium cannot start.
void EnsureSodium();

}  // namespace tds::compute
