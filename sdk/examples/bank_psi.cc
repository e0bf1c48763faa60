// A bank's first PSI through the C++ SDK (sdk/data_space.h): connect as a member, find a
// product, show the contract that governs it, intersect a CSV of customer ids with the
// provider's, print the intersection size and verify the usage receipt offline.
//
//   tds_example_bank_psi --node 127.0.0.1:7400 --key bank.key --insecure-dev \
//       --search invoice --ids customers.csv --genesis genesis.json
//
// The ids file is a CSV with a header row; the first column holds the ids (no quoting, for
// brevity: `tds run psi` reads any RFC 4180 file). Errors are one line on stderr, exit 1.

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "sdk/data_space.h"

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::cerr << "error: " << what << ": " << status.message() << "\n";
  return 1;
}

absl::StatusOr<std::vector<std::string>> ReadIds(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot open " + path);
  std::vector<std::string> ids;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ids.push_back(line.substr(0, line.find(',')));
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  tds::sdk::ClientOptions options;
  std::string key_file, search, product_id, ids_file, genesis, purpose;
  CLI::App app("Bank PSI example: find a product, intersect ids, verify the receipt");
  app.add_option("--node", options.address, "The provider's node, HOST:PORT")->required();
  app.add_option("--key", key_file, "The bank's member key file")->required();
  app.add_flag("--insecure-dev", options.insecure_dev, "Plaintext (development nodes only)");
  app.add_option("--tls-cert", options.tls_cert, "Member certificate (mutual TLS)");
  app.add_option("--tls-key", options.tls_key, "Member TLS key");
  app.add_option("--tls-ca", options.tls_ca, "Consortium CA certificate");
  app.add_option("--search", search, "Words the product must match (first PSI product wins)");
  app.add_option("--product", product_id, "Or the product id itself");
  app.add_option("--ids", ids_file, "CSV of ids, header row, ids in the first column")->required();
  app.add_option("--purpose", purpose, "Purpose of the run (default: the contract's only one)");
  app.add_option("--genesis", genesis, "Genesis file to verify the receipt against, offline");
  CLI11_PARSE(app, argc, argv);

  // 1. Connect as the bank: the member id is found from the key.
  auto client = tds::sdk::DataSpaceClient::Connect(options, key_file);
  if (!client.ok()) return Fail("connect", client.status());
  tds::sdk::DataSpaceClient& bank = **client;
  std::cout << "connected to " << options.address << " as " << bank.member_id() << "\n";

  // 2. Find the product.
  if (product_id.empty()) {
    auto found = bank.SearchProducts({.text = search, .operation = "psi"});
    if (!found.ok()) return Fail("search", found.status());
    if (found->empty()) {
      std::cerr << "error: no product offering psi matches \"" << search << "\"\n";
      return 1;
    }
    product_id = found->front().id();
  }
  auto product = bank.GetProduct(product_id);
  if (!product.ok()) return Fail("product " + product_id, product.status());
  std::cout << "product " << product->id() << " v" << product->version() << " by "
            << product->provider() << ": " << product->title() << "\n";

  // 3. The contract that governs the run.
  auto contracts = bank.ListContracts(tds::ACTIVE, product_id);
  if (!contracts.ok()) return Fail("contracts", contracts.status());
  if (contracts->empty()) {
    std::cerr << "error: no ACTIVE contract on " << product_id
              << ": negotiate one first (tds contract request " << product_id << " ...)\n";
    return 1;
  }
  const tds::Contract& contract = contracts->front();
  auto terms = bank.ContractTerms(contract.id());
  if (!terms.ok()) return Fail("contract " + contract.id(), terms.status());
  std::cout << "contract " << contract.id() << ": purposes";
  for (const std::string& p : terms->purposes()) std::cout << " " << p;
  std::cout << ", psi output "
            << (terms->psi_output().empty() ? "consumer_only" : terms->psi_output()) << ", at most "
            << terms->max_calls_total() << " calls\n";

  // 4. PSI through the provider's metered gateway.
  auto ids = ReadIds(ids_file);
  if (!ids.ok()) return Fail("--ids", ids.status());
  auto run = bank.RunPsi(contract.id(), purpose, *ids);
  if (!run.ok()) return Fail("psi", run.status());
  std::cout << "intersection: " << run->intersection_size << " of " << ids->size() << " ids\n"
            << "usage record: " << tds::HexEncode(run->result.usage_txid()) << "\n";

  // 5. The receipt, verified with nothing but the genesis file.
  if (!genesis.empty()) {
    if (!run->result.has_receipt()) {
      std::cout << "no receipt yet (batched metering: the record commits later)\n";
      return 0;
    }
    auto verified = tds::sdk::DataSpaceClient::VerifyReceiptLocally(run->result.receipt(), genesis);
    if (!verified.ok()) return Fail("receipt does not verify", verified.status());
    std::cout << "receipt verified offline: block " << verified->height << ", index "
              << verified->index << ", recorded by " << verified->submitter << "\n";
  }
  return 0;
}
