#include "sdk/cli/audit_watch.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status_macros.h"
#include "common/wall_clock.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "nlohmann/json.hpp"

namespace tds::cli {
namespace {

using json = nlohmann::json;

std::string Describe(const SeenCheckpoint& c) {
  return absl::StrCat("size ", c.size, " root ", HexEncode(c.root), " (block ", c.height,
                      c.node.empty() ? "" : ", from ", c.node, ")");
}

SeenCheckpoint FromParsed(const ledger::SignedNote& parsed, const std::string& note) {
  SeenCheckpoint c;
  c.size = parsed.checkpoint.size;
  c.root = parsed.checkpoint.root;
  c.height = parsed.checkpoint.height;
  c.epoch = parsed.checkpoint.epoch;
  c.note = note;
  return c;
}

absl::StatusOr<SeenCheckpoint> FromNote(const std::string& note) {
  TDS_ASSIGN_OR_RETURN(ledger::SignedNote parsed, ledger::ParseSignedNote(note));
  return FromParsed(parsed, note);
}

// Appends one line at `valid_end` (the end of the last complete line) and fsyncs. A torn line
// after it (a crash mid-append) is cut off first, so every line in the file is whole.
absl::Status Append(const std::string& path, uint64_t valid_end, const SeenCheckpoint& c) {
  json line = {{"size", c.size},      {"root", HexEncode(c.root)}, {"height", c.height},
               {"epoch", c.epoch},    {"seen_ms", c.seen_ms},      {"node", c.node},
               {"checkpoint", c.note}};
  const std::string text = line.dump() + "\n";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("state file ", path, ": ", std::strerror(errno)));
  }
  auto failed = [&](std::string_view what) {
    const std::string why = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("state file ", path, ": ", std::string(what), ": ", why));
  };
  if (ftruncate(fd, static_cast<off_t>(valid_end)) != 0) return failed("truncate");
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n =
        pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(valid_end + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failed("write");
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return failed("fsync");
  close(fd);
  return absl::OkStatus();
}

struct Kept {
  std::vector<SeenCheckpoint> checkpoints;
  uint64_t valid_end = 0;  // bytes up to the end of the last complete line
};

absl::StatusOr<Kept> Load(const std::string& path, const ledger::GenesisInfo& genesis) {
  Kept out;
  if (access(path.c_str(), F_OK) != 0 && errno == ENOENT) return out;
  TDS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = text.find('\n', pos);
    ++line_no;
    if (end == std::string::npos) break;  // torn last line: the append that wrote it failed
    const std::string line = text.substr(pos, end - pos);
    pos = out.valid_end = end + 1;
    if (line.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrCat("state file ", path, " line ", line_no, ": ", why));
    };
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("checkpoint") ||
        !j["checkpoint"].is_string()) {
      return bad("not a JSON object with a \"checkpoint\" string");
    }
    auto note = ledger::ParseSignedNote(j["checkpoint"].get<std::string>());
    if (!note.ok()) return bad(note.status().message());
    if (note->checkpoint.origin != genesis.origin()) {
      return bad(absl::StrCat("a checkpoint of '", note->checkpoint.origin, "', not of '",
                              genesis.origin(), "'"));
    }
    SeenCheckpoint c = FromParsed(*note, j["checkpoint"].get<std::string>());
    if (j.contains("seen_ms") && j["seen_ms"].is_number_integer()) {
      c.seen_ms = j["seen_ms"].get<int64_t>();
    }
    if (j.contains("node") && j["node"].is_string()) c.node = j["node"].get<std::string>();
    out.checkpoints.push_back(std::move(c));
  }
  return out;
}

// The latest checkpoint with a quorum of its epoch's validators.
absl::StatusOr<SeenCheckpoint> VerifiedLatest(LedgerSource& source,
                                              const ledger::GenesisInfo& genesis,
                                              const std::string& note, std::string* alert) {
  auto latest = FromNote(note);
  if (!latest.ok()) {
    *alert = absl::StrCat("the node's latest checkpoint does not parse: ",
                          std::string(latest.status().message()));
    return SeenCheckpoint{};
  }
  std::vector<ledger::Validator> validators = genesis.validators();
  if (latest->epoch > 0) {
    TDS_ASSIGN_OR_RETURN(tds::Block block, source.GetBlock(latest->height));
    auto of_block = ValidatorsOfBlock(source, genesis, block);
    if (!of_block.ok()) {
      *alert = absl::StrCat("the validators of the latest checkpoint's epoch ", latest->epoch,
                            " cannot be established: ", std::string(of_block.status().message()));
      return *latest;
    }
    validators = *std::move(of_block);
  }
  auto cp = ledger::VerifyCheckpointBy(note, genesis.origin(), validators);
  if (!cp.ok()) {
    *alert = absl::StrCat("the node's latest checkpoint (", Describe(*latest),
                          ") does not verify: ", std::string(cp.status().message()));
  }
  return latest;
}

}  // namespace

absl::StatusOr<std::vector<SeenCheckpoint>> LoadSeenCheckpoints(
    const std::string& path, const ledger::GenesisInfo& genesis) {
  TDS_ASSIGN_OR_RETURN(Kept kept, Load(path, genesis));
  return std::move(kept.checkpoints);
}

absl::StatusOr<WatchRound> WatchOnce(LedgerSource& source, const ledger::GenesisInfo& genesis,
                                     const std::string& state_file, const std::string& node) {
  TDS_ASSIGN_OR_RETURN(Kept loaded, Load(state_file, genesis));
  const std::vector<SeenCheckpoint>& kept = loaded.checkpoints;
  TDS_ASSIGN_OR_RETURN(tds::GetLatestCheckpointResponse latest_response,
                       source.GetLatestCheckpoint());
  if (latest_response.checkpoint().empty()) {
    return absl::FailedPreconditionError("the node has no checkpoint yet (no block committed)");
  }
  WatchRound round;
  TDS_ASSIGN_OR_RETURN(round.latest,
                       VerifiedLatest(source, genesis, latest_response.checkpoint(), &round.alert));
  if (!round.alert.empty()) return round;  // an unverified checkpoint proves nothing: not kept
  SeenCheckpoint& latest = round.latest;
  latest.seen_ms = WallClockMs();
  latest.node = node;

  bool known = false;
  std::set<std::pair<uint64_t, Hash>> compared;
  for (const SeenCheckpoint& k : kept) {
    if (!compared.insert({k.size, k.root}).second) continue;
    ++round.compared;
    if (k.size == latest.size) {
      if (k.root == latest.root) {
        known = true;
        continue;
      }
      round.alert = absl::StrCat("conflicting checkpoints: the node's latest is ", Describe(latest),
                                 ", one seen before is ", Describe(k),
                                 ": two histories of the same size (a rewritten history)");
      break;
    }
    const bool grew = k.size < latest.size;
    const SeenCheckpoint& older = grew ? k : latest;
    const SeenCheckpoint& newer = grew ? latest : k;
    auto proof = source.GetConsistencyProof(older.size, newer.size);
    absl::Status s = proof.ok() ? ledger::merkle::VerifyConsistency(older.size, newer.size, *proof,
                                                                    older.root, newer.root)
                                : proof.status();
    if (!s.ok()) {
      round.alert =
          absl::StrCat(grew ? "inconsistent checkpoints: the node's latest, "
                            : "the node went back: its latest, ",
                       Describe(latest), grew ? ", does not extend " : ", is not a prefix of ",
                       "one seen before, ", Describe(k), " (", std::string(s.message()), ")");
      break;
    }
  }
  if (!known) {
    TDS_RETURN_IF_ERROR(Append(state_file, loaded.valid_end, latest));
    round.recorded = true;
  }
  return round;
}

}  // namespace tds::cli
