#include "ledger/checkpoint.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "ledger/genesis.h"

namespace tds::ledger {
namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // "— " (U+2014, space)
constexpr std::string_view kBlockExtension = "tds-block ";
constexpr std::string_view kEpochExtension = "tds-epoch ";
constexpr uint8_t kEd25519SigType = 0x01;

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("checkpoint: ", what));
}

// Decimal without sign or leading zeros, as tlog-checkpoint requires.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(std::string(s), out);
}

}  // namespace

std::string Checkpoint::Body() const {
  std::string body = absl::StrCat(origin, "\n", size, "\n", Base64Encode(AsBytes(root)), "\n");
  if (height > 0) {
    absl::StrAppend(&body, std::string(kBlockExtension), height, " ",
                    Base64Encode(AsBytes(block_hash)), "\n");
  }
  if (epoch > 0) absl::StrAppend(&body, std::string(kEpochExtension), epoch, "\n");
  return body;
}

uint32_t NoteKeyId(std::string_view key_name, const PublicKey& key) {
  Sha256Hasher h;
  h.Update(key_name).Update("\n");
  const char type = static_cast<char>(kEd25519SigType);
  h.Update(std::string_view(&type, 1)).Update(key.bytes());
  const Hash d = h.Finish();
  return (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
}

std::string SignNoteLine(std::string_view body, std::string_view key_name, const SigningKey& key) {
  return NoteLine(key_name, key.public_key(), key.Sign(body));
}

std::string NoteLine(std::string_view key_name, const PublicKey& key, std::string_view signature) {
  std::string blob;
  PutFixed32BE(&blob, NoteKeyId(key_name, key));
  blob += signature;
  return absl::StrCat(std::string(kSigPrefix), std::string(key_name), " ", Base64Encode(blob),
                      "\n");
}

std::string AssembleNote(std::string_view body, const std::vector<std::string>& sig_lines) {
  std::string note(body);
  note += "\n";
  for (const std::string& l : sig_lines) note += l;
  return note;
}

absl::StatusOr<SignedNote> ParseSignedNote(std::string_view text) {
  if (text.size() > 64 * 1024) return Bad("note larger than 64 KiB");
  const size_t split = text.find("\n\n");
  if (split == std::string_view::npos) return Bad("no blank line between body and signatures");
  SignedNote note;
  note.body = std::string(text.substr(0, split + 1));
  std::vector<std::string_view> lines =
      SplitString(std::string_view(note.body).substr(0, note.body.size() - 1), '\n');
  if (lines.size() < 3) return Bad("body needs origin, size and root lines");
  Checkpoint& cp = note.checkpoint;
  cp.origin = std::string(lines[0]);
  if (cp.origin.empty()) return Bad("line 1: empty origin");
  if (!ParseDecimal(lines[1], &cp.size)) {
    return Bad(absl::StrCat("line 2: tree size '", std::string(lines[1]), "' is not a decimal"));
  }
  auto root = Base64Decode(lines[2]);
  if (!root.ok()) return Bad(absl::StrCat("line 3: root: ", std::string(root.status().message())));
  auto root_hash = HashFromBytes(*root, "line 3: root");
  if (!root_hash.ok()) return Bad(std::string(root_hash.status().message()));
  cp.root = *root_hash;
  for (size_t i = 3; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l.empty()) return Bad(absl::StrCat("line ", i + 1, ": empty extension line"));
    if (l.substr(0, kEpochExtension.size()) == kEpochExtension) {
      if (!ParseDecimal(l.substr(kEpochExtension.size()), &cp.epoch) || cp.epoch == 0) {
        return Bad(absl::StrCat("line ", i + 1, ": malformed tds-epoch extension"));
      }
      continue;
    }
    if (l.substr(0, kBlockExtension.size()) != kBlockExtension) continue;  // opaque extension
    std::vector<std::string_view> f = SplitString(l.substr(kBlockExtension.size()), ' ');
    auto bh = f.size() == 2 ? Base64Decode(f[1])
                            : absl::StatusOr<std::string>(absl::InvalidArgumentError(""));
    if (f.size() != 2 || !ParseDecimal(f[0], &cp.height) || cp.height == 0 || !bh.ok() ||
        bh->size() != 32) {
      return Bad(absl::StrCat("line ", i + 1, ": malformed tds-block extension"));
    }
    cp.block_hash = *HashFromBytes(*bh);
  }
  std::string_view sigs = text.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return Bad("signature block must end with a newline");
  sigs.remove_suffix(1);
  for (std::string_view l : SplitString(sigs, '\n')) {
    if (l.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return Bad(absl::StrCat("signature line '", std::string(l.substr(0, 40)),
                              "' does not start with an em dash"));
    }
    l.remove_prefix(kSigPrefix.size());
    const size_t sp = l.find(' ');
    if (sp == std::string_view::npos || sp == 0) return Bad("signature line without a key name");
    auto blob = Base64Decode(l.substr(sp + 1));
    if (!blob.ok() || blob->size() < 5) {
      return Bad(absl::StrCat("signature of '", std::string(l.substr(0, sp)), "' is not base64"));
    }
    NoteSignature s;
    s.key_name = std::string(l.substr(0, sp));
    s.key_id = (uint32_t{uint8_t((*blob)[0])} << 24) | (uint32_t{uint8_t((*blob)[1])} << 16) |
               (uint32_t{uint8_t((*blob)[2])} << 8) | uint8_t((*blob)[3]);
    s.signature = blob->substr(4);
    note.signatures.push_back(std::move(s));
  }
  return note;
}

absl::StatusOr<Checkpoint> VerifyCheckpoint(std::string_view text, const GenesisInfo& genesis) {
  return VerifyCheckpointBy(text, genesis.origin(), genesis.validators());
}

absl::StatusOr<Checkpoint> VerifyCheckpointBy(std::string_view text, std::string_view origin,
                                              const std::vector<Validator>& validators) {
  TDS_ASSIGN_OR_RETURN(SignedNote note, ParseSignedNote(text));
  if (note.checkpoint.origin != origin) {
    return Bad(absl::StrCat("origin '", note.checkpoint.origin, "' is not this data space ('",
                            std::string(origin), "')"));
  }
  std::set<std::string> good;
  for (const NoteSignature& s : note.signatures) {
    for (const Validator& v : validators) {
      if (v.id != s.key_name || NoteKeyId(v.id, v.key) != s.key_id) continue;
      if (s.signature.size() != kSignatureBytes || !v.key.Verify(note.body, s.signature)) {
        return Bad(absl::StrCat("signature of validator '", v.id, "' does not verify"));
      }
      good.insert(v.id);
    }
  }
  const size_t n = validators.size();
  const size_t quorum = n == 0 ? 1 : n - (n - 1) / 3;
  if (good.size() < quorum) {
    return Bad(
        absl::StrCat("signed by ", good.size(), " of ", n, " validators; a quorum is ", quorum));
  }
  return note.checkpoint;
}

absl::Status CheckpointMatchesHeader(const Checkpoint& cp, const tds::BlockHeader& header,
                                     std::string_view header_bytes) {
  auto differs = [](std::string_view field, const std::string& ours, const std::string& theirs) {
    return absl::InvalidArgumentError(
        absl::StrCat("its ", std::string(field), " is ", ours, ", the header's ", theirs));
  };
  if (cp.height != header.height()) {
    return differs("block height", absl::StrCat(cp.height), absl::StrCat(header.height()));
  }
  if (const Hash id = Sha256(header_bytes); cp.block_hash != id) {
    return differs("block hash", HexEncode(cp.block_hash), HexEncode(id));
  }
  if (cp.size != header.log_size()) {
    return differs("log size", absl::StrCat(cp.size), absl::StrCat(header.log_size()));
  }
  if (AsBytes(cp.root) != header.log_root()) {
    return differs("log root", HexEncode(cp.root), HexEncode(header.log_root()));
  }
  if (cp.epoch != header.epoch()) {
    return differs("epoch", absl::StrCat(cp.epoch), absl::StrCat(header.epoch()));
  }
  return absl::OkStatus();
}

}  // namespace tds::ledger
