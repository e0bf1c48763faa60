#include "sdk/cli/verify_cmd.h"

#include <iostream>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/file.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"

namespace tds::cli {
namespace {

struct VerifyArgs {
  std::string receipt;
  std::string genesis;
};

// Verification failures go to stderr as "FAILED: <check>: <detail>" (exit 1); the check names
// come from VerifyReceipt ("envelope", "membership", "inclusion", "checkpoint"), or "receipt"
// when the file is not a receipt at all.
int Failed(std::string_view check_and_detail) {
  std::cerr << "FAILED: " << check_and_detail << "\n";
  return 1;
}

int RunVerify(const VerifyArgs& args) {
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Load(args.genesis);
  if (!genesis.ok()) return Fail(genesis.status());
  absl::StatusOr<std::string> text = ReadFile(args.receipt);
  if (!text.ok()) return Fail(text.status());

  absl::StatusOr<tds::Receipt> receipt = ledger::ReceiptFromJson(*text);
  if (!receipt.ok()) {
    std::string why(receipt.status().message());
    return Failed(why.rfind("receipt:", 0) == 0 ? why : "receipt: " + why);
  }
  absl::StatusOr<ledger::VerifiedReceipt> v = ledger::VerifyReceipt(*receipt, *genesis);
  if (!v.ok()) return Failed(std::string(v.status().message()));

  std::cout << "OK: tx " << HexEncode(v->txid) << " by " << v->submitter << " at index " << v->index
            << " in tree of " << v->tree_size << " (block " << v->height
            << "), checkpoint signed by a quorum of validators (" << v->quorum << " of "
            << v->validators;
  if (v->epoch > 0) {
    std::cout << " in validator epoch " << v->epoch << ", reached from genesis through " << v->epoch
              << " verified validator change(s)";
  }
  std::cout << ")\n";
  return 0;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<VerifyArgs>();
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Verify a receipt offline against a genesis file: envelope signature, membership, "
      "Merkle inclusion, checkpoint quorum");
  verify->add_option("RECEIPT", a->receipt, "Receipt JSON (from `tds receipt`)")->required();
  verify->add_option("--genesis", a->genesis, "Genesis file you trust")->required();
  verify->footer(
      "Exit 0 and one line \"OK: ...\" when every check passes; otherwise exit 1 and\n"
      "\"FAILED: <check>: <detail>\" on stderr.");
  OnRun(verify, ctx, [a] { return RunVerify(*a); });
}

}  // namespace tds::cli
