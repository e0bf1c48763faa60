#pragma once
// Checkpoints as C2SP signed notes (tlog-checkpoint + signed-note, Ed25519 signature type 0x01).
//
//   checkpoint := origin "\n" decimal(size) "\n" base64(root) "\n" *(extension "\n")
//   note       := checkpoint "\n" 1*("— " key_name " " base64(key_id[4] || sig[64]) "\n")
//   key_id     := SHA-256(key_name || "\n" || 0x01 || pubkey)[0:4]
//   sig        := Ed25519(pubkey, checkpoint)   ; the body bytes, including the final newline
//
// TDS adds the extension line "tds-block <height> <base64 block hash>", binding the checkpoint
// to the block (and so to its state digest), and from validator epoch 1 on "tds-epoch <epoch>",
// naming the validators whose quorum signs it (ledger/epochs.h). Key names are validator member
// ids. A checkpoint is valid when a quorum (2f + 1 of n = 3f + 1) of its epoch's validators sign
// it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "proto/ledger.pb.h"

namespace tds::ledger {

class GenesisInfo;

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  uint64_t height = 0;  // from the tds-block extension; 0 if absent
  Hash block_hash{};
  uint64_t epoch = 0;  // from the tds-epoch extension (validator epoch; absent in epoch 0)

  // The exact body bytes that signatures cover.
  std::string Body() const;
};

struct NoteSignature {
  std::string key_name;
  uint32_t key_id = 0;
  std::string signature;  // 64 bytes
};

struct SignedNote {
  std::string body;  // exact bytes, as parsed
  Checkpoint checkpoint;
  std::vector<NoteSignature> signatures;
};

uint32_t NoteKeyId(std::string_view key_name, const PublicKey& key);
// One signature line ("— name base64\n") over `body`.
std::string SignNoteLine(std::string_view body, std::string_view key_name, const SigningKey& key);
// The same line from a signature made elsewhere (a validator's consensus vote).
std::string NoteLine(std::string_view key_name, const PublicKey& key, std::string_view signature);
// body + "\n" + signature lines.
std::string AssembleNote(std::string_view body, const std::vector<std::string>& sig_lines);

// Strict parse of a signed note; errors name the line that is wrong.
absl::StatusOr<SignedNote> ParseSignedNote(std::string_view text);

// Parses, checks the origin equals genesis's, and counts distinct genesis validators whose
// signature verifies; fails unless that count reaches genesis.quorum(). Unknown signers are
// ignored (as signed-note verifiers do); a known signer with a bad signature is an error.
absl::StatusOr<Checkpoint> VerifyCheckpoint(std::string_view text, const GenesisInfo& genesis);

// The same against any validator set (an epoch's, ledger/epochs.h): `origin` and quorum
// n - floor((n - 1) / 3) of `validators`.
struct Validator;
absl::StatusOr<Checkpoint> VerifyCheckpointBy(std::string_view text, std::string_view origin,
                                              const std::vector<Validator>& validators);

// Whether `cp` certifies the block whose serialized header is `header_bytes` (`header` is
// parsed from them): same height, block hash, log size, log root and epoch. InvalidArgument
// naming the first field that differs ("its log size is 7, the header's 8"). Followers,
// epoch changes, snapshot offers and auditors' replays all bind a checkpoint to a block so.
absl::Status CheckpointMatchesHeader(const Checkpoint& cp, const tds::BlockHeader& header,
                                     std::string_view header_bytes);

}  // namespace tds::ledger
