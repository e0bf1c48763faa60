#include "sdk/cli/keys_cmd.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/file.h"
#include "common/keys.h"
#include "ledger/genesis.h"

namespace tds::cli {
namespace {

bool PathExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

int RunKeygen(const std::string& out) {
  if (PathExists(out)) return Fail(out + " already exists; refusing to overwrite a key file");
  std::unique_ptr<SigningKey> key = SigningKey::Generate();
  if (key == nullptr) return Fail("key generation failed");
  if (absl::Status s = key->WriteToFile(out); !s.ok()) return Fail(s);
  std::cout << key->public_key().hex() << "\n";
  return 0;
}

struct GenesisArgs {
  std::string origin;
  std::vector<std::string> members;
  std::string out;
  bool force = false;
};

int RunGenesis(const GenesisArgs& args) {
  if (!args.force && PathExists(args.out)) {
    return Fail(args.out + " already exists; refusing to overwrite a genesis file (--force)");
  }
  absl::StatusOr<std::string> json = ledger::BuildGenesisJson(args.origin, args.members);
  if (!json.ok()) return Fail(json.status());
  // Parse what we built, so a file we write is one every node accepts.
  absl::StatusOr<ledger::GenesisInfo> info = ledger::GenesisInfo::Parse(*json, args.out);
  if (!info.ok()) return Fail(info.status());
  if (absl::Status s = WriteFileAtomic(args.out, *json, 0644); !s.ok()) return Fail(s);
  std::cerr << "wrote " << args.out << ": origin \"" << info->origin() << "\", "
            << info->proto().members_size() << " member(s), " << info->validators().size()
            << " validator(s), checkpoint quorum " << info->quorum() << "\n";
  std::cout << HexEncode(info->digest()) << "\n";
  return 0;
}

}  // namespace

void AddKeyCommands(CLI::App& app, Context& ctx) {
  auto out = std::make_shared<std::string>();
  CLI::App* keygen =
      app.add_subcommand("keygen", "Generate an Ed25519 member key; prints the public key (hex)");
  keygen->add_option("--out", *out, "Key file to create (mode 0600; never overwritten)")
      ->required();
  keygen->footer("Example: tds keygen --out bank.key");
  OnRun(keygen, ctx, [out] { return RunKeygen(*out); });

  auto g = std::make_shared<GenesisArgs>();
  CLI::App* genesis = app.add_subcommand(
      "genesis", "Write a genesis file (origin, members, roles, keys); prints its SHA-256");
  genesis->add_option("--origin", g->origin, "Data space name; the origin line of checkpoints")
      ->required();
  genesis
      ->add_option("--member", g->members,
                   "ID:ROLE[,ROLE...]:PUBKEY_HEX[:CERT_SHA256]; roles: provider, consumer, "
                   "auditor, validator; CERT_SHA256 pins the member's TLS certificate (`tds cert "
                   "issue` prints it) (repeat for each member; at least one validator)")
      ->required()
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  genesis->add_option("--out", g->out, "Genesis file to write")->required();
  genesis->add_flag("--force", g->force, "Overwrite an existing file");
  genesis->footer(
      "Example:\n  tds genesis --origin demo.tds \\\n"
      "    --member node-1:validator:$(cat node.pub):$(tds cert fingerprint tls/node-1.crt) \\\n"
      "    --member bank:consumer:$(cat bank.pub):$(tds cert fingerprint tls/bank.crt) \\\n"
      "    --out genesis.json\n"
      "Nodes bind their chain to the file's exact bytes: do not reformat it afterwards.");
  OnRun(genesis, ctx, [g] { return RunGenesis(*g); });
}

}  // namespace tds::cli
