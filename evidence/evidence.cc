#include "evidence/evidence.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "proto/evidence.pb.h"

namespace tds::evidence {
namespace {

constexpr size_t kMaxMetadataEntries = 32;
constexpr size_t kMaxMetadataBytes = 256;

bool ValidDocType(const std::string& t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status Validate(const tds::EvidenceAnchor& a) {
  if (a.digest().size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evidence.anchor: digest must be 32 bytes (SHA-256), got ", a.digest().size()));
  }
  if (!ValidDocType(a.doc_type())) {
    return absl::InvalidArgumentError(absl::StrCat("evidence.anchor: doc_type '", a.doc_type(),
                                                   "' must match [a-z0-9._-]{1,64}"));
  }
  if (a.metadata_size() > static_cast<int>(kMaxMetadataEntries)) {
    return absl::InvalidArgumentError(absl::StrCat("evidence.anchor: ", a.metadata_size(),
                                                   " metadata entries; at most ",
                                                   kMaxMetadataEntries));
  }
  for (const auto& [k, v] : a.metadata()) {
    if (k.empty() || k.size() > kMaxMetadataBytes || v.size() > kMaxMetadataBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("evidence.anchor: metadata key '", k.substr(0, 64),
                       "' must be 1..256 bytes with a value of at most 256 bytes"));
    }
  }
  return absl::OkStatus();
}

std::string RecordKey(std::string_view digest, uint64_t index) {
  std::string k = absl::StrCat("evidence/", std::string(digest));
  PutFixed64BE(&k, index);
  return k;
}

class AnchorHandler : public ledger::TxHandler {
 public:
  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view body,
                                    ledger::StateWriter& state) const override {
    tds::EvidenceAnchor anchor;
    if (!anchor.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return absl::InvalidArgumentError("evidence.anchor: body is not an EvidenceAnchor");
    }
    if (absl::Status s = Validate(anchor); !s.ok()) return s;
    tds::EvidenceRecord rec;
    rec.set_submitter(ctx.submitter);
    rec.set_doc_type(anchor.doc_type());
    rec.set_height(ctx.block->height);
    rec.set_block_time_ms(ctx.block->timestamp_ms);
    rec.set_txid(std::string(AsBytes(ctx.txid)));
    state.Put(RecordKey(anchor.digest(), ctx.index), rec.SerializeAsString());
    return std::string();
  }
};

}  // namespace

void Register(ledger::Application& app) {
  app.Register(std::string(kAnchorTxType), std::make_unique<AnchorHandler>());
}

absl::StatusOr<std::string> MakeAnchorBody(const Hash& digest, const std::string& doc_type,
                                           const std::map<std::string, std::string>& metadata) {
  tds::EvidenceAnchor a;
  a.set_digest(std::string(AsBytes(digest)));
  a.set_doc_type(doc_type);
  for (const auto& [k, v] : metadata) (*a.mutable_metadata())[k] = v;
  if (absl::Status s = Validate(a); !s.ok()) return s;
  std::string out;
  // Deterministic so the same anchor yields the same bytes (maps otherwise serialize in any order).
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    a.SerializeToCodedStream(&cos);
  }
  return out;
}

}  // namespace tds::evidence
