#include "node/peer_identity.h"

#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/membership.h"
#include "node/auth.h"
#include "spdlog/spdlog.h"

namespace tds::node {

// fingerprint → ids of the members pinning it (normally one), and each member's own pin.
class PeerIdentity::Index {
 public:
  void Set(const std::string& id, const std::string& pin) {
    std::lock_guard<std::mutex> lock(mu_);
    SetLocked(id, pin);
  }

  // Applies one block's writes to "member/<id>" records.
  absl::Status Apply(const ledger::Ledger::StateWrites& writes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = writes.lower_bound(ledger::kMemberPrefix);
         it != writes.end() && StartsWith(it->first, ledger::kMemberPrefix); ++it) {
      const std::string id = it->first.substr(ledger::kMemberPrefix.size());
      std::string pin;
      if (it->second.has_value()) {
        tds::Member m;
        if (!m.ParseFromString(*it->second)) {
          return absl::DataLossError(absl::StrCat("state: ", it->first, " is not a tds.Member"));
        }
        pin = m.tls_cert_sha256();
      }
      SetLocked(id, pin);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> PinnedBy(std::string_view fp) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_pin_.find(fp);
    if (it == by_pin_.end()) return std::nullopt;
    if (it->second.size() > 1) {
      return absl::UnauthenticatedError(
          absl::StrCat("certificate ", std::string(fp), " is pinned by several members (",
                       absl::StrJoin(it->second, ", "), "); governance must fix their records"));
    }
    return *it->second.begin();
  }

 private:
  // REQUIRES: mu_ held. An empty pin removes the member's entry.
  void SetLocked(const std::string& id, const std::string& pin) {
    auto old = pin_of_.find(id);
    if (old != pin_of_.end()) {
      auto ids = by_pin_.find(old->second);
      ids->second.erase(id);
      if (ids->second.empty()) by_pin_.erase(ids);
      pin_of_.erase(old);
    }
    if (pin.empty()) return;
    pin_of_[id] = pin;
    by_pin_[pin].insert(id);
  }

  mutable std::mutex mu_;
  std::map<std::string, std::set<std::string>, std::less<>> by_pin_;  // guarded by mu_
  std::map<std::string, std::string> pin_of_;                         // guarded by mu_
};

absl::StatusOr<std::optional<tds::Member>> ReadCurrentMember(const ledger::Ledger& ledger,
                                                             std::string_view member_id) {
  if (ledger.Status().height == 0) {
    const tds::Member* m = ledger.genesis().FindMember(member_id);
    if (m == nullptr) return std::nullopt;
    return *m;
  }
  return ledger::ReadMember(ledger.state(), member_id);
}

absl::StatusOr<std::shared_ptr<PeerIdentity>> PeerIdentity::Create(ledger::Ledger* ledger) {
  auto index = std::make_shared<Index>();
  absl::Status loaded;
  ledger->Observe(
      [&](const ledger::StateReader& state) {
        bool any = false;
        loaded = state.Scan(
            ledger::kMemberPrefix, "", SIZE_MAX, [&](std::string_view key, std::string_view value) {
              any = true;
              tds::Member m;
              if (!m.ParseFromString(std::string(value))) {
                loaded = absl::DataLossError(
                    absl::StrCat("state: ", std::string(key), " is not a tds.Member"));
                return false;
              }
              index->Set(m.id(), m.tls_cert_sha256());
              return true;
            });
        // No member records: block 1, which seeds them from genesis, has not committed.
        if (loaded.ok() && !any) {
          for (const tds::Member& m : ledger->genesis().proto().members()) {
            index->Set(m.id(), m.tls_cert_sha256());
          }
        }
      },
      [index](uint64_t height, int64_t, const ledger::Ledger::StateWrites& writes) {
        // A corrupt record fails its lookups later (ReadMember reports it); keep following.
        if (absl::Status s = index->Apply(writes); !s.ok()) {
          spdlog::error("TLS peer identity, block {}: {}", height, std::string(s.message()));
        }
      });
  if (!loaded.ok()) {
    return absl::Status(loaded.code(),
                        absl::StrCat("TLS peer identity: ", std::string(loaded.message())));
  }
  return std::shared_ptr<PeerIdentity>(new PeerIdentity(ledger, std::move(index)));
}

absl::StatusOr<std::string> PeerIdentity::Identify(const CertificateInfo& cert) const {
  MemberLookup members = [this](std::string_view id) { return ReadCurrentMember(*ledger_, id); };
  PinLookup pins = [this](std::string_view fp) { return index_->PinnedBy(fp); };
  absl::StatusOr<tds::Member> member = MemberForCertificate(members, pins, cert);
  if (!member.ok()) return member.status();
  return member->id();
}

absl::StatusOr<std::string> PeerIdentity::IdentifyPem(std::string_view cert_pem) const {
  absl::StatusOr<CertificateInfo> cert = ParseCertificatePem(cert_pem);
  if (!cert.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("peer certificate: ", std::string(cert.status().message())));
  }
  return Identify(*cert);
}

}  // namespace tds::node
