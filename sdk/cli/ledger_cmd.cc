#include "sdk/cli/ledger_cmd.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/file.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "ledger/receipt.h"
#include "sdk/cli/output.h"

namespace tds::cli {
namespace {

// Envelopes per SubmitBatch call: well under gRPC's 4 MiB message limit.
constexpr size_t kBatchSize = 256;

struct FileDigest {
  Hash digest{};
  uint64_t size = 0;
};

// Streams the file through SHA-256, so large documents need no memory.
absl::StatusOr<FileDigest> DigestFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(path + ": not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path + ": " + std::strerror(errno));
  Sha256Hasher hasher;
  FileDigest out;
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    hasher.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    out.size += static_cast<uint64_t>(n);
  }
  if (in.bad()) return absl::DataLossError(path + ": read failed");
  out.digest = hasher.Finish();
  return out;
}

struct AnchorArgs {
  std::vector<std::string> files;
  std::string doc_type = "document";
  std::vector<std::string> meta;
};

absl::StatusOr<std::map<std::string, std::string>> ParseMeta(const std::vector<std::string>& kv) {
  std::map<std::string, std::string> meta;
  for (const std::string& item : kv) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("--meta \"" + item + "\": expected KEY=VALUE");
    }
    std::string key = item.substr(0, eq);
    if (key == "file" || key == "size") {
      return absl::InvalidArgumentError("--meta " + key + ": set automatically from the file");
    }
    if (!meta.emplace(key, item.substr(eq + 1)).second) {
      return absl::InvalidArgumentError("--meta " + key + ": given twice");
    }
  }
  return meta;
}

int RunAnchor(const GlobalOptions& g, const AnchorArgs& args) {
  absl::StatusOr<std::map<std::string, std::string>> user_meta = ParseMeta(args.meta);
  if (!user_meta.ok()) return Fail(user_meta.status());
  absl::StatusOr<std::unique_ptr<SigningKey>> key = LoadMemberKey(g);
  if (!key.ok()) return Fail(key.status());
  absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> client = ConnectToNode(g);
  if (!client.ok()) return Fail(client.status());

  // Build every transaction before touching the network: a bad file fails fast.
  std::vector<std::string> envelopes;
  for (const std::string& file : args.files) {
    absl::StatusOr<FileDigest> d = DigestFile(file);
    if (!d.ok()) return Fail(d.status());
    std::map<std::string, std::string> meta = *user_meta;
    meta["file"] = std::filesystem::path(file).filename().string();
    meta["size"] = std::to_string(d->size);
    absl::StatusOr<std::string> body = evidence::MakeAnchorBody(d->digest, args.doc_type, meta);
    if (!body.ok()) return Fail(file + ": " + std::string(body.status().message()));
    envelopes.push_back(std::move(*body));
  }

  absl::StatusOr<std::string> member = (*client)->MemberIdFor((*key)->public_key());
  if (!member.ok()) {
    // NotFound: the message names the key and the data space.
    return Fail((member.status().code() == absl::StatusCode::kNotFound
                     ? "nothing anchored: --key " + g.key + ": "
                     : "cannot look up the member id of --key " + g.key + ": ") +
                std::string(member.status().message()));
  }
  for (std::string& body : envelopes) {
    body = sdk::BuildTransaction(**key, *member, std::string(evidence::kAnchorTxType),
                                 std::move(body));
  }

  int failures = 0;
  auto report = [&](size_t i, const tds::SubmitResponse& ack) {
    std::cout << HexEncode(ack.txid()) << "  " << args.files[i] << "\n";
  };
  auto refuse = [&](size_t i, std::string_view why) {
    std::cerr << "error: " << args.files[i] << ": not anchored: " << why << "\n";
    ++failures;
  };
  if (envelopes.size() == 1) {
    absl::StatusOr<tds::SubmitResponse> ack = (*client)->Submit(envelopes[0]);
    if (ack.ok()) {
      report(0, *ack);
    } else {
      refuse(0, std::string(ack.status().message()));
    }
  } else {
    for (size_t start = 0; start < envelopes.size(); start += kBatchSize) {
      size_t end = std::min(envelopes.size(), start + kBatchSize);
      std::vector<std::string> batch(envelopes.begin() + start, envelopes.begin() + end);
      absl::StatusOr<tds::SubmitBatchResponse> resp = (*client)->SubmitBatch(batch);
      for (size_t i = start; i < end; ++i) {
        if (!resp.ok()) {
          refuse(i, std::string(resp.status().message()));
        } else if (resp->items_size() != static_cast<int>(batch.size())) {
          refuse(i, "node answered " + std::to_string(resp->items_size()) + " items for " +
                        std::to_string(batch.size()) + " transactions");
        } else if (const tds::SubmitBatchItem& item = resp->items(static_cast<int>(i - start));
                   item.code() != 0) {
          refuse(i, item.message());
        } else {
          report(i, item.ack());
        }
      }
    }
  }
  std::cout.flush();
  if (failures > 0) {
    std::cerr << "error: " << failures << " of " << envelopes.size()
              << " file(s) were not anchored\n";
    return 1;
  }
  return 0;
}

struct ReceiptArgs {
  std::string txid;
  std::string out;
};

int RunReceipt(const GlobalOptions& g, const ReceiptArgs& args) {
  absl::StatusOr<Hash> txid = HashFromHex(args.txid, "TXID");
  if (!txid.ok()) return Fail(txid.status());
  absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> client = ConnectToNode(g);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<tds::Receipt> receipt = (*client)->GetReceipt(*txid);
  if (!receipt.ok()) return Fail(receipt.status());
  std::string json = ledger::ReceiptToJson(*receipt);
  if (json.empty() || json.back() != '\n') json += '\n';
  if (args.out.empty()) {
    std::cout << json;
    return 0;
  }
  if (absl::Status s = WriteFileAtomic(args.out, json, 0644); !s.ok()) return Fail(s);
  std::cerr << "wrote receipt of " << HexEncode(*txid) << " (block " << receipt->height()
            << ", tree of " << receipt->tree_size() << ") to " << args.out << "\n";
  return 0;
}

int RunStatus(const GlobalOptions& g) {
  absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> client = ConnectToNode(g);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<tds::GetStatusResponse> s = (*client)->GetStatus();
  if (!s.ok()) return Fail(s.status());
  std::cout << "origin:           " << s->origin() << "\n"
            << "node member:      " << s->node_member_id() << "\n"
            << "height:           " << s->height() << "\n"
            << "log size:         " << s->log_size() << "\n"
            << "log root:         " << HexOrDash(s->log_root()) << "\n"
            << "state digest:     " << HexOrDash(s->state_digest()) << "\n"
            << "last block hash:  " << HexOrDash(s->last_block_hash()) << "\n"
            << "last block time:  " << FormatTimeMs(s->last_block_time_ms()) << "\n"
            << "pending txs:      " << s->pending_txs() << "\n";
  return 0;
}

}  // namespace

void AddLedgerCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;

  auto a = std::make_shared<AnchorArgs>();
  CLI::App* anchor = app.add_subcommand(
      "anchor",
      "Anchor documents on the ledger (evidence): records each file's SHA-256, type and "
      "metadata; prints \"<txid>  <file>\" per file");
  anchor->add_option("FILE", a->files, "Documents to anchor")->required();
  anchor->add_option("--type", a->doc_type, "Document type, [a-z0-9._-]{1,64}")
      ->capture_default_str();
  anchor
      ->add_option("--meta", a->meta,
                   "Extra metadata KEY=VALUE (repeatable); file and size "
                   "are recorded automatically")
      ->expected(1)  // one value per --meta, so FILE arguments may follow
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  anchor->footer(
      "Needs --node and --key. Example:\n"
      "  tds --node 127.0.0.1:7400 --key bank.key --insecure-dev anchor --type contract "
      "loan.txt");
  OnRun(anchor, ctx, [&g, a] { return RunAnchor(g, *a); });

  auto r = std::make_shared<ReceiptArgs>();
  CLI::App* receipt = app.add_subcommand(
      "receipt", "Fetch a transaction's receipt (JSON; verify it offline with `tds verify`)");
  receipt->add_option("TXID", r->txid, "Transaction id, 64 hex characters")->required();
  receipt->add_option("--out", r->out, "Write the receipt to this file instead of stdout");
  receipt->footer("Needs --node.");
  OnRun(receipt, ctx, [&g, r] { return RunReceipt(g, *r); });

  CLI::App* ledger = app.add_subcommand("ledger", "Ledger queries");
  ledger->require_subcommand(1);
  ledger->footer("Needs --node. Example: tds --node 127.0.0.1:7400 --insecure-dev ledger status");
  CLI::App* status = ledger->add_subcommand(
      "status", "Origin, height, log size and root, state digest, last block time");
  status->footer("Needs --node.");
  OnRun(status, ctx, [&g] { return RunStatus(g); });
}

}  // namespace tds::cli
