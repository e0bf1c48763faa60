#include "ledger/genesis.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/file.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/x509.h"
#include "google/protobuf/util/json_util.h"

namespace tds::ledger {
bool ValidMemberId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

bool KnownRole(std::string_view r) {
  return r == kRoleProvider || r == kRoleConsumer || r == kRoleAuditor || r == kRoleValidator;
}

namespace {

absl::Status Invalid(const std::string& name, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("genesis ", name, ": ", what));
}

}  // namespace

absl::StatusOr<GenesisInfo> GenesisInfo::Parse(std::string_view file_bytes,
                                               const std::string& name) {
  GenesisInfo g;
  TDS_RETURN_IF_ERROR(ParseConfigText(file_bytes, name, /*yaml=*/false, &g.proto_));
  g.bytes_ = std::string(file_bytes);
  g.digest_ = Sha256(file_bytes);
  const std::string& origin = g.proto_.origin();
  if (origin.empty() || origin.find('\n') != std::string::npos || origin.size() > 256) {
    return Invalid(name, "origin must be one non-empty line of at most 256 bytes");
  }
  std::set<std::string> keys_seen;
  std::set<std::string> pins_seen;
  for (int i = 0; i < g.proto_.members_size(); ++i) {
    const tds::Member& m = g.proto_.members(i);
    const std::string where = absl::StrCat("member ", i, " ('", m.id(), "')");
    if (!ValidMemberId(m.id())) {
      return Invalid(name, absl::StrCat(where, ": id must match [a-z0-9][a-z0-9._-]{0,63}"));
    }
    if (g.by_id_.count(m.id()) > 0) return Invalid(name, absl::StrCat(where, ": duplicate id"));
    if (m.roles_size() == 0) return Invalid(name, absl::StrCat(where, ": no roles"));
    for (const std::string& r : m.roles()) {
      if (!KnownRole(r)) {
        return Invalid(name, absl::StrCat(where, ": unknown role '", r,
                                          "' (provider, consumer, auditor, validator)"));
      }
    }
    auto key = PublicKey::FromHex(m.public_key());
    if (!key.ok()) {
      return Invalid(name,
                     absl::StrCat(where, ": public_key: ", std::string(key.status().message())));
    }
    const std::string raw(key->bytes());
    if (!keys_seen.insert(raw).second) {
      return Invalid(name, absl::StrCat(where, ": public key already used by another member"));
    }
    // Pins are compared as stored, so only the canonical form is accepted (docs/tls.md).
    if (!m.tls_cert_sha256().empty()) {
      if (!IsCertificateFingerprint(m.tls_cert_sha256())) {
        return Invalid(name, absl::StrCat(where,
                                          ": tls_cert_sha256 must be empty or 64 lowercase "
                                          "hex digits (SHA-256 of the certificate's DER)"));
      }
      if (!pins_seen.insert(m.tls_cert_sha256()).second) {
        return Invalid(name,
                       absl::StrCat(where, ": tls_cert_sha256 already pinned by another member"));
      }
    }
    g.by_id_[m.id()] = i;
    g.by_key_[raw] = i;
    g.keys_.push_back(*key);
    if (HasRole(m, kRoleValidator)) g.validators_.push_back(Validator{m.id(), *key});
  }
  if (g.validators_.empty()) return Invalid(name, "no member has the validator role");
  return g;
}

absl::StatusOr<GenesisInfo> GenesisInfo::Load(const std::string& path) {
  TDS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return Parse(bytes, path);
}

const tds::Member* GenesisInfo::FindMember(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &proto_.members(it->second);
}

const tds::Member* GenesisInfo::FindByKey(const PublicKey& key) const {
  auto it = by_key_.find(key.bytes());
  return it == by_key_.end() ? nullptr : &proto_.members(it->second);
}

const PublicKey* GenesisInfo::FindKey(std::string_view raw_key) const {
  auto it = by_key_.find(raw_key);
  return it == by_key_.end() ? nullptr : &keys_[it->second];
}

bool GenesisInfo::HasRole(const tds::Member& m, std::string_view role) {
  for (const std::string& r : m.roles()) {
    if (r == role) return true;
  }
  return false;
}

size_t GenesisInfo::quorum() const {
  // Quorums of floor((n + f) / 2) + 1 intersect in at least f + 1 validators; 2f + 1 at n = 3f + 1.
  const size_t n = validators_.size();
  const size_t f = (n - 1) / 3;
  return (n + f) / 2 + 1;
}

absl::StatusOr<std::string> BuildGenesisJson(const std::string& origin,
                                             const std::vector<std::string>& member_specs) {
  tds::Genesis g;
  g.set_origin(origin);
  g.set_version(1);
  for (const std::string& spec : member_specs) {
    std::vector<std::string> parts = absl::StrSplit(spec, ':');
    if (parts.size() != 3 && parts.size() != 4) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--member '", spec, "': expected ID:ROLE[,ROLE...]:PUBKEY_HEX[:CERT_SHA256]"));
    }
    tds::Member* m = g.add_members();
    m->set_id(parts[0]);
    m->set_name(parts[0]);
    for (absl::string_view r : absl::StrSplit(parts[1], ',')) m->add_roles(std::string(r));
    m->set_public_key(parts[2]);
    if (parts.size() == 4) {
      // `tds cert issue` prints lowercase; accept the uppercase `openssl x509 -fingerprint`
      // prints once its colons are removed.
      const std::string pin = absl::AsciiStrToLower(parts[3]);
      if (!IsCertificateFingerprint(pin)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--member '", spec,
                         "': CERT_SHA256 must be 64 hex digits (the "
                         "fingerprint `tds cert issue` or `tds cert fingerprint` prints)"));
      }
      m->set_tls_cert_sha256(pin);
    }
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  auto s = google::protobuf::util::MessageToJsonString(g, &json, opts);
  if (!s.ok()) return absl::InternalError(std::string(s.message()));
  // Validate exactly as a node will when it loads the file.
  TDS_RETURN_IF_ERROR(GenesisInfo::Parse(json, "(new)").status());
  return json;
}

}  // namespace tds::ledger
