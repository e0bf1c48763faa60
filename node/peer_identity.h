#pragma once
// Which current member is at the other end of a mutual-TLS connection (docs/tls.md,
// "Identity"): MemberForCertificate (node/auth.h) over this node's replica of the membership,
// with an in-memory index of pinned certificate fingerprints kept current block by block.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/x509.h"
#include "proto/genesis.pb.h"

namespace tds::ledger {
class Ledger;
}

namespace tds::node {

// The current member with this id: committed state ("member/<id>"), or the genesis members
// while no block has committed yet (block 1 seeds the state from genesis, so both agree).
absl::StatusOr<std::optional<tds::Member>> ReadCurrentMember(const ledger::Ledger& ledger,
                                                             std::string_view member_id);

class PeerIdentity {
 public:
  // Builds the pin index from the committed membership (the genesis members before block 1)
  // and follows every later block through ledger->Observe; the ledger's observer shares
  // ownership of the index. DataLoss if a member record is corrupt.
  // REQUIRES: `ledger` outlives every call to Identify.
  static absl::StatusOr<std::shared_ptr<PeerIdentity>> Create(ledger::Ledger* ledger);

  // The id of the current member presenting this certificate (MemberForCertificate), or its
  // Unauthenticated status. Thread-safe.
  absl::StatusOr<std::string> Identify(const CertificateInfo& cert) const;
  // Same, from the PEM text gRPC reports for the peer; Unauthenticated if it does not parse.
  absl::StatusOr<std::string> IdentifyPem(std::string_view cert_pem) const;

 private:
  class Index;
  PeerIdentity(ledger::Ledger* ledger, std::shared_ptr<Index> index)
      : ledger_(ledger), index_(std::move(index)) {}

  ledger::Ledger* const ledger_;
  const std::shared_ptr<Index> index_;
};

}  // namespace tds::node
