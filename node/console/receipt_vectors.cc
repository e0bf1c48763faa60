// tds_receipt_vectors OUT_DIR: test vectors for the web console's receipt verifier
// (node/console/web/verify.js), decided by the C++ reference.
//
// Writes to OUT_DIR:
//   genesis.json, genesis_other.json, genesis4.json, genesis_epochs.json
//                               genesis files the receipts refer to
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
// Receipts come from three sources: a real single-validator Ledger (genesis.json, as
// ledger/receipt_test.cc makes them), a hand-built four-validator log (genesis4.json) whose
// checkpoints are signed by chosen subsets, to exercise quorum counting, and a real network of
// validators whose governance changes them twice (genesis_epochs.json), for receipts that cross
// epoch changes and tampered epoch chains.

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "common/file.h"
#include "common/sha256.h"
#include "governance/governance.h"
#include "ledger/checkpoint.h"
#include "ledger/consensus/certificates.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/receipt.h"
#include "ledger/test_network.h"
#include "ledger/test_util.h"
#include "proto/consensus.pb.h"
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

  // Writes a receipt file and records what the C++ verifier makes of it (returned: accepted).
  bool Receipt(const std::string& name, const std::string& json, const std::string& genesis) {
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
    return v.ok();
  }

  bool Receipt(const std::string& name, const tds::Receipt& r, const std::string& genesis) {
    return Receipt(name, ReceiptToJson(r), genesis);
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

// ---- Receipts across validator epochs (genesis_epochs.json). ----
//
// A real network, as ledger/consensus_ledger_test.cc runs one: validators v0..v3 and a follower
// v4 (a provider) over an in-memory network. Governance makes v4 a validator (epoch 1: v0..v4,
// quorum 4), then removes v1 (epoch 2: v0, v2, v3, v4, quorum 3). Receipts of each epoch, then
// tampered variants of a two-change epoch chain, each refused by the C++ verifier.

// Member v<i> signs with KeyFromByte(kEpochKeyBase + i).
constexpr uint8_t kEpochKeyBase = 10;

class EpochNetwork {
 public:
  static constexpr int kReplicas = 5;

  explicit EpochNetwork(const GenesisInfo& genesis) {
    app_.Register("test.put", std::make_unique<testing::PutHandler>());
    governance::Register(app_);
    for (int i = 0; i < kReplicas; ++i) {
      LedgerOptions o;
      o.data_dir = dir_.Sub(Id(i));
      o.sync = false;
      o.consensus_timeout_ms = 200;
      o.state_sync = false;
      o.send = net_.SenderFor(Id(i));
      ledgers_[i] =
          Must(Ledger::Open(o, genesis, KeyFromByte(kEpochKeyBase + i), &app_), "open ledger");
      net_.Attach(Id(i), ledgers_[i].get());
    }
  }
  ~EpochNetwork() {
    for (int i = 0; i < kReplicas; ++i) {
      net_.Attach(Id(i), nullptr);
      ledgers_[i].reset();
    }
  }

  static std::string Id(int i) { return absl::StrCat("v", i); }

  // Commits a transaction of "bank" through v0; returns its receipt.
  tds::Receipt Put(const std::string& body) {
    const SubmitAck ack = Must(
        ledgers_[0]->SubmitAndWait(MakeTx(*KeyFromByte(2), "bank", "test.put", body, ++nonce_)),
        "submit");
    return Must(ledgers_[0]->GetReceipt(ack.txid), "receipt");
  }

  // v0 proposes `body`; `voters` (member id, key byte) approve until it passes. Then waits
  // until `replicas` are in epoch `epoch`.
  void Govern(const tds::ProposeBody& body,
              const std::vector<std::pair<std::string, uint8_t>>& voters, uint64_t epoch,
              const std::vector<int>& replicas) {
    const SubmitAck p =
        Must(ledgers_[0]->SubmitAndWait(MakeTx(*KeyFromByte(kEpochKeyBase), "v0", "gov.propose",
                                               body.SerializeAsString(), ++nonce_)),
             "propose");
    bool passed = false;
    for (const auto& [member, key] : voters) {
      tds::VoteBody v;
      v.set_proposal_id(std::stoull(p.result));
      v.set_approve(true);
      const SubmitAck r =
          Must(ledgers_[0]->SubmitAndWait(
                   MakeTx(*KeyFromByte(key), member, "gov.vote", v.SerializeAsString(), ++nonce_)),
               "vote");
      if (r.result == "PROPOSAL_PASSED") {
        passed = true;
        break;
      }
    }
    if (!passed) Die("the governance proposal did not pass");
    for (int i : replicas) {
      for (int k = 0; k < 3000 && ledgers_[i]->consensus_status().epoch < epoch; ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (ledgers_[i]->consensus_status().epoch != epoch) {
        Die(absl::StrCat(Id(i), " did not reach epoch ", epoch));
      }
    }
  }

 private:
  testing::TempDir dir_;
  Application app_;
  testing::MemoryNetwork net_;  // outlives the ledgers (the destructor detaches them first)
  std::unique_ptr<Ledger> ledgers_[kReplicas];
  uint64_t nonce_ = 0;
};

// The note `note` with its body changed by `edit` and signed by members `by` (ids v<i>).
std::string Resign(const std::string& note, const std::function<std::string(std::string)>& edit,
                   const std::vector<int>& by) {
  const std::string body = edit(Must(ParseSignedNote(note), "note").body);
  std::vector<std::string> lines;
  for (int i : by) {
    lines.push_back(SignNoteLine(body, EpochNetwork::Id(i), *KeyFromByte(kEpochKeyBase + i)));
  }
  return AssembleNote(body, lines);
}

// The note's body and its first `keep` signature lines.
std::string KeepSignatures(const std::string& note, int keep) {
  size_t at = note.find("\n\n") + 2;
  for (int i = 0; i < keep; ++i) at = note.find('\n', at) + 1;
  return note.substr(0, at);
}

void EpochVectors(Writer& out) {
  std::vector<std::string> specs;
  for (int i = 0; i < 4; ++i) {
    specs.push_back(absl::StrCat(
        EpochNetwork::Id(i), ":validator:", KeyFromByte(kEpochKeyBase + i)->public_key().hex()));
  }
  specs.push_back(absl::StrCat("v4:provider:", KeyFromByte(kEpochKeyBase + 4)->public_key().hex()));
  specs.push_back(absl::StrCat("bank:consumer:", KeyFromByte(2)->public_key().hex()));
  static const GenesisInfo genesis =
      Must(GenesisInfo::Parse(Must(BuildGenesisJson("tds.test/epochs", specs), "genesis_epochs"),
                              "genesis_epochs"),
           "genesis_epochs");
  const std::string g = "genesis_epochs.json";
  out.Genesis(g, genesis);

  tds::Receipt epoch0, epoch1, epoch2, epoch2b;
  {
    EpochNetwork net(genesis);
    epoch0 = net.Put("epoch0=1");
    tds::ProposeBody add;  // 6 members: 5 approvals pass (the proposer's and 4 votes)
    add.mutable_set_roles()->set_member_id("v4");
    add.mutable_set_roles()->add_roles("provider");
    add.mutable_set_roles()->add_roles("validator");
    net.Govern(add,
               {{"v1", kEpochKeyBase + 1},
                {"v2", kEpochKeyBase + 2},
                {"v3", kEpochKeyBase + 3},
                {"bank", 2}},
               1, {0, 1, 2, 3, 4});
    epoch1 = net.Put("epoch1=1");
    tds::ProposeBody remove;
    remove.set_remove_member("v1");
    net.Govern(remove,
               {{"v2", kEpochKeyBase + 2},
                {"v4", kEpochKeyBase + 4},
                {"bank", 2},
                {"v1", kEpochKeyBase + 1}},
               2, {0, 2, 3, 4});
    epoch2 = net.Put("epoch2=1");
    epoch2b = net.Put("epoch2=2");
  }
  if (epoch0.epoch_changes_size() != 0 || epoch1.epoch_changes_size() != 1 ||
      epoch2.epoch_changes_size() != 2) {
    Die("the network's receipts do not cross 0, 1 and 2 epoch changes");
  }
  for (const auto& [name, r] : std::vector<std::pair<std::string, const tds::Receipt*>>{
           {"epochs_valid_epoch0.json", &epoch0},
           {"epochs_valid_epoch1.json", &epoch1},
           {"epochs_valid_epoch2.json", &epoch2},
           {"epochs_valid_epoch2_next.json", &epoch2b}}) {
    if (!out.Receipt(name, *r, g)) Die(absl::StrCat(name, " does not verify"));
  }

  // Each variant below must be refused.
  auto bad = [&](const std::string& name, const std::function<void(tds::Receipt&)>& change,
                 const tds::Receipt& from) {
    tds::Receipt r = from;
    change(r);
    if (out.Receipt(absl::StrCat("epochs_", name, ".json"), r, g)) {
      Die(absl::StrCat("epochs_", name, " verifies"));
    }
  };
  auto header = [](const tds::Receipt& r, int c) {
    tds::BlockHeader h;
    if (!h.ParseFromString(r.epoch_changes(c).header())) Die("epoch change header");
    return h;
  };
  auto set_header = [](tds::Receipt& r, int c, const tds::BlockHeader& h) {
    r.mutable_epoch_changes(c)->set_header(h.SerializeAsString());
  };
  auto proof = [](const tds::Receipt& r, int c) {
    tds::CommitProof p;
    if (!p.ParseFromString(r.epoch_changes(c).commit_proof())) Die("commit proof");
    return p;
  };
  auto set_proof = [](tds::Receipt& r, int c, const tds::CommitProof& p) {
    r.mutable_epoch_changes(c)->set_commit_proof(p.SerializeAsString());
  };
  auto edit_header = [&](int c, const std::function<void(tds::BlockHeader&)>& edit) {
    return [&, c, edit](tds::Receipt& r) {
      tds::BlockHeader h = header(r, c);
      edit(h);
      set_header(r, c, h);
    };
  };
  auto edit_proof = [&](int c, const std::function<void(tds::CommitProof&)>& edit) {
    return [&, c, edit](tds::Receipt& r) {
      tds::CommitProof p = proof(r, c);
      edit(p);
      set_proof(r, c, p);
    };
  };
  // The validators ending each change: epoch 0 v0..v3, epoch 1 v0..v4.
  const std::vector<int> epoch0_signers = {0, 1, 2, 3}, epoch1_signers = {0, 1, 2, 3, 4};
  const std::vector<int> epoch2_signers = {0, 2, 3, 4};
  auto resign_change = [&](int c, const std::function<std::string(std::string)>& edit) {
    return [&, c, edit](tds::Receipt& r) {
      r.mutable_epoch_changes(c)->set_checkpoint(
          Resign(r.epoch_changes(c).checkpoint(), edit, c == 0 ? epoch0_signers : epoch1_signers));
    };
  };

  // The change's header.
  bad(
      "header_byte_flipped",
      [&](tds::Receipt& r) {
        const std::string& h = r.epoch_changes(0).header();
        r.mutable_epoch_changes(0)->set_header(Flip(h, h.size() / 2));
      },
      epoch2);
  bad(
      "header_not_protobuf",
      [](tds::Receipt& r) { r.mutable_epoch_changes(1)->set_header("\xff"); }, epoch2);
  bad("header_timestamp_changed",
      edit_header(1, [](tds::BlockHeader& h) { h.set_timestamp_ms(h.timestamp_ms() + 1); }),
      epoch2);
  bad("header_epoch_changed", edit_header(1, [](tds::BlockHeader& h) { h.set_epoch(0); }), epoch2);
  bad("next_validator_renamed",
      edit_header(0, [](tds::BlockHeader& h) { h.mutable_next_validators(0)->set_id("mallory"); }),
      epoch2);
  bad("next_validator_key_replaced",
      edit_header(1,
                  [](tds::BlockHeader& h) {
                    h.mutable_next_validators(0)->set_public_key(
                        std::string(KeyFromByte(99)->public_key().bytes()));
                  }),
      epoch2);
  bad("next_validator_added",
      edit_header(0,
                  [](tds::BlockHeader& h) {
                    tds::ValidatorKey* k = h.add_next_validators();
                    k->set_id("mallory");
                    k->set_public_key(std::string(KeyFromByte(99)->public_key().bytes()));
                  }),
      epoch2);
  bad("next_validator_key_short",
      edit_header(1,
                  [](tds::BlockHeader& h) {
                    h.mutable_next_validators(0)->set_public_key(
                        h.next_validators(0).public_key().substr(1));
                  }),
      epoch2);
  bad("next_validator_repeated",
      edit_header(0,
                  [](tds::BlockHeader& h) {
                    h.mutable_next_validators(1)->set_id(h.next_validators(0).id());
                  }),
      epoch2);
  bad("next_validator_id_malformed",
      edit_header(0, [](tds::BlockHeader& h) { h.mutable_next_validators(2)->set_id("V2"); }),
      epoch2);
  bad("no_next_validators", edit_header(1, [](tds::BlockHeader& h) { h.clear_next_validators(); }),
      epoch2);

  // The change's checkpoint.
  bad(
      "change_checkpoint_quorum_short",
      [&](tds::Receipt& r) {
        r.mutable_epoch_changes(0)->set_checkpoint(
            KeepSignatures(r.epoch_changes(0).checkpoint(), 2));
      },
      epoch2);
  bad(
      "change_checkpoint_signed_by_next_epoch",
      [&](tds::Receipt& r) {
        // Epoch 1's quorum (4 of 5) without the newcomer v4 is 3 of epoch 0's 4: not enough for
        // epoch 1's change.
        r.mutable_epoch_changes(1)->set_checkpoint(
            Resign(r.epoch_changes(1).checkpoint(), [](std::string b) { return b; }, {0, 4, 2}));
      },
      epoch2);
  bad(
      "change_checkpoint_signature_flipped",
      [&](tds::Receipt& r) {
        std::string text = r.epoch_changes(1).checkpoint();
        const size_t at = text.rfind(' ') + 10;  // inside the last base64 signature
        text[at] = text[at] == 'A' ? 'B' : 'A';
        r.mutable_epoch_changes(1)->set_checkpoint(text);
      },
      epoch2);
  bad(
      "change_checkpoint_of_next_change",
      [&](tds::Receipt& r) {
        r.mutable_epoch_changes(0)->set_checkpoint(r.epoch_changes(1).checkpoint());
      },
      epoch2);
  bad("change_checkpoint_height",
      resign_change(0, [](std::string b) { return Replace(b, "tds-block ", "tds-block 1"); }),
      epoch2);
  bad("change_checkpoint_size",
      resign_change(1, [](std::string b) { return Replace(b, "\n", "\n1"); }), epoch2);
  bad("change_checkpoint_root",
      resign_change(0,
                    [](std::string b) {
                      const size_t at = b.find('\n', b.find('\n') + 1) + 1;  // the root line
                      b[at] = b[at] == 'A' ? 'B' : 'A';
                      return b;
                    }),
      epoch2);
  bad("change_checkpoint_epoch_line",
      resign_change(0, [](std::string b) { return b + "tds-epoch 1\n"; }), epoch2);
  bad("change_checkpoint_other_origin",
      resign_change(
          0, [](std::string b) { return Replace(b, "tds.test/epochs", "tds.test/elsewhere"); }),
      epoch2);

  // The change's commit proof.
  bad(
      "proof_not_protobuf",
      [](tds::Receipt& r) { r.mutable_epoch_changes(0)->set_commit_proof("\x0a\x05"); }, epoch2);
  bad(
      "proof_empty", [](tds::Receipt& r) { r.mutable_epoch_changes(1)->set_commit_proof(""); },
      epoch2);
  bad("proof_votes_below_quorum",
      edit_proof(0,
                 [](tds::CommitProof& p) {
                   while (p.certified_child().votes_size() > 2) {
                     p.mutable_certified_child()->mutable_votes()->RemoveLast();
                   }
                 }),
      epoch2);
  bad("proof_votes_below_quorum_epoch1",
      edit_proof(1,
                 [](tds::CommitProof& p) {
                   while (p.certified_child().votes_size() > 3) {
                     p.mutable_certified_child()->mutable_votes()->RemoveLast();
                   }
                 }),
      epoch2);
  bad("proof_vote_signature_flipped",
      edit_proof(1,
                 [](tds::CommitProof& p) {
                   tds::ValidatorSignature* s = p.mutable_certified_child()->mutable_votes(0);
                   s->set_signature(Flip(s->signature(), 20));
                 }),
      epoch2);
  bad("proof_vote_signature_short",
      edit_proof(0,
                 [](tds::CommitProof& p) {
                   tds::ValidatorSignature* s = p.mutable_certified_child()->mutable_votes(1);
                   s->set_signature(s->signature().substr(0, 63));
                 }),
      epoch2);
  bad("proof_vote_twice",
      edit_proof(0,
                 [](tds::CommitProof& p) {
                   tds::QuorumCert* qc = p.mutable_certified_child();
                   while (qc->votes_size() > 2) qc->mutable_votes()->RemoveLast();
                   *qc->add_votes() = qc->votes(0);
                 }),
      epoch2);
  bad("proof_too_many_votes",
      edit_proof(0,
                 [](tds::CommitProof& p) {
                   tds::QuorumCert* qc = p.mutable_certified_child();
                   while (qc->votes_size() < 5) *qc->add_votes() = qc->votes(0);
                 }),
      epoch2);
  bad("proof_signer_not_validator",
      edit_proof(1,
                 [](tds::CommitProof& p) {
                   p.mutable_certified_child()->mutable_votes(0)->set_signer(7);
                 }),
      epoch2);
  bad("proof_vote_by_other_epoch",
      edit_proof(1,
                 [&](tds::CommitProof& p) {
                   // Epoch 0's proof votes: they sign another block's body (and no tds-epoch line).
                   *p.mutable_certified_child()->mutable_votes() =
                       proof(epoch2, 0).certified_child().votes();
                 }),
      epoch2);
  bad("proof_child_round",
      edit_proof(0,
                 [](tds::CommitProof& p) {
                   tds::BlockRef* b = p.mutable_certified_child()->mutable_block();
                   b->set_round(b->round() + 1);
                 }),
      epoch2);
  bad("proof_child_parent",
      edit_proof(1,
                 [](tds::CommitProof& p) {
                   tds::BlockRef* b = p.mutable_certified_child()->mutable_block();
                   b->set_parent(Flip(b->parent(), 3));
                 }),
      epoch2);
  bad("proof_child_not_empty",
      edit_proof(0,
                 [](tds::CommitProof& p) {
                   p.mutable_certified_child()->mutable_block()->set_header("x");
                 }),
      epoch2);
  bad("proof_no_child", edit_proof(1, [](tds::CommitProof& p) { p.clear_certified_child(); }),
      epoch2);
  // An empty block on the path: one more round between the ending block and the child, whose
  // parent the child then does not name; and a path round not above the block's.
  bad("proof_path_block_inserted",
      edit_proof(0,
                 [&](tds::CommitProof& p) {
                   const tds::BlockHeader h = header(epoch2, 0);
                   tds::BlockRef* b = p.add_path();
                   b->set_round(h.round() + 1);
                   b->set_parent(std::string(AsBytes(Sha256(epoch2.epoch_changes(0).header()))));
                 }),
      epoch2);
  bad("proof_path_round_not_higher",
      edit_proof(1,
                 [&](tds::CommitProof& p) {
                   const tds::BlockHeader h = header(epoch2, 1);
                   tds::BlockRef* b = p.add_path();
                   b->set_round(h.round());
                   b->set_parent(std::string(AsBytes(Sha256(epoch2.epoch_changes(1).header()))));
                 }),
      epoch2);

  // Commit proofs through an empty block: the ending block B, an empty block at B.round + 1 on
  // the path and its empty child at B.round + 2, certified by `signers` (member numbers) of the
  // epoch B ends. Built here (a view change after B makes such proofs); the C++ accepts them.
  auto proof_with_path = [&](const tds::Receipt& r, int c, const std::vector<int>& signers) {
    const tds::BlockHeader h = header(r, c);
    const Hash id = Sha256(r.epoch_changes(c).header());
    const consensus::BlockInfo path =
        consensus::EmptyBlockInfo(genesis.origin(), h.round() + 1, id, h.epoch());
    const consensus::BlockInfo child =
        consensus::EmptyBlockInfo(genesis.origin(), h.round() + 2, path.id, h.epoch());
    tds::CommitProof p;
    tds::BlockRef* step = p.add_path();
    step->set_round(h.round() + 1);
    step->set_parent(std::string(AsBytes(id)));
    tds::QuorumCert* qc = p.mutable_certified_child();
    qc->mutable_block()->set_round(h.round() + 2);
    qc->mutable_block()->set_parent(std::string(AsBytes(path.id)));
    // Signers are indices into the epoch's validators: genesis order, then the order of the
    // previous change's next_validators.
    std::vector<std::string> ids;
    if (c == 0) {
      for (const Validator& v : genesis.validators()) ids.push_back(v.id);
    } else {
      const tds::BlockHeader previous = header(r, c - 1);
      for (const tds::ValidatorKey& k : previous.next_validators()) ids.push_back(k.id());
    }
    for (int m : signers) {
      const auto at = std::find(ids.begin(), ids.end(), EpochNetwork::Id(m));
      if (at == ids.end()) Die(absl::StrCat("v", m, " is not a validator of that epoch"));
      tds::ValidatorSignature* s = qc->add_votes();
      s->set_signer(static_cast<uint32_t>(at - ids.begin()));
      s->set_signature(KeyFromByte(kEpochKeyBase + m)->Sign(child.vote_body));
    }
    return p;
  };
  tds::Receipt with_paths = epoch2;
  set_proof(with_paths, 0, proof_with_path(epoch2, 0, {3, 0, 2}));
  set_proof(with_paths, 1, proof_with_path(epoch2, 1, {4, 1, 2, 3}));
  if (!out.Receipt("epochs_valid_proof_paths.json", with_paths, g)) {
    Die("epochs_valid_proof_paths.json does not verify");
  }
  bad("proof_path_round_altered",
      edit_proof(0,
                 [](tds::CommitProof& p) { p.mutable_path(0)->set_round(p.path(0).round() + 1); }),
      with_paths);
  bad("proof_path_parent_altered",
      edit_proof(
          1,
          [](tds::CommitProof& p) { p.mutable_path(0)->set_parent(Flip(p.path(0).parent(), 31)); }),
      with_paths);
  bad("proof_path_block_not_empty",
      edit_proof(1, [](tds::CommitProof& p) { p.mutable_path(0)->set_header("x"); }), with_paths);
  bad(
      "proof_path_vote_of_epoch_0_body",
      [&](tds::Receipt& r) {
        // Epoch 1's votes over the child's body without its tds-epoch line. (Epoch 1's
        // validators are v0..v4 in that order: signer i is v<i>.)
        tds::CommitProof p = proof(r, 1);
        const tds::BlockRef& block = p.certified_child().block();
        const consensus::BlockInfo child = consensus::EmptyBlockInfo(
            genesis.origin(), block.round(), Must(HashFromBytes(block.parent()), "parent"), 0);
        for (tds::ValidatorSignature& s : *p.mutable_certified_child()->mutable_votes()) {
          s.set_signature(KeyFromByte(kEpochKeyBase + s.signer())->Sign(child.vote_body));
        }
        set_proof(r, 1, p);
      },
      with_paths);

  // The chain of changes.
  bad(
      "changes_swapped", [](tds::Receipt& r) { r.mutable_epoch_changes()->SwapElements(0, 1); },
      epoch2);
  bad(
      "first_change_missing",
      [](tds::Receipt& r) { r.mutable_epoch_changes()->DeleteSubrange(0, 1); }, epoch2);
  bad(
      "last_change_missing", [](tds::Receipt& r) { r.mutable_epoch_changes()->RemoveLast(); },
      epoch2);
  bad(
      "changes_missing", [](tds::Receipt& r) { r.clear_epoch_changes(); }, epoch2);
  bad(
      "change_repeated", [](tds::Receipt& r) { *r.add_epoch_changes() = r.epoch_changes(1); },
      epoch2);
  bad(
      "change_appended_to_epoch1",
      [&](tds::Receipt& r) { *r.add_epoch_changes() = epoch2.epoch_changes(1); }, epoch1);

  // The final checkpoint.
  bad(
      "final_tds_epoch_3",
      [&](tds::Receipt& r) {
        r.set_checkpoint(Resign(
            r.checkpoint(),
            [](std::string b) { return Replace(b, "tds-epoch 2\n", "tds-epoch 3\n"); },
            epoch2_signers));
      },
      epoch2);
  bad(
      "final_tds_epoch_removed",
      [&](tds::Receipt& r) {
        r.set_checkpoint(Resign(
            r.checkpoint(), [](std::string b) { return Replace(b, "tds-epoch 2\n", ""); },
            epoch2_signers));
      },
      epoch2);
  bad(
      "final_signed_by_removed_validator",
      [&](tds::Receipt& r) {
        // v1 left in epoch 2: its signature does not count.
        r.set_checkpoint(Resign(r.checkpoint(), [](std::string b) { return b; }, {1, 2, 3}));
      },
      epoch2);
}

// ---- Merkle: roots and inclusion proofs of prefixes of a fixed leaf list. ----

void MerkleVectors(Writer& out) {
  // RFC 6962's reference leaves, then two more.
  std::vector<std::string> hex_leaves = ledger::testing::kCtLeavesHex;
  hex_leaves.insert(hex_leaves.end(), {"70", "8081"});
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
  tds::ledger::EpochVectors(out);
  tds::ledger::MerkleVectors(out);
  tds::ledger::Ed25519Vectors(out);
  out.Finish();
  return 0;
}
