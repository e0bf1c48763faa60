// Durability: tdsd is SIGKILLed in the middle of a write load from four client threads and
// restarted on the same data directory. Every transaction that was acknowledged before the kill
// must be there afterwards, at the acknowledged index, with a receipt that verifies against
// the genesis file; the restarted node must keep accepting transactions.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/keys.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "gtest/gtest.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "sdk/client.h"
#include "tests/test_util.h"

namespace tds::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kThreads = 4;
constexpr int kRounds = 2;               // kill + restart cycles
constexpr size_t kAcksBeforeKill = 300;  // or kLoadTime, whichever comes first
constexpr auto kLoadTime = std::chrono::milliseconds(1500);
constexpr auto kFirstAckTimeout = std::chrono::seconds(60);

struct Ack {
  uint64_t index = 0;
  uint64_t height = 0;
};

std::unique_ptr<sdk::LedgerClient> Connect(const std::string& address) {
  sdk::ClientOptions o;
  o.address = address;
  o.insecure_dev = true;
  o.timeout_ms = 20000;
  absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> c = sdk::LedgerClient::Connect(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::string AnchorTx(const SigningKey& key, const std::string& label) {
  absl::StatusOr<std::string> body =
      evidence::MakeAnchorBody(Sha256(label), "log", {{"label", label}});
  EXPECT_TRUE(body.ok()) << body.status();
  return sdk::BuildTransaction(key, "bank", std::string(evidence::kAnchorTxType),
                               body.ok() ? *body : "");
}

// Submits from kThreads threads until stopped; records every acknowledgement.
class WriteLoad {
 public:
  WriteLoad(const std::string& address, const SigningKey& key, int round) {
    for (int t = 0; t < kThreads; ++t) {
      threads_.emplace_back([this, address, &key, round, t] { Run(address, key, round, t); });
    }
  }
  ~WriteLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  size_t acked() const { return acked_.load(); }
  std::map<std::string, Ack> acks() {
    std::lock_guard<std::mutex> l(mu_);
    return acks_;
  }

 private:
  void Run(const std::string& address, const SigningKey& key, int round, int thread) {
    std::unique_ptr<sdk::LedgerClient> client = Connect(address);
    if (client == nullptr) return;
    for (int i = 0; !stop_; ++i) {
      std::string label = "round " + std::to_string(round) + " thread " + std::to_string(thread) +
                          " doc " + std::to_string(i);
      absl::StatusOr<tds::SubmitResponse> r = client->Submit(AnchorTx(key, label));
      if (!r.ok()) {
        // Expected once the node is killed; back off a little so we don't spin.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      acks_[r->txid()] = Ack{r->index(), r->height()};
      acked_.fetch_add(1);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<size_t> acked_{0};
  std::mutex mu_;
  std::map<std::string, Ack> acks_;  // txid bytes → ack
  std::vector<std::thread> threads_;
};

TEST(CrashTest, AcknowledgedTransactionsSurviveSigkill) {
  TempDir dir;
  absl::StatusOr<std::string> genesis_path =
      MakeGenesis(dir.path(), "crash.tds.test", {{"node-1", "validator"}, {"bank", "consumer"}});
  ASSERT_TRUE(genesis_path.ok()) << genesis_path.status();
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Load(*genesis_path);
  ASSERT_TRUE(genesis.ok()) << genesis.status();
  absl::StatusOr<std::unique_ptr<SigningKey>> bank = SigningKey::LoadFromFile(dir.File("bank.key"));
  ASSERT_TRUE(bank.ok()) << bank.status();

  const Node::Options options{
      dir.File("data"), *genesis_path, dir.File("node-1.key"), dir.path(), {}};
  std::map<std::string, Ack> all_acks;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();

    WriteLoad load((*node)->address(), **bank, round);
    const auto start = Clock::now();
    while (load.acked() == 0 && Clock::now() - start < kFirstAckTimeout) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GT(load.acked(), 0u) << "no acknowledgement within the timeout\n" << (*node)->Log();
    const auto loaded = Clock::now();
    while (load.acked() < kAcksBeforeKill && Clock::now() - loaded < kLoadTime) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    (*node)->Kill();  // SIGKILL while the clients are still submitting
    load.Stop();
    std::map<std::string, Ack> acks = load.acks();
    std::printf("round %d: %zu transactions acknowledged before SIGKILL\n", round, acks.size());
    for (const auto& [txid, ack] : acks) {
      ASSERT_TRUE(all_acks.emplace(txid, ack).second) << "txid acknowledged twice";
    }
  }

  // Restart once more and check everything acknowledged in every round.
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(options);
  ASSERT_TRUE(node.ok()) << node.status();
  std::unique_ptr<sdk::LedgerClient> client = Connect((*node)->address());
  ASSERT_NE(client, nullptr);

  std::map<uint64_t, std::string> by_index;
  for (const auto& [txid, ack] : all_acks) {
    ASSERT_TRUE(by_index.emplace(ack.index, txid).second) << "two acks for index " << ack.index;
  }
  absl::StatusOr<tds::GetStatusResponse> status = client->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_GT(status->log_size(), by_index.rbegin()->first) << "log shorter than an acked index";

  size_t verified = 0;
  for (const auto& [txid_bytes, ack] : all_acks) {
    absl::StatusOr<Hash> txid = HashFromBytes(txid_bytes, "txid");
    ASSERT_TRUE(txid.ok()) << txid.status();
    const std::string hex = HexEncode(*txid);

    absl::StatusOr<tds::GetTransactionResponse> tx = client->GetTransaction(*txid);
    ASSERT_TRUE(tx.ok()) << "acknowledged tx " << hex << " lost: " << tx.status();
    EXPECT_EQ(tx->index(), ack.index) << hex;
    EXPECT_EQ(tx->height(), ack.height) << hex;

    absl::StatusOr<tds::Receipt> receipt = client->GetReceipt(*txid);
    ASSERT_TRUE(receipt.ok()) << hex << ": " << receipt.status();
    // Round-trip through the JSON form an auditor would receive.
    absl::StatusOr<tds::Receipt> parsed = ledger::ReceiptFromJson(ledger::ReceiptToJson(*receipt));
    ASSERT_TRUE(parsed.ok()) << hex << ": " << parsed.status();
    absl::StatusOr<ledger::VerifiedReceipt> v = ledger::VerifyReceipt(*parsed, *genesis);
    ASSERT_TRUE(v.ok()) << hex << ": " << v.status();
    EXPECT_EQ(v->txid, *txid);
    EXPECT_EQ(v->index, ack.index);
    EXPECT_EQ(v->submitter, "bank");
    ++verified;
  }
  std::printf("%zu acknowledged transactions present with verifying receipts\n", verified);

  // The restarted node still accepts and commits new transactions.
  absl::StatusOr<tds::SubmitResponse> fresh = client->Submit(AnchorTx(**bank, "after restart"));
  ASSERT_TRUE(fresh.ok()) << fresh.status() << "\n" << (*node)->Log();
  EXPECT_GE(fresh->index(), status->log_size());
  absl::StatusOr<Hash> fresh_id = HashFromBytes(fresh->txid(), "txid");
  ASSERT_TRUE(fresh_id.ok());
  absl::StatusOr<tds::Receipt> fresh_receipt = client->GetReceipt(*fresh_id);
  ASSERT_TRUE(fresh_receipt.ok()) << fresh_receipt.status();
  EXPECT_TRUE(ledger::VerifyReceipt(*fresh_receipt, *genesis).ok());
  EXPECT_TRUE((*node)->Shutdown()) << (*node)->Log();
}

}  // namespace
}  // namespace tds::testing
