#include "ledger/consensus/safety_store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/file.h"
#include "common/sha256.h"

namespace tds::consensus {
namespace {
constexpr std::string_view kMagic = "tds-safety-v1\n";
}

absl::StatusOr<tds::SafetyState> SafetyStore::Load() const {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return tds::SafetyState();
  auto raw = ReadFile(path_);
  if (!raw.ok()) return raw.status();
  const std::string& b = *raw;
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat("consensus safety record ", path_, ": ",
                                            std::string(why),
                                            "; refusing to start (a validator that forgot its "
                                            "votes could vote twice)"));
  };
  if (b.size() < kMagic.size() + 4 + 32 || b.compare(0, kMagic.size(), kMagic) != 0) {
    return corrupt("not a safety record");
  }
  const uint32_t len = DecodeFixed32BE(b.data() + kMagic.size());
  if (b.size() != kMagic.size() + 4 + len + 32) return corrupt("truncated");
  const Hash sum = Sha256(std::string_view(b).substr(0, b.size() - 32));
  if (std::string_view(b).substr(b.size() - 32) != AsBytes(sum))
    return corrupt("checksum mismatch");
  tds::SafetyState state;
  if (!state.ParseFromArray(b.data() + kMagic.size() + 4, static_cast<int>(len))) {
    return corrupt("record does not parse");
  }
  return state;
}

absl::Status SafetyStore::Save(const tds::SafetyState& state) const {
  std::string b(kMagic);
  const std::string body = state.SerializeAsString();
  PutFixed32BE(&b, static_cast<uint32_t>(body.size()));
  b += body;
  const Hash sum = Sha256(b);
  b += AsBytes(sum);
  return WriteFileAtomic(path_, b, 0600);
}

}  // namespace tds::consensus
