#include "sdk/cli/merkle_cmd.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "ledger/merkle.h"
#include "nlohmann/json.hpp"

namespace tds::cli {
namespace {

namespace merkle = ::tds::ledger::merkle;

// Reads FILE (see merkle_cmd.h for the format) into a tree. std::getline matches the format:
// it yields "" for an empty line and nothing for the end of file after a final newline.
absl::StatusOr<merkle::MemoryNodeStore> ReadTree(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file.is_open()) {
      return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    }
    in = &file;
  }
  const std::string name = path == "-" ? "stdin" : path;  // for messages
  merkle::MemoryNodeStore store;
  std::string line;
  uint64_t line_number = 0;
  while (std::getline(*in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    absl::StatusOr<std::string> entry = HexDecode(line);
    if (!entry.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " line ", line_number, ": ", std::string(entry.status().message())));
    }
    store.AppendLeaf(merkle::LeafHash(*entry));
  }
  if (in->bad()) {  // a read error, e.g. FILE is a directory
    const std::string where =
        line_number == 0 ? name : absl::StrCat(name, " after line ", line_number);
    return absl::DataLossError(absl::StrCat("cannot read ", where, ": ", std::strerror(errno)));
  }
  return store;
}

// A decimal count or index: digits only, no sign, no spaces, fits in 64 bits.
absl::StatusOr<uint64_t> ParseNumber(const std::string& text, const char* what) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a non-negative integer, got \"", text, "\""));
  }
  return value;
}

nlohmann::ordered_json HexList(const std::vector<Hash>& hashes) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const Hash& h : hashes) out.push_back(HexEncode(h));
  return out;
}

absl::Status Root(const std::string& path) {
  TDS_ASSIGN_OR_RETURN(merkle::MemoryNodeStore store, ReadTree(path));
  std::cout << HexEncode(store.Root()) << "\n";
  return absl::OkStatus();
}

absl::Status Prove(const std::string& path, const std::string& index_text) {
  TDS_ASSIGN_OR_RETURN(uint64_t index, ParseNumber(index_text, "INDEX"));
  TDS_ASSIGN_OR_RETURN(merkle::MemoryNodeStore store, ReadTree(path));
  if (index >= store.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("INDEX ", index, " out of range: ", path, " has ", store.size(), " entries"));
  }
  TDS_ASSIGN_OR_RETURN(std::vector<Hash> proof, merkle::InclusionProof(store, index, store.size()));
  nlohmann::ordered_json out;
  out["index"] = index;
  out["size"] = store.size();
  out["proof"] = HexList(proof);
  std::cout << out.dump() << "\n";
  return absl::OkStatus();
}

absl::Status Consistency(const std::string& path, const std::string& size1_text,
                         const std::string& size2_text) {
  TDS_ASSIGN_OR_RETURN(uint64_t size1, ParseNumber(size1_text, "SIZE1"));
  TDS_ASSIGN_OR_RETURN(uint64_t size2, ParseNumber(size2_text, "SIZE2"));
  if (size1 == 0 || size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("need 0 < SIZE1 <= SIZE2, got SIZE1 ", size1, " SIZE2 ", size2));
  }
  TDS_ASSIGN_OR_RETURN(merkle::MemoryNodeStore store, ReadTree(path));
  if (size2 > store.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("SIZE2 ", size2, " out of range: ", path, " has ", store.size(), " entries"));
  }
  TDS_ASSIGN_OR_RETURN(std::vector<Hash> proof, merkle::ConsistencyProof(store, size1, size2));
  nlohmann::ordered_json out;
  out["size1"] = size1;
  out["size2"] = size2;
  out["proof"] = HexList(proof);
  std::cout << out.dump() << "\n";
  return absl::OkStatus();
}

// Runs a command body; on error prints the one-line message and exits 1 through CLI11.
void RunOrExit(const std::function<absl::Status()>& body) {
  const absl::Status status = body();
  if (!status.ok()) {
    std::cerr << "error: " << status.message() << "\n";
    throw CLI::RuntimeError(1);
  }
}

}  // namespace

void AddMerkleCommands(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand(
      "merkle", "Offline RFC 9162 Merkle tree tools over a file of hex-encoded entries");
  cmd->require_subcommand(1);
  cmd->footer(
      "FILE: one hex-encoded entry per line ('-' for stdin); an empty line is the empty entry; "
      "a final newline ends the last line. INDEX is 0-based; sizes count entries.\n");

  // Arguments outlive AddMerkleCommands: the callbacks run during parse().
  struct Args {
    std::string file, index, size1, size2;
  };
  auto args = std::make_shared<Args>();

  CLI::App* root = cmd->add_subcommand("root", "Print the tree root (lowercase hex)");
  root->add_option("FILE", args->file, "Entries file")->required();
  root->callback([args] { RunOrExit([&] { return Root(args->file); }); });

  CLI::App* prove =
      cmd->add_subcommand("prove", "Print the inclusion proof of entry INDEX as JSON");
  prove->add_option("FILE", args->file, "Entries file")->required();
  prove->add_option("INDEX", args->index, "0-based entry index")->required();
  prove->callback([args] { RunOrExit([&] { return Prove(args->file, args->index); }); });

  CLI::App* consistency = cmd->add_subcommand(
      "consistency", "Print the consistency proof from the first SIZE1 to SIZE2 entries as JSON");
  consistency->add_option("FILE", args->file, "Entries file")->required();
  consistency->add_option("SIZE1", args->size1, "Old tree size (> 0)")->required();
  consistency->add_option("SIZE2", args->size2, "New tree size (>= SIZE1)")->required();
  consistency->callback(
      [args] { RunOrExit([&] { return Consistency(args->file, args->size1, args->size2); }); });
}

}  // namespace tds::cli
