#include "ledger/receipt.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/envelope.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "ledger/checkpoint.h"
#include "ledger/epochs.h"
#include "ledger/merkle.h"
#include "proto/envelope.pb.h"

namespace tds::ledger {
namespace {

absl::Status Check(std::string_view check, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(std::string(check), ": ", std::string(s.message())));
}

absl::Status Malformed(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("receipt: ", what));
}

// More would mean more validator-set changes than a data space makes in its life.
constexpr size_t kMaxEpochChanges = 100000;

}  // namespace

std::string ReceiptToJson(const tds::Receipt& r) {
  nlohmann::ordered_json j;
  j["version"] = 1;
  auto opened = tds::Envelope();
  tds::Transaction tx;
  if (opened.ParseFromString(r.entry()) && tx.ParseFromString(opened.payload())) {
    j["txid"] = HexEncode(Sha256(opened.payload()));
  }
  j["index"] = r.index();
  j["tree_size"] = r.tree_size();
  j["height"] = r.height();
  j["entry"] = Base64Encode(r.entry());
  j["inclusion_proof"] = nlohmann::json::array();
  for (const std::string& h : r.inclusion_proof()) j["inclusion_proof"].push_back(HexEncode(h));
  j["checkpoint"] = r.checkpoint();
  if (r.epoch_changes_size() > 0) {
    j["epoch_changes"] = nlohmann::json::array();
    for (const tds::EpochChange& c : r.epoch_changes()) {
      j["epoch_changes"].push_back({{"header", Base64Encode(c.header())},
                                    {"checkpoint", c.checkpoint()},
                                    {"commit_proof", Base64Encode(c.commit_proof())}});
    }
  }
  if (j.contains("txid")) {
    j["transaction"] = {{"type", tx.type()},
                        {"submitter", tx.submitter()},
                        {"nonce", tx.nonce()},
                        {"created_ms", tx.created_ms()},
                        {"body_base64", Base64Encode(tx.body())},
                        {"note", "decoded for reading only; verification uses entry"}};
  }
  return j.dump(2) + "\n";
}

absl::StatusOr<tds::Receipt> ReceiptFromJson(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    return Malformed(absl::StrCat("not valid JSON: ", e.what()));
  }
  if (!j.is_object()) return Malformed("not a JSON object");
  tds::Receipt r;
  try {
    if (j.value("version", 0) != 1) return Malformed("unsupported version (want 1)");
    for (const char* field : {"index", "tree_size", "entry", "inclusion_proof", "checkpoint"}) {
      if (!j.contains(field)) return Malformed(absl::StrCat("missing field '", field, "'"));
    }
    if (!j["index"].is_number_unsigned() || !j["tree_size"].is_number_unsigned()) {
      return Malformed("index and tree_size must be unsigned integers");
    }
    r.set_index(j["index"].get<uint64_t>());
    r.set_tree_size(j["tree_size"].get<uint64_t>());
    if (j.contains("height") && j["height"].is_number_unsigned()) {
      r.set_height(j["height"].get<uint64_t>());
    }
    auto entry = Base64Decode(j["entry"].get<std::string>());
    if (!entry.ok())
      return Malformed(absl::StrCat("entry: ", std::string(entry.status().message())));
    r.set_entry(*entry);
    if (!j["inclusion_proof"].is_array() || j["inclusion_proof"].size() > 64) {
      return Malformed("inclusion_proof must be an array of at most 64 hashes");
    }
    for (const auto& h : j["inclusion_proof"]) {
      auto hash = HashFromHex(h.get<std::string>(), "inclusion_proof hash");
      if (!hash.ok()) return Malformed(std::string(hash.status().message()));
      r.add_inclusion_proof(std::string(AsBytes(*hash)));
    }
    r.set_checkpoint(j["checkpoint"].get<std::string>());
    if (j.contains("epoch_changes")) {
      if (!j["epoch_changes"].is_array() || j["epoch_changes"].size() > kMaxEpochChanges) {
        return Malformed(
            absl::StrCat("epoch_changes must be an array of at most ", kMaxEpochChanges));
      }
      for (const auto& c : j["epoch_changes"]) {
        tds::EpochChange* change = r.add_epoch_changes();
        auto header = Base64Decode(c.at("header").get<std::string>());
        auto proof = Base64Decode(c.at("commit_proof").get<std::string>());
        if (!header.ok() || !proof.ok()) {
          return Malformed("epoch_changes: header and commit_proof must be base64");
        }
        change->set_header(*header);
        change->set_checkpoint(c.at("checkpoint").get<std::string>());
        change->set_commit_proof(*proof);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Malformed(absl::StrCat("wrong field type: ", e.what()));
  }
  return r;
}

absl::StatusOr<VerifiedReceipt> VerifyReceipt(const tds::Receipt& r, const GenesisInfo& genesis) {
  VerifiedReceipt out;
  // 1. The envelope and its signature, over the exact bytes carried.
  auto opened = OpenEnvelope(r.entry(), kTxContext);
  TDS_RETURN_IF_ERROR(Check("envelope", opened.status()));
  if (!out.tx.ParseFromString(opened->payload)) {
    return Check("envelope", absl::InvalidArgumentError("payload is not a Transaction"));
  }
  out.txid = Sha256(opened->payload);
  // 2. Membership: the named submitter is a genesis member, and it is their key that signed.
  const tds::Member* m = genesis.FindMember(out.tx.submitter());
  if (m == nullptr) {
    return Check("membership", absl::PermissionDeniedError(absl::StrCat(
                                   "submitter '", out.tx.submitter(), "' is not a member")));
  }
  const tds::Member* by_key = genesis.FindByKey(opened->signer);
  if (by_key != m) {
    return Check("membership", absl::PermissionDeniedError(absl::StrCat(
                                   "envelope was not signed by member '", m->id(), "'s key")));
  }
  out.submitter = m->id();
  // 3. The validators of the checkpoint's epoch, from genesis through each epoch change, and
  // the checkpoint: origin, size and a quorum of their signatures (the trust anchor).
  auto validators = ValidatorsAfter(genesis, r.epoch_changes());
  TDS_RETURN_IF_ERROR(Check("epochs", validators.status()));
  auto cp = VerifyCheckpointBy(r.checkpoint(), genesis.origin(), *validators);
  if (!cp.ok()) return cp.status();  // already prefixed "checkpoint:"
  if (cp->height != 0 && cp->height != r.height()) {
    return Check("checkpoint", absl::InvalidArgumentError(
                                   absl::StrCat("receipt names block ", r.height(),
                                                " but the checkpoint is of block ", cp->height)));
  }
  if (cp->epoch != static_cast<uint64_t>(r.epoch_changes_size())) {
    return Check("epochs",
                 absl::InvalidArgumentError(absl::StrCat(
                     "the checkpoint is of validator epoch ", cp->epoch, " but the receipt ",
                     "carries ", r.epoch_changes_size(), " epoch change(s)")));
  }
  if (cp->size != r.tree_size()) {
    return Check("checkpoint", absl::InvalidArgumentError(absl::StrCat(
                                   "checkpoint covers ", cp->size,
                                   " entries but the proof is for tree size ", r.tree_size())));
  }
  // 4. Inclusion of this exact entry under the checkpoint's root.
  std::vector<Hash> proof;
  for (const std::string& h : r.inclusion_proof()) {
    auto hash = HashFromBytes(h, "proof hash");
    TDS_RETURN_IF_ERROR(Check("inclusion", hash.status()));
    proof.push_back(*hash);
  }
  TDS_RETURN_IF_ERROR(
      Check("inclusion", merkle::VerifyInclusion(merkle::LeafHash(r.entry()), r.index(),
                                                 r.tree_size(), proof, cp->root)));
  out.index = r.index();
  out.tree_size = r.tree_size();
  out.height = r.height();
  out.epoch = cp->epoch;
  out.validators = validators->size();
  out.quorum = out.validators - (out.validators - 1) / 3;
  return out;
}

}  // namespace tds::ledger
