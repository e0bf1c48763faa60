// tds_receipt_vectors OUT_DIR: test vectors for the web console's receipt verifier
// (node/console/web/verify.js), decided by the C++ reference.
//
// Writes to OUT_DIR:
//   genesis.json, genesis_other.json, genesis4.json   genesis files the receipts refer to
//   *.json                      receipts: valid ones and tampered variants, one or more per
//                               check (receipt, envelope, membership, epochs, checkpoint,
//                               inclusion)
//   expected.json               [{"file", "genesis", "ok", "failed_check", "message", "txid"}]:
//                               ReceiptFromJson + ledger::VerifyReceipt on each receipt file;
//                               failed_check is the message's prefix before the first ':'
//   merkle.json                 RFC 9162 roots and inclusion proofs (ledger/merkle.h) of the
//                               first 1..10 leaves of a fixed list
//   ed25519.json                signatures with common/ed25519.h's verdict ("valid") and
//                               PublicKey::FromBytes's on the key ("key_valid"): canonical and
//                               non-canonical encodings, small-order and mixed-order keys,
//                               torsion in R
//
// Receipts come from two sources: a real single-validator Ledger (genesis.json, as
// ledger/receipt_test.cc makes them) and a hand-built four-validator log (genesis4.json)
// whose checkpoints are signed by chosen subsets, to exercise quorum counting.

#include <sodium.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "common/file.h"
#include "common/sha256.h"
#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/receipt.h"
#include "ledger/test_util.h"
#include "proto/envelope.pb.h"

namespace tds::ledger {
namespace {

using testing::KeyFromByte;
using testing::MakeTx;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "tds_receipt_vectors: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(absl::StrCat(what, ": ", std::string(v.status().message())));
  return std::move(*v);
}

class Writer {
 public:
  explicit Writer(std::string dir) : dir_(std::move(dir)) {}

  void File(const std::string& name, const std::string& content) {
    const absl::Status s = WriteFileAtomic(dir_ + "/" + name, content);
    if (!s.ok()) Die(absl::StrCat(name, ": ", std::string(s.message())));
  }

  void Genesis(const std::string& name, const GenesisInfo& g) {
    File(name, g.bytes());
    genesis_.emplace(name, &g);
  }

  // Writes a receipt file and records what the C++ verifier makes of it.
  void Receipt(const std::string& name, const std::string& json, const std::string& genesis) {
    File(name, json);
    nlohmann::ordered_json e;
    e["file"] = name;
    e["genesis"] = genesis;
    std::string message;
    auto parsed = ReceiptFromJson(json);
    absl::StatusOr<VerifiedReceipt> v = parsed.ok()
                                            ? VerifyReceipt(*parsed, *genesis_.at(genesis))
                                            : absl::StatusOr<VerifiedReceipt>(parsed.status());
    e["ok"] = v.ok();
    if (v.ok()) {
      e["failed_check"] = nullptr;
      e["message"] = "";
      e["txid"] = HexEncode(v->txid);
    } else {
      message = std::string(v.status().message());
      e["failed_check"] = message.substr(0, message.find(':'));
      e["message"] = message;
      e["txid"] = nullptr;
    }
    expected_.push_back(e);
  }

  void Receipt(const std::string& name, const tds::Receipt& r, const std::string& genesis) {
    Receipt(name, ReceiptToJson(r), genesis);
  }

  void Finish() { File("expected.json", expected_.dump(2) + "\n"); }

 private:
  std::string dir_;
  std::map<std::string, const GenesisInfo*> genesis_;
  nlohmann::ordered_json expected_ = nlohmann::ordered_json::array();
};

std::string Flip(std::string s, size_t at, uint8_t mask = 0x01) {
  s.at(at) = static_cast<char>(s.at(at) ^ mask);
  return s;
}

// Replaces the first occurrence of `from` in `s`.
std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  if (at == std::string::npos) Die(absl::StrCat("'", from, "' not found"));
  return s.replace(at, from.size(), to);
}

std::string RawEnvelope(const std::string& context, const std::string& payload,
                        const std::string& signer, const std::string& signature) {
  tds::Envelope env;
  env.set_context(context);
  env.set_payload(payload);
  env.set_signer(signer);
  env.set_signature(signature);
  return env.SerializeAsString();
}

// ---- Receipts of a real single-validator ledger (genesis.json). ----

void RealLedgerVectors(Writer& out) {
  testing::TempDir dir;
  Application app;
  app.Register("test.put", std::make_unique<testing::PutHandler>());
  LedgerOptions opts;
  opts.data_dir = dir.Sub("ledger");
  static const GenesisInfo genesis = testing::TestGenesis();
  static const GenesisInfo other = testing::TestGenesis("another/space");
  out.Genesis("genesis.json", genesis);
  out.Genesis("genesis_other.json", other);
  auto ledger = Must(Ledger::Open(opts, genesis, KeyFromByte(1), &app), "open ledger");
  std::vector<Hash> txids;
  for (int i = 0; i < 6; ++i) {
    auto ack = Must(ledger->SubmitAndWait(
                        MakeTx(*KeyFromByte(2), "bank", "test.put", "k=" + std::to_string(i), i)),
                    "submit");
    txids.push_back(ack.txid);
  }
  for (size_t i = 0; i < txids.size(); ++i) {
    out.Receipt(absl::StrCat("valid_tx", i, ".json"), Must(ledger->GetReceipt(txids[i]), "receipt"),
                "genesis.json");
  }
  const tds::Receipt valid = Must(ledger->GetReceipt(txids.back()), "receipt");
  out.Receipt("valid.json", valid, "genesis.json");
  const std::string json = ReceiptToJson(valid);
  auto with = [&](auto change) {
    tds::Receipt r = valid;
    change(r);
    return r;
  };
  const std::string& entry = valid.entry();

  // receipt: not a receipt at all.
  out.Receipt("receipt_not_json.json", "{\"version\": 1,", "genesis.json");
  out.Receipt("receipt_not_object.json", "[1, 2]\n", "genesis.json");
  out.Receipt("receipt_version_2.json", Replace(json, "\"version\": 1", "\"version\": 2"),
              "genesis.json");
  out.Receipt("receipt_missing_checkpoint.json",
              Replace(json, "\"checkpoint\":", "\"checkpoint_\":"), "genesis.json");
  out.Receipt("receipt_index_negative.json",
              Replace(json, absl::StrCat("\"index\": ", valid.index()), "\"index\": -1"),
              "genesis.json");
  out.Receipt("receipt_entry_not_base64.json", Replace(json, "\"entry\": \"", "\"entry\": \"!"),
              "genesis.json");
  out.Receipt("receipt_entry_not_string.json",
              Replace(json, "\"entry\": \"", "\"entry\": 7, \"x\": \""), "genesis.json");
  out.Receipt("receipt_proof_bad_hex.json",
              Replace(json, "\"inclusion_proof\": [\n    \"", "\"inclusion_proof\": [\n    \"zz"),
              "genesis.json");
  out.Receipt("receipt_proof_hash_33_bytes.json",
              Replace(json, "\"inclusion_proof\": [\n    \"", "\"inclusion_proof\": [\n    \"00"),
              "genesis.json");

  // envelope.
  const size_t sig_at = entry.size() - 64;  // the signature is the last field
  out.Receipt("envelope_signature_byte.json",
              with([&](tds::Receipt& r) { r.set_entry(Flip(entry, sig_at + 5)); }), "genesis.json");
  out.Receipt("envelope_s_byte.json",
              with([&](tds::Receipt& r) { r.set_entry(Flip(entry, entry.size() - 1, 0x10)); }),
              "genesis.json");
  out.Receipt("envelope_payload_byte.json",
              with([&](tds::Receipt& r) { r.set_entry(Flip(entry, sig_at - 2 - 34 - 3)); }),
              "genesis.json");
  out.Receipt("envelope_truncated.json",
              with([&](tds::Receipt& r) { r.set_entry(entry.substr(0, entry.size() - 10)); }),
              "genesis.json");
  out.Receipt("envelope_trailing_garbage.json",
              with([&](tds::Receipt& r) { r.set_entry(entry + "\x07"); }), "genesis.json");
  tds::Transaction tx;
  tx.set_type("test.put");
  tx.set_submitter("bank");
  tx.set_body("k=9");
  tx.set_nonce(99);
  const std::string payload = tx.SerializeAsString();
  out.Receipt("envelope_query_context.json", with([&](tds::Receipt& r) {
                r.set_entry(SealEnvelope(*KeyFromByte(2), kQueryContext, payload));
              }),
              "genesis.json");
  out.Receipt("envelope_context_escaped.json", with([&](tds::Receipt& r) {
                r.set_entry(SealEnvelope(*KeyFromByte(2), "tds.tx.v1\n'\x01\xc3\xa9", payload));
              }),
              "genesis.json");
  out.Receipt("envelope_context_bad_utf8.json", with([&](tds::Receipt& r) {
                r.set_entry(SealEnvelope(*KeyFromByte(2), "tds.tx.v1\xc3", payload));
              }),
              "genesis.json");
  out.Receipt("envelope_payload_not_transaction.json", with([&](tds::Receipt& r) {
                r.set_entry(SealEnvelope(*KeyFromByte(2), kTxContext, "\xff\xff\xff"));
              }),
              "genesis.json");
  out.Receipt(
      "envelope_payload_bad_utf8.json", with([&](tds::Receipt& r) {
        // Transaction.type (a proto3 string) holding invalid UTF-8.
        r.set_entry(SealEnvelope(*KeyFromByte(2), kTxContext, std::string("\x0a\x02\xc3\x28", 4)));
      }),
      "genesis.json");
  const std::string sig = KeyFromByte(2)->Sign(EnvelopeSignedMessage(kTxContext, payload));
  std::string small_order(32, '\0');
  small_order[0] = 1;  // the identity point
  out.Receipt("envelope_signer_small_order.json", with([&](tds::Receipt& r) {
                r.set_entry(RawEnvelope(std::string(kTxContext), payload, small_order, sig));
              }),
              "genesis.json");
  out.Receipt(
      "envelope_signer_short.json", with([&](tds::Receipt& r) {
        r.set_entry(RawEnvelope(std::string(kTxContext), payload,
                                std::string(KeyFromByte(2)->public_key().bytes()).substr(1), sig));
      }),
      "genesis.json");
  out.Receipt("envelope_signature_short.json", with([&](tds::Receipt& r) {
                r.set_entry(RawEnvelope(std::string(kTxContext), payload,
                                        std::string(KeyFromByte(2)->public_key().bytes()),
                                        sig.substr(0, 63)));
              }),
              "genesis.json");

  // membership.
  out.Receipt("membership_not_member.json", with([&](tds::Receipt& r) {
                r.set_entry(MakeTx(*KeyFromByte(2), "ghost", "test.put", "k=1", 1));
              }),
              "genesis.json");
  out.Receipt("membership_other_members_key.json", with([&](tds::Receipt& r) {
                r.set_entry(MakeTx(*KeyFromByte(1), "bank", "test.put", "k=1", 1));
              }),
              "genesis.json");
  out.Receipt("membership_unknown_key.json", with([&](tds::Receipt& r) {
                r.set_entry(MakeTx(*KeyFromByte(77), "bank", "test.put", "k=1", 1));
              }),
              "genesis.json");

  // epochs.
  out.Receipt("epochs_junk_change.json", with([&](tds::Receipt& r) {
                tds::EpochChange* c = r.add_epoch_changes();
                c->set_header("\xff");
                c->set_checkpoint(valid.checkpoint());
                c->set_commit_proof("");
              }),
              "genesis.json");

  // checkpoint.
  const std::string& note = valid.checkpoint();
  out.Receipt("checkpoint_signature_byte.json", with([&](tds::Receipt& r) {
                std::string text = note;
                const size_t at = text.rfind(' ') + 10;  // inside the base64 signature
                text[at] = text[at] == 'A' ? 'B' : 'A';
                r.set_checkpoint(text);
              }),
              "genesis.json");
  out.Receipt("checkpoint_other_origin.json", valid, "genesis_other.json");
  out.Receipt("checkpoint_tree_size.json",
              with([&](tds::Receipt& r) { r.set_tree_size(r.tree_size() + 1); }), "genesis.json");
  out.Receipt("checkpoint_height.json",
              with([&](tds::Receipt& r) { r.set_height(r.height() + 1); }), "genesis.json");
  out.Receipt("checkpoint_no_blank_line.json",
              with([&](tds::Receipt& r) { r.set_checkpoint(Replace(note, "\n\n", "\n")); }),
              "genesis.json");
  out.Receipt("checkpoint_no_final_newline.json",
              with([&](tds::Receipt& r) { r.set_checkpoint(note.substr(0, note.size() - 1)); }),
              "genesis.json");
  out.Receipt("checkpoint_size_leading_zero.json", with([&](tds::Receipt& r) {
                r.set_checkpoint(Replace(note, absl::StrCat("\n", valid.tree_size(), "\n"),
                                         absl::StrCat("\n0", valid.tree_size(), "\n")));
              }),
              "genesis.json");
  out.Receipt("checkpoint_hyphen_not_em_dash.json", with([&](tds::Receipt& r) {
                r.set_checkpoint(Replace(note, "\xE2\x80\x94 ", "- "));
              }),
              "genesis.json");
  out.Receipt("checkpoint_empty_signature_line.json",
              with([&](tds::Receipt& r) { r.set_checkpoint(Replace(note, "\n\n", "\n\n\n")); }),
              "genesis.json");
  out.Receipt(
      "checkpoint_tds_block_zero.json", with([&](tds::Receipt& r) {
        r.set_checkpoint(Replace(note, absl::StrCat("tds-block ", valid.height()), "tds-block 0"));
      }),
      "genesis.json");
  out.Receipt("checkpoint_unsigned.json", with([&](tds::Receipt& r) {
                r.set_checkpoint(note.substr(0, note.find("\n\n") + 2) +
                                 "\xE2\x80\x94 stranger AAAAAAAAAAAAAAAA\n");
              }),
              "genesis.json");

  // inclusion.
  out.Receipt("inclusion_hash_flipped.json", with([&](tds::Receipt& r) {
                r.set_inclusion_proof(0, Flip(r.inclusion_proof(0), 0, 0x80));
              }),
              "genesis.json");
  out.Receipt("inclusion_index_changed.json",
              with([&](tds::Receipt& r) { r.set_index(r.index() - 1); }), "genesis.json");
  out.Receipt("inclusion_index_out_of_range.json",
              with([&](tds::Receipt& r) { r.set_index(r.tree_size()); }), "genesis.json");
  out.Receipt("inclusion_proof_short.json",
              with([&](tds::Receipt& r) { r.mutable_inclusion_proof()->RemoveLast(); }),
              "genesis.json");
  out.Receipt("inclusion_proof_long.json",
              with([&](tds::Receipt& r) { r.add_inclusion_proof(std::string(32, '\x11')); }),
              "genesis.json");
  out.Receipt("inclusion_other_entry.json", with([&](tds::Receipt& r) {
                // A validly signed member transaction that is not the leaf at this index.
                r.set_entry(MakeTx(*KeyFromByte(2), "bank", "test.put", "k=other", 12345));
              }),
              "genesis.json");
  out.Receipt("inclusion_unknown_field_in_entry.json",  // still a valid envelope, other leaf
              with([&](tds::Receipt& r) { r.set_entry(entry + std::string("\x48\x01", 2)); }),
              "genesis.json");
}

// ---- A hand-built log of 7 transactions certified by 4 validators (genesis4.json). ----

void FourValidatorVectors(Writer& out) {
  const std::string origin = "tds.test/four";
  std::vector<std::string> specs;
  for (int i = 1; i <= 4; ++i) {
    specs.push_back(absl::StrCat("v", i, ":validator:", KeyFromByte(10 + i)->public_key().hex()));
  }
  specs.push_back(absl::StrCat("bank:consumer:", KeyFromByte(2)->public_key().hex()));
  specs.push_back(absl::StrCat("lab:provider,auditor:", KeyFromByte(3)->public_key().hex()));
  static const GenesisInfo genesis =
      Must(GenesisInfo::Parse(Must(BuildGenesisJson(origin, specs), "genesis4"), "genesis4"),
           "genesis4");
  out.Genesis("genesis4.json", genesis);

  std::vector<std::string> entries;
  merkle::MemoryNodeStore store;
  for (int i = 0; i < 7; ++i) {
    const bool bank = i % 2 == 0;
    entries.push_back(MakeTx(*KeyFromByte(bank ? 2 : 3), bank ? "bank" : "lab", "test.put",
                             absl::StrCat("k", i, "=v"), 1000 + i));
    store.AppendLeaf(merkle::LeafHash(entries.back()));
  }
  Checkpoint cp;
  cp.origin = origin;
  cp.size = store.size();
  cp.root = store.Root();
  cp.height = 3;
  cp.block_hash = Sha256("block 3");

  // A note over `body` with one signature line per (key name, KeyFromByte byte), in order.
  auto sign = [](const std::string& body, const std::vector<std::pair<std::string, int>>& by) {
    std::vector<std::string> lines;
    for (const auto& [name, key] : by) lines.push_back(SignNoteLine(body, name, *KeyFromByte(key)));
    return AssembleNote(body, lines);
  };
  const std::vector<std::pair<std::string, int>> all = {
      {"v1", 11}, {"v2", 12}, {"v3", 13}, {"v4", 14}};
  auto receipt = [&](uint64_t index, const std::string& note) {
    tds::Receipt r;
    r.set_entry(entries[index]);
    r.set_index(index);
    r.set_tree_size(store.size());
    r.set_height(3);
    for (const Hash& h : Must(merkle::InclusionProof(store, index, store.size()), "proof")) {
      r.add_inclusion_proof(std::string(AsBytes(h)));
    }
    r.set_checkpoint(note);
    return r;
  };
  const std::string body = cp.Body();
  for (uint64_t i = 0; i < entries.size(); ++i) {
    out.Receipt(absl::StrCat("four_valid_leaf", i, ".json"), receipt(i, sign(body, all)),
                "genesis4.json");
  }
  const uint64_t at = 5;
  out.Receipt("four_valid_quorum_3.json",
              receipt(at, sign(body, {{"v4", 14}, {"v1", 11}, {"v2", 12}})), "genesis4.json");
  out.Receipt("four_valid_unknown_signer.json",
              receipt(at, sign(body, {{"v1", 11}, {"stranger", 99}, {"v2", 12}, {"v3", 13}})),
              "genesis4.json");
  // A line named v4 under another key has another key id: ignored, not a bad signature.
  out.Receipt("four_valid_name_with_other_key.json",
              receipt(at, sign(body, {{"v1", 11}, {"v4", 99}, {"v2", 12}, {"v3", 13}})),
              "genesis4.json");
  out.Receipt("four_valid_member_not_validator.json",
              receipt(at, sign(body, {{"v1", 11}, {"bank", 2}, {"v2", 12}, {"v3", 13}})),
              "genesis4.json");
  out.Receipt("four_valid_opaque_extension.json",
              receipt(at, sign(body + "example.org/witness 42\n", all)), "genesis4.json");
  {
    Checkpoint no_block = cp;
    no_block.height = 0;
    out.Receipt("four_valid_no_tds_block.json", receipt(at, sign(no_block.Body(), all)),
                "genesis4.json");
  }
  out.Receipt("four_quorum_2.json", receipt(at, sign(body, {{"v1", 11}, {"v3", 13}})),
              "genesis4.json");
  out.Receipt("four_duplicate_signer.json",
              receipt(at, sign(body, {{"v1", 11}, {"v1", 11}, {"v3", 13}})), "genesis4.json");
  out.Receipt("four_member_signatures_not_counted.json",
              receipt(at, sign(body, {{"v1", 11}, {"bank", 2}, {"lab", 3}})), "genesis4.json");
  {
    std::vector<std::string> lines;
    for (const auto& [name, key] : all) {
      // v3 signs another body: a known validator's bad signature is an error.
      lines.push_back(SignNoteLine(name == "v3" ? body + "x\n" : body, name, *KeyFromByte(key)));
    }
    out.Receipt("four_bad_known_signature.json", receipt(at, AssembleNote(body, lines)),
                "genesis4.json");
  }
  {
    Checkpoint epoch1 = cp;
    epoch1.epoch = 1;
    out.Receipt("four_tds_epoch_without_changes.json", receipt(at, sign(epoch1.Body(), all)),
                "genesis4.json");
    // The checkpoint's own checks come before its epoch count, in C++ as in JS.
    out.Receipt("four_tds_epoch_and_quorum_2.json",
                receipt(at, sign(epoch1.Body(), {{"v1", 11}, {"v2", 12}})), "genesis4.json");
    out.Receipt("four_tds_epoch_zero.json", receipt(at, sign(body + "tds-epoch 0\n", all)),
                "genesis4.json");
  }
  {
    Checkpoint foreign = cp;
    foreign.origin = "tds.test/elsewhere";
    out.Receipt("four_other_origin.json", receipt(at, sign(foreign.Body(), all)), "genesis4.json");
    Checkpoint bigger = cp;
    bigger.size = cp.size + 1;
    out.Receipt("four_size_mismatch.json", receipt(at, sign(bigger.Body(), all)), "genesis4.json");
  }
  {
    tds::Receipt r = receipt(at, sign(body, all));
    r.set_height(4);
    out.Receipt("four_height_mismatch.json", r, "genesis4.json");
    r = receipt(at, sign(body, all));
    r.set_entry(entries[at - 1]);
    out.Receipt("four_neighbour_entry.json", r, "genesis4.json");
    r = receipt(at, sign(body, all));
    r.mutable_inclusion_proof()->SwapElements(0, 1);
    out.Receipt("four_proof_swapped.json", r, "genesis4.json");
  }
}

// ---- Merkle: roots and inclusion proofs of prefixes of a fixed leaf list. ----

void MerkleVectors(Writer& out) {
  // RFC 6962's reference leaves (certificate-transparency's merkle tree tests), then two more.
  const std::vector<std::string> hex_leaves = {"",
                                               "00",
                                               "10",
                                               "2021",
                                               "3031",
                                               "40414243",
                                               "5051525354555657",
                                               "606162636465666768696a6b6c6d6e6f",
                                               "70",
                                               "8081"};
  nlohmann::ordered_json j;
  j["leaves"] = hex_leaves;
  j["trees"] = nlohmann::ordered_json::array();
  merkle::MemoryNodeStore store;
  for (const std::string& h : hex_leaves) {
    store.AppendLeaf(merkle::LeafHash(Must(HexDecode(h), "leaf hex")));
    nlohmann::ordered_json tree;
    tree["size"] = store.size();
    tree["root"] = HexEncode(store.Root());
    tree["proofs"] = nlohmann::ordered_json::array();
    for (uint64_t i = 0; i < store.size(); ++i) {
      nlohmann::ordered_json proof = nlohmann::ordered_json::array();
      for (const Hash& p : Must(merkle::InclusionProof(store, i, store.size()), "proof")) {
        proof.push_back(HexEncode(p));
      }
      tree["proofs"].push_back(proof);
    }
    j["trees"].push_back(tree);
  }
  out.File("merkle.json", j.dump(2) + "\n");
}

// ---- Ed25519: the predicate's edge cases, decided by common/ed25519.h. ----

using Bytes = std::string;

Bytes ScalarRandom() {
  Bytes s(32, '\0');
  crypto_core_ed25519_scalar_random(reinterpret_cast<uint8_t*>(s.data()));
  return s;
}

Bytes BaseMul(const Bytes& scalar) {
  Bytes p(32, '\0');
  if (crypto_scalarmult_ed25519_base_noclamp(reinterpret_cast<uint8_t*>(p.data()),
                                             reinterpret_cast<const uint8_t*>(scalar.data())) !=
      0) {
    Die("base multiplication gave the identity");
  }
  return p;
}

Bytes PointAdd(const Bytes& a, const Bytes& b) {
  Bytes p(32, '\0');
  if (crypto_core_ed25519_add(reinterpret_cast<uint8_t*>(p.data()),
                              reinterpret_cast<const uint8_t*>(a.data()),
                              reinterpret_cast<const uint8_t*>(b.data())) != 0) {
    Die("point addition refused its input");
  }
  return p;
}

// SHA-512(R || A || M) mod L.
Bytes Challenge(const Bytes& r, const Bytes& a, const Bytes& m) {
  const Bytes in = r + a + m;
  uint8_t wide[64];
  crypto_hash_sha512(wide, reinterpret_cast<const uint8_t*>(in.data()), in.size());
  Bytes h(32, '\0');
  crypto_core_ed25519_scalar_reduce(reinterpret_cast<uint8_t*>(h.data()), wide);
  return h;
}

// r + h * a mod L.
Bytes ScalarMulAdd(const Bytes& r, const Bytes& h, const Bytes& a) {
  Bytes t(32, '\0'), s(32, '\0');
  auto u = [](const Bytes& b) { return reinterpret_cast<const uint8_t*>(b.data()); };
  crypto_core_ed25519_scalar_mul(reinterpret_cast<uint8_t*>(t.data()), u(h), u(a));
  crypto_core_ed25519_scalar_add(reinterpret_cast<uint8_t*>(s.data()), u(r), u(t));
  return s;
}

// A signature of `m` by secret scalar `a` where the verifier sees key `pub` (pub may differ
// from [a]B by a torsion point) and R = [r]B + r_torsion.
Bytes SignRaw(const Bytes& a, const Bytes& pub, const Bytes& m, const Bytes& r_torsion) {
  const Bytes r = ScalarRandom();
  Bytes big_r = BaseMul(r);
  if (!r_torsion.empty()) big_r = PointAdd(big_r, r_torsion);
  return big_r + ScalarMulAdd(r, Challenge(big_r, pub, m), a);
}

// Little-endian 256-bit s + L (S stays below 2^253, so no overflow).
Bytes AddL(Bytes s) {
  static const uint8_t kL[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                 0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                 0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    const unsigned v = static_cast<uint8_t>(s[i]) + kL[i] + carry;
    s[i] = static_cast<char>(v & 0xff);
    carry = v >> 8;
  }
  return s;
}

void Ed25519Vectors(Writer& out) {
  if (sodium_init() < 0) Die("sodium_init failed");
  nlohmann::ordered_json cases = nlohmann::ordered_json::array();
  auto add = [&](const std::string& name, const Bytes& pub, const Bytes& msg, const Bytes& sig) {
    nlohmann::ordered_json c;
    c["name"] = name;
    c["pub"] = HexEncode(pub);
    c["msg"] = HexEncode(msg);
    c["sig"] = HexEncode(sig);
    c["valid"] = ed25519::Verify({pub, msg, sig});
    c["key_valid"] = PublicKey::FromBytes(pub).ok();
    cases.push_back(c);
  };
  // An order-8 point (in libsodium's small-order blocklist).
  const Bytes t8 =
      Must(HexDecode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), "t8");
  if (!ed25519::internal::IsSmallOrderEncoding(reinterpret_cast<const uint8_t*>(t8.data()))) {
    Die("t8 is not of small order");
  }
  const auto key = KeyFromByte(5);
  const Bytes pub(key->public_key().bytes());
  const Bytes msg = "tds receipt vectors";
  const Bytes sig = key->Sign(msg);
  add("valid", pub, msg, sig);
  add("valid_empty_message", pub, "", key->Sign(""));
  add("message_bit_flipped", pub, Flip(msg, 3), sig);
  add("r_bit_flipped", pub, msg, Flip(sig, 7, 0x20));
  add("s_bit_flipped", pub, msg, Flip(sig, 40));
  add("key_bit_flipped", Flip(pub, 9), msg, sig);
  add("s_plus_l", pub, msg, sig.substr(0, 32) + AddL(sig.substr(32)));
  add("s_top_bit", pub, msg, Flip(sig, 63, 0x80));
  add("short_signature", pub, msg, sig.substr(0, 63));
  // Small-order key: any R = [S]B passes the cofactored equation; rule 4 refuses it.
  {
    const Bytes s = ScalarRandom();
    add("small_order_key", t8, msg, BaseMul(s) + s);
    Bytes identity(32, '\0');
    identity[0] = 1;
    add("identity_key", identity, msg, BaseMul(s) + s);
  }
  // Mixed-order key A + T: valid under the cofactored predicate, refused as a member key.
  {
    const Bytes a = ScalarRandom();
    const Bytes mixed = PointAdd(BaseMul(a), t8);
    add("mixed_order_key", mixed, msg, SignRaw(a, mixed, msg, ""));
  }
  // Torsion in R: accepted by the cofactored equation (ed25519.h explains why it is harmless).
  {
    const Bytes a = ScalarRandom();
    const Bytes a_pub = BaseMul(a);
    add("torsion_in_r", a_pub, msg, SignRaw(a, a_pub, msg, t8));
    add("plain_raw_signature", a_pub, msg, SignRaw(a, a_pub, msg, ""));
  }
  // Non-canonical encodings: y >= p for a point whose canonical y is small, as R and as A.
  {
    for (uint8_t y = 2; y < 19; ++y) {
      uint8_t canon[32] = {0}, round[32];
      canon[0] = y;
      if (!ed25519::internal::PointRoundTrip(canon, round)) continue;
      // y + p = y - 19 + 2^255: little endian ed+y ff .. ff 7f.
      Bytes enc(32, '\xff');
      enc[0] = static_cast<char>(0xed + y);
      enc[31] = '\x7f';
      add(absl::StrCat("non_canonical_r_y", int{y}), pub, msg, enc + sig.substr(32));
      add(absl::StrCat("non_canonical_key_y", int{y}), enc, msg, sig);
      Bytes canonical(reinterpret_cast<const char*>(canon), 32);
      add(absl::StrCat("canonical_key_y", int{y}), canonical, msg, sig);
    }
    // x = 0 with the sign bit set ("negative zero"): y = 1 and y = p - 1.
    Bytes neg_zero(32, '\0');
    neg_zero[0] = 1;
    neg_zero[31] = '\x80';
    add("negative_zero_key", neg_zero, msg, sig);
    add("negative_zero_r", pub, msg, neg_zero + sig.substr(32));
  }
  // RFC 8032 7.1 TEST 2.
  add("rfc8032_test2",
      Must(HexDecode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"), "hex"),
      Must(HexDecode("72"), "hex"),
      Must(HexDecode(
               "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
               "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
           "hex"));
  out.File("ed25519.json", cases.dump(2) + "\n");
}

}  // namespace
}  // namespace tds::ledger

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  tds::ledger::Writer out(argv[1]);
  tds::ledger::RealLedgerVectors(out);
  tds::ledger::FourValidatorVectors(out);
  tds::ledger::MerkleVectors(out);
  tds::ledger::Ed25519Vectors(out);
  out.Finish();
  return 0;
}
