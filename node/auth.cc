#include "node/auth.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/status_macros.h"
#include "ledger/genesis.h"
#include "ledger/membership.h"
#include "proto/query_service.pb.h"

namespace tds::node {
namespace {

absl::Status Unauthenticated(std::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("auth: ", std::string(why)));
}

}  // namespace

bool Caller::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Caller::ReadsEverything() const {
  return HasRole(ledger::kRoleAuditor) || HasRole(ledger::kRoleValidator);
}

std::string Caller::Describe() const {
  return anonymous() ? "an anonymous caller" : absl::StrCat("member '", member_id, "'");
}

absl::StatusOr<Caller> AuthenticateQuery(const MemberLookup& members, std::string_view auth,
                                         int64_t now_ms, std::string_view context) {
  if (auth.empty()) return Caller{};
  if (auth.size() > kMaxAuthBytes) {
    return Unauthenticated(
        absl::StrCat(auth.size(), " bytes exceeds the limit of ", kMaxAuthBytes));
  }
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(auth, context);
  if (!opened.ok()) {
    return Unauthenticated(absl::StrCat("envelope: ", std::string(opened.status().message())));
  }
  tds::QueryIdentity identity;
  if (!identity.ParseFromString(opened->payload)) {
    return Unauthenticated("payload is not a tds.QueryIdentity");
  }
  if (identity.member_id().empty()) return Unauthenticated("member_id: empty");
  // now_ms is a real clock reading, so now_ms ± the skew cannot overflow.
  if (identity.issued_ms() > now_ms + kMaxQueryClockSkewMs ||
      identity.issued_ms() < now_ms - kMaxQueryClockSkewMs) {
    return Unauthenticated(absl::StrCat(
        "issued_ms ", identity.issued_ms(), " is ",
        identity.issued_ms() > now_ms ? "ahead of" : "behind", " the node's clock (", now_ms,
        ") by more than ", kMaxQueryClockSkewMs, " ms; sign a fresh identity and check the clock"));
  }
  absl::StatusOr<std::optional<tds::Member>> member = members(identity.member_id());
  if (!member.ok()) return member.status();
  if (!member->has_value()) {
    return Unauthenticated(absl::StrCat("'", identity.member_id(), "' is not a current member"));
  }
  absl::StatusOr<PublicKey> key = ledger::MemberKey(**member);
  if (!key.ok()) return key.status();
  if (!(*key == opened->signer)) {
    return Unauthenticated(absl::StrCat("signed by key ", opened->signer.hex(),
                                        ", which is not the key of member '", identity.member_id(),
                                        "'"));
  }
  Caller caller;
  caller.member_id = identity.member_id();
  caller.roles.assign((*member)->roles().begin(), (*member)->roles().end());
  return caller;
}

absl::StatusOr<tds::Member> MemberForCertificate(const MemberLookup& members, const PinLookup& pins,
                                                 const CertificateInfo& cert) {
  const std::string& fp = cert.sha256_hex;
  TDS_ASSIGN_OR_RETURN(std::optional<std::string> pinned_by, pins(fp));
  if (pinned_by.has_value()) {
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> m, members(*pinned_by));
    // The pin index may trail the state by a block: trust only a record that still pins it.
    if (m.has_value() && m->tls_cert_sha256() == fp) return *std::move(m);
  }
  std::string why;
  if (cert.common_name.empty()) {
    why = "no member pins it and it has no CN";
  } else if (!ledger::ValidMemberId(cert.common_name)) {
    why = absl::StrCat("no member pins it and its CN '", cert.common_name, "' is not a member id");
  } else {
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> m, members(cert.common_name));
    if (!m.has_value()) {
      why = absl::StrCat("no member pins it and its CN '", cert.common_name,
                         "' is not a current member");
    } else if (m->tls_cert_sha256().empty()) {
      return *std::move(m);
    } else {
      why = absl::StrCat("member '", m->id(), "' pins certificate ", m->tls_cert_sha256());
    }
  }
  return absl::UnauthenticatedError(
      absl::StrCat("certificate ", fp, " is not a current member's (", why, ")"));
}

absl::StatusOr<Caller> AuthenticateCaller(const MemberLookup& members,
                                          const std::optional<std::string>& certificate_member,
                                          std::string_view auth, int64_t now_ms) {
  if (!certificate_member.has_value()) return AuthenticateQuery(members, auth, now_ms);
  TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> member, members(*certificate_member));
  if (!member.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "TLS certificate of member '", *certificate_member, "': no longer a current member"));
  }
  Caller caller;
  caller.member_id = *certificate_member;
  caller.roles.assign(member->roles().begin(), member->roles().end());
  if (auth.empty()) return caller;
  TDS_ASSIGN_OR_RETURN(Caller signed_as, AuthenticateQuery(members, auth, now_ms));
  if (signed_as.member_id != caller.member_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("auth: the query is signed as member '", signed_as.member_id,
                     "' but the TLS certificate identifies member '", caller.member_id, "'"));
  }
  return caller;
}

absl::Status RequireIdentity(const Caller& caller, std::string_view what) {
  if (!caller.anonymous()) return absl::OkStatus();
  return absl::UnauthenticatedError(
      absl::StrCat(std::string(what), ": sign the query as a member (auth)"));
}

bool MayActFor(const Caller& caller, std::string_view member_id) {
  if (caller.anonymous()) return false;
  return caller.member_id == member_id || caller.ReadsEverything();
}

absl::Status CheckContractAccess(const Caller& caller, const tds::Contract& contract) {
  TDS_RETURN_IF_ERROR(
      RequireIdentity(caller, "contracts and their usage are visible to their parties only"));
  if (MayActFor(caller, contract.provider()) || MayActFor(caller, contract.consumer())) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      caller.Describe(), " is not a party to contract '", contract.id(), "' (provider '",
      contract.provider(), "', consumer '", contract.consumer(), "')"));
}

bool MaySeeProduct(const Caller& caller, const tds::Product& product) {
  if (caller.ReadsEverything()) return true;
  return catalog::VisibleTo(product, caller.member_id);
}

absl::Status CheckValuationAccess(const Caller& caller, const tds::Product& product) {
  TDS_RETURN_IF_ERROR(RequireIdentity(
      caller, "valuations are visible to the product's provider and auditors only"));
  if (MayActFor(caller, product.provider())) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(caller.Describe(), " may not read the valuation of product '", product.id(),
                   "': only its provider '", product.provider(), "', auditors and validators may"));
}

}  // namespace tds::node
