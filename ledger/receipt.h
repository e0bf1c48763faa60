#pragma once
// Receipts: one transaction + inclusion proof + the signed checkpoint of the block that committed
// it, verifiable offline with nothing but the genesis file. Newer checkpoints extend it by
// consistency proofs. JSON form (docs/formats.md, "Receipt"):
//   {"version":1, "txid":hex, "index":n, "tree_size":n, "height":n,
//    "entry":base64(serialized Envelope), "inclusion_proof":[hex...], "checkpoint":note text,
//    "transaction": {decoded, informational only — never used to verify}}

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ledger/genesis.h"
#include "proto/ledger.pb.h"

namespace tds::ledger {

std::string ReceiptToJson(const tds::Receipt& receipt);
absl::StatusOr<tds::Receipt> ReceiptFromJson(std::string_view json);

struct VerifiedReceipt {
  Hash txid{};
  tds::Transaction tx;
  std::string submitter;
  uint64_t index = 0;
  uint64_t tree_size = 0;
  uint64_t height = 0;
  uint64_t epoch = 0;     // validator epoch of the checkpoint (the epoch changes followed)
  size_t validators = 0;  // in that epoch
  size_t quorum = 0;      // signatures a checkpoint of that epoch needs
};

// Checks, in order, each failure prefixed by the check's name:
//   "envelope:"   entry parses as an Envelope with context tds.tx.v1 and a valid signature
//   "membership:" the transaction's submitter is a genesis member whose key signed it
//   "epochs:"     each epoch change verifies with the validators of the epoch it ends, from the
//                 genesis validators on, and the checkpoint's tds-epoch counts them
//   "checkpoint:" the note parses, names genesis's origin, size == tree_size and (through its
//                 tds-block line) height == the receipt's height, and carries a quorum of valid
//                 validator signatures
//   "inclusion:"  the proof places the entry's leaf at index in a tree of tree_size with the
//                 checkpoint's root
absl::StatusOr<VerifiedReceipt> VerifyReceipt(const tds::Receipt& receipt,
                                              const GenesisInfo& genesis);

}  // namespace tds::ledger
