#pragma once
// Shared fixtures for ledger tests: temp dirs, keys, a genesis and a tiny test application.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/envelope.h"
#include "common/keys.h"
#include "ledger/application.h"
#include "ledger/genesis.h"
#include "proto/ledger.pb.h"

namespace tds::ledger::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tds-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::unique_ptr<SigningKey> KeyFromByte(uint8_t b) {
  return std::move(SigningKey::FromSeed(std::string(32, static_cast<char>(b)))).value();
}

// "test.put": body "key=value" writes state[key] = value; body "reject" writes then fails.
class PutHandler : public TxHandler {
 public:
  absl::StatusOr<std::string> Apply(const TxContext& ctx, std::string_view body,
                                    StateWriter& state) const override {
    if (body == "reject") {
      state.Put("rejected-write", "x");
      return absl::FailedPreconditionError("test.put: asked to reject");
    }
    const size_t eq = body.find('=');
    if (eq == std::string_view::npos) return absl::InvalidArgumentError("test.put: no '='");
    state.Put(body.substr(0, eq), body.substr(eq + 1));
    return absl::StrCat("ok@", ctx.index);
  }
};

inline std::string MakeTx(const SigningKey& key, const std::string& submitter,
                          const std::string& type, const std::string& body, uint64_t nonce) {
  tds::Transaction tx;
  tx.set_type(type);
  tx.set_submitter(submitter);
  tx.set_body(body);
  tx.set_nonce(nonce);
  return SealEnvelope(key, kTxContext, tx.SerializeAsString());
}

// Genesis: "node" (validator) with key byte 1, "bank" (consumer) with key byte 2.
inline GenesisInfo TestGenesis(const std::string& origin = "tds.test/ledger") {
  auto json = BuildGenesisJson(
      origin, {absl::StrCat("node:validator,provider:", KeyFromByte(1)->public_key().hex()),
               absl::StrCat("bank:consumer:", KeyFromByte(2)->public_key().hex())});
  EXPECT_TRUE(json.ok()) << json.status();
  return std::move(GenesisInfo::Parse(*json, "test-genesis")).value();
}

// RFC 6962's reference Merkle leaves (certificate-transparency's tree tests), hex.
inline const std::vector<std::string> kCtLeavesHex = {"",
                                                      "00",
                                                      "10",
                                                      "2021",
                                                      "3031",
                                                      "40414243",
                                                      "5051525354555657",
                                                      "606162636465666768696a6b6c6d6e6f"};

}  // namespace tds::ledger::testing
