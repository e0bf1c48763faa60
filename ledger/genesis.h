#pragma once
// The genesis file: the data space's root of trust (origin, members, roles, keys).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "proto/genesis.pb.h"

namespace tds::ledger {

inline constexpr std::string_view kRoleProvider = "provider";
inline constexpr std::string_view kRoleConsumer = "consumer";
inline constexpr std::string_view kRoleAuditor = "auditor";
inline constexpr std::string_view kRoleValidator = "validator";

// Member ids: [a-z0-9][a-z0-9._-]{0,63} (they name checkpoint signers and state keys).
bool ValidMemberId(std::string_view id);
// provider, consumer, auditor or validator.
bool KnownRole(std::string_view role);

struct Validator {
  std::string id;
  PublicKey key;
};

// A parsed and validated genesis. Immutable; cheap to share by const reference.
class GenesisInfo {
 public:
  // Validates: origin is a non-empty single line; member ids unique and well formed; roles
  // known; keys valid Ed25519 points, unique; tls_cert_sha256 empty or 64 lowercase hex
  // digits, unique; at least one validator. Errors name the member and the field.
  static absl::StatusOr<GenesisInfo> Parse(std::string_view file_bytes, const std::string& name);
  static absl::StatusOr<GenesisInfo> Load(const std::string& path);

  const tds::Genesis& proto() const { return proto_; }
  const std::string& origin() const { return proto_.origin(); }
  // SHA-256 of the file's exact bytes; the first block's prev_block_hash.
  const Hash& digest() const { return digest_; }
  const std::string& bytes() const { return bytes_; }

  const tds::Member* FindMember(std::string_view id) const;
  // The member whose key this is, or nullptr.
  const tds::Member* FindByKey(const PublicKey& key) const;
  // The validated key of the member whose raw key bytes these are, or nullptr.
  const PublicKey* FindKey(std::string_view raw_key) const;
  static bool HasRole(const tds::Member& m, std::string_view role);

  // Validators in genesis order.
  const std::vector<Validator>& validators() const { return validators_; }
  // Signatures a checkpoint needs: 2f + 1 for n = 3f + 1 (n = 1 → 1, n = 4 → 3).
  size_t quorum() const;
  // Blocks between state-root headers (snapshot_interval, default 1000).
  uint64_t snapshot_interval() const {
    return proto_.snapshot_interval() == 0 ? 1000 : proto_.snapshot_interval();
  }

 private:
  tds::Genesis proto_;
  std::string bytes_;
  Hash digest_{};
  std::vector<Validator> validators_;
  std::map<std::string, int, std::less<>> by_id_;
  std::map<std::string, int, std::less<>> by_key_;  // raw key bytes → member index
  std::vector<PublicKey> keys_;                     // by member index
};

// Builds genesis JSON from "ID:ROLE[,ROLE...]:PUBKEY_HEX[:CERT_SHA256]" specs (the `tds genesis`
// CLI); CERT_SHA256 pins the member's TLS certificate (docs/tls.md), either case, stored
// lowercase. The result parses with GenesisInfo::Parse; errors name the bad spec.
absl::StatusOr<std::string> BuildGenesisJson(const std::string& origin,
                                             const std::vector<std::string>& member_specs);

}  // namespace tds::ledger
