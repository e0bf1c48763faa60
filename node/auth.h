#pragma once
// Who is calling, and what they may read (node/README.md, "Query access"; docs/tls.md).
//
// Over mutual TLS a caller is the current member its certificate identifies
// (MemberForCertificate): the node's TLS gate (node/tls.h) maps every call's peer certificate
// to a member before any service runs, and refuses the call when there is none.
//
// A query may also carry `auth` bytes: an Envelope (context kQueryContext) over a serialized
// tds.QueryIdentity {member_id, issued_ms}. It is accepted when the signer is the key of
// `member_id` in the current membership (state "member/<id>", so members admitted or removed by
// governance count) and issued_ms is within kMaxQueryClockSkewMs of the node's wall clock.
// Over TLS the certificate decides and `auth`, if present, must name the same member; on a
// plaintext (--insecure-dev) connection `auth` is the only identity and empty auth is an
// anonymous caller. Anything else fails UNAUTHENTICATED with a message naming the check.
//
// A signed identity is replayable for its 5-minute window by whoever sees it; queries are
// read-only, and over TLS a replayed identity is useless without the member's certificate.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/envelope.h"
#include "common/x509.h"
#include "proto/catalog.pb.h"
#include "proto/contracts.pb.h"
#include "proto/genesis.pb.h"

namespace tds::node {

inline constexpr int64_t kMaxQueryClockSkewMs = 5 * 60 * 1000;
// Larger auth bytes are refused before parsing (an identity envelope is ~150 bytes).
inline constexpr size_t kMaxAuthBytes = 4096;

// The authenticated caller of one query.
struct Caller {
  std::string member_id;           // empty: anonymous
  std::vector<std::string> roles;  // the member's roles when the query was made

  bool anonymous() const { return member_id.empty(); }
  bool HasRole(std::string_view role) const;
  // Auditors and validators may read everything.
  bool ReadsEverything() const;
  // "member 'bank'" or "an anonymous caller", for messages.
  std::string Describe() const;
};

// The current member with this id, or nullopt (ledger::ReadMember on committed state; before
// block 1 seeds the state, the genesis members).
using MemberLookup =
    std::function<absl::StatusOr<std::optional<tds::Member>>(std::string_view member_id)>;

// Authenticates `auth` against the current membership at wall time `now_ms`; `context` is the
// envelope context it must carry (ConsoleLoginContext(node) for console logins).
// Unauthenticated, naming the failed check: "auth: envelope: ...", "auth: 'x' is not a current
// member", "auth: signed by key ab.. which is not the key of member 'x'", "auth: issued_ms ...
// is 400000 ms from the node's clock (at most 300000)". DataLoss/Internal if state is corrupt.
absl::StatusOr<Caller> AuthenticateQuery(const MemberLookup& members, std::string_view auth,
                                         int64_t now_ms, std::string_view context = kQueryContext);

// The id of the current member whose tls_cert_sha256 is this fingerprint, or nullopt.
// Unauthenticated if several members pin it (a record to fix by governance).
using PinLookup =
    std::function<absl::StatusOr<std::optional<std::string>>(std::string_view sha256_hex)>;

// The current member a mutual-TLS peer's certificate identifies (the handshake has already
// verified the certificate's chain to the consortium CA):
//   1. the member whose tls_cert_sha256 pins the certificate (SHA-256 of its DER); else
//   2. the member whose id is the certificate's CN, if that member pins no certificate (the
//      weaker mode: any certificate the CA issued with that CN).
// Otherwise Unauthenticated "certificate <fp> is not a current member's (<why>)", where why
// names the CN and, when the CN's member pins another certificate, that pin.
absl::StatusOr<tds::Member> MemberForCertificate(const MemberLookup& members, const PinLookup& pins,
                                                 const CertificateInfo& cert);

// The caller of one query. `certificate_member` is the member the TLS gate identified from the
// peer's certificate, or nullopt on a plaintext (--insecure-dev) connection.
//   plaintext: AuthenticateQuery(auth).
//   TLS:       the certificate's member (Unauthenticated if it has left since the gate); when
//              `auth` is present too it must authenticate (as AuthenticateQuery) and name the
//              same member, else PermissionDenied naming both.
absl::StatusOr<Caller> AuthenticateCaller(const MemberLookup& members,
                                          const std::optional<std::string>& certificate_member,
                                          std::string_view auth, int64_t now_ms);

// --- Access rules (every service applies these, and only these). ---

// Unauthenticated for an anonymous caller: `what` needs an identity ("contracts are visible to
// their parties: sign the query as a member (auth)").
absl::Status RequireIdentity(const Caller& caller, std::string_view what);

// Whether the caller may read data where `member_id` is a party: itself, or an auditor or
// validator.
bool MayActFor(const Caller& caller, std::string_view member_id);

// A contract, its counters and its usage: its provider, its consumer, auditors, validators.
// PermissionDenied naming the member and the contract otherwise.
absl::Status CheckContractAccess(const Caller& caller, const tds::Contract& contract);

// Whether the product is listed to the caller: levels 1-4 to everyone; level 5 only to the
// callers catalog::VisibleTo admits (provider, allow list), auditors and validators.
bool MaySeeProduct(const Caller& caller, const tds::Product& product);

// A product's valuation: its provider, auditors and validators. PermissionDenied naming the
// member and the product otherwise.
absl::Status CheckValuationAccess(const Caller& caller, const tds::Product& product);

}  // namespace tds::node
