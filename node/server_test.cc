// The node's gRPC surface, in process: a real Server (ledger on disk, port 0) and the SDK client.

#include "node/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/file.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "grpcpp/grpcpp.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "ledger/test_util.h"
#include "proto/ledger_service.grpc.pb.h"
#include "sdk/client.h"

namespace tds::node {
namespace {

using ledger::testing::KeyFromByte;
using ledger::testing::TempDir;
using ::testing::HasSubstr;

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    node_key_ = KeyFromByte(1);
    client_key_ = KeyFromByte(2);
    auto genesis = ledger::BuildGenesisJson(
        "tds-node-test", {"node:validator:" + node_key_->public_key().hex(),
                          "client0:provider,consumer:" + client_key_->public_key().hex()});
    EXPECT_TRUE(genesis.ok()) << genesis.status();
    genesis_ = *genesis;
    EXPECT_TRUE(WriteFileAtomic(dir_.Sub("genesis.json"), genesis_).ok());
    EXPECT_TRUE(node_key_->WriteToFile(dir_.Sub("node.key")).ok());

    config_.set_data(dir_.Sub("data"));
    config_.set_genesis(dir_.Sub("genesis.json"));
    config_.set_key(dir_.Sub("node.key"));
    config_.set_listen("127.0.0.1:0");
    config_.set_insecure_dev(true);
  }

  void Start() {
    ASSERT_TRUE(FinalizeConfig(&config_).ok());
    auto server = Server::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    sdk::ClientOptions options;
    options.address = server_->address();
    options.insecure_dev = true;
    options.timeout_ms = 10000;
    auto client = sdk::LedgerClient::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    stub_ = tds::Ledger::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  std::string Anchor(uint8_t digest_byte, uint64_t nonce = 0) {
    Hash digest;
    digest.fill(digest_byte);
    auto body = evidence::MakeAnchorBody(digest, "invoice", {{"source", "test"}});
    EXPECT_TRUE(body.ok()) << body.status();
    return sdk::BuildTransaction(*client_key_, "client0", std::string(evidence::kAnchorTxType),
                                 *body, nonce);
  }

  TempDir dir_;
  std::unique_ptr<SigningKey> node_key_;
  std::unique_ptr<SigningKey> client_key_;
  std::string genesis_;
  tds::NodeConfig config_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<sdk::LedgerClient> client_;
  std::unique_ptr<tds::Ledger::Stub> stub_;
};

TEST_F(ServerTest, ListensOnARealPortWhenAskedForPortZero) {
  Start();
  EXPECT_THAT(server_->address(), HasSubstr("127.0.0.1:"));
  EXPECT_NE(server_->address(), "127.0.0.1:0");
}

TEST_F(ServerTest, RefusesToStartWithoutTlsFilesOrInsecureDev) {
  config_.set_insecure_dev(false);
  absl::Status finalized = FinalizeConfig(&config_);
  EXPECT_EQ(finalized.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(finalized.message()), HasSubstr("--tls-cert"));
  EXPECT_THAT(std::string(finalized.message()), HasSubstr("--insecure-dev"));
  // Start checks too, for callers that skip FinalizeConfig.
  auto server = Server::Start(config_);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("tls.cert"));
}

TEST_F(ServerTest, SubmittedAnchorCanBeReadBackWithAVerifyingReceipt) {
  Start();
  std::string envelope = Anchor(7, 1);
  auto ack = client_->Submit(envelope);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->index(), 0u);
  EXPECT_EQ(ack->height(), 1u);

  auto txid = HashFromBytes(ack->txid(), "txid");
  ASSERT_TRUE(txid.ok());
  auto tx = client_->GetTransaction(*txid);
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(tx->entry(), envelope);  // stored exactly as sent
  EXPECT_EQ(tx->height(), 1u);

  auto receipt = client_->GetReceipt(*txid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  auto genesis = ledger::GenesisInfo::Parse(genesis_, "test genesis");
  ASSERT_TRUE(genesis.ok());
  auto verified = ledger::VerifyReceipt(*receipt, *genesis);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->txid, *txid);

  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->origin(), "tds-node-test");
  EXPECT_EQ(status->node_member_id(), "node");
  EXPECT_EQ(status->height(), 1u);
  EXPECT_EQ(status->log_size(), 1u);

  auto checkpoint = client_->GetLatestCheckpoint();
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(checkpoint->height(), 1u);
  EXPECT_THAT(checkpoint->checkpoint(), HasSubstr("tds-node-test\n1\n"));
}

TEST_F(ServerTest, GenesisAndMemberIdComeFromTheNode) {
  Start();
  auto genesis = client_->GetGenesis();
  ASSERT_TRUE(genesis.ok());
  EXPECT_EQ(*genesis, genesis_);
  auto id = client_->MemberIdFor(client_key_->public_key());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "client0");
  auto stranger = client_->MemberIdFor(KeyFromByte(9)->public_key());
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ServerTest, MalformedTxidIsInvalidArgumentNamingTheSize) {
  Start();
  grpc::ClientContext ctx;
  tds::GetTransactionRequest request;
  request.set_txid("abc");
  tds::GetTransactionResponse response;
  grpc::Status s = stub_->GetTransaction(&ctx, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "txid: expected 32 bytes, got 3");
}

TEST_F(ServerTest, UnknownTransactionIsNotFoundPrefixedByTheMethod) {
  Start();
  Hash missing;
  missing.fill(0x42);
  auto tx = client_->GetTransaction(missing);
  EXPECT_EQ(tx.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tx.status().message()), ::testing::StartsWith("GetTransaction: "));
}

TEST_F(ServerTest, RefusedSubmissionCarriesTheLedgerReason) {
  Start();
  // Signed by a key that is not the submitter's.
  Hash digest{};
  auto body = evidence::MakeAnchorBody(digest, "invoice", {});
  ASSERT_TRUE(body.ok());
  std::string forged = sdk::BuildTransaction(*KeyFromByte(9), "client0",
                                             std::string(evidence::kAnchorTxType), *body);
  auto ack = client_->Submit(forged);
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(ack.status().message()), ::testing::StartsWith("Submit: "));

  auto empty = client_->Submit("");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServerTest, BatchItemsSucceedOrFailOnTheirOwn) {
  Start();
  std::string good = Anchor(1, 11);
  auto batch = client_->SubmitBatch({good, "not an envelope", Anchor(2, 12), good});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->items_size(), 4);
  EXPECT_EQ(batch->items(0).code(), 0);
  EXPECT_EQ(batch->items(1).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_FALSE(batch->items(1).message().empty());
  EXPECT_EQ(batch->items(2).code(), 0);
  EXPECT_EQ(batch->items(3).code(), static_cast<int>(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_NE(batch->items(0).ack().index(), batch->items(2).ack().index());
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->log_size(), 2u);
}

TEST_F(ServerTest, EmptyAndOversizedBatchesAreRefused) {
  Start();
  auto empty = client_->SubmitBatch({});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  auto huge = client_->SubmitBatch(std::vector<std::string>(10001, "x"));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(huge.status().message()), HasSubstr("10001"));
}

TEST_F(ServerTest, ConsistencyProofArgumentsAreChecked) {
  Start();
  ASSERT_TRUE(client_->Submit(Anchor(1, 1)).ok());
  ASSERT_TRUE(client_->Submit(Anchor(2, 2)).ok());
  auto proof = client_->GetConsistencyProof(1, 2);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(proof->size(), 1u);
  auto backwards = client_->GetConsistencyProof(2, 1);
  EXPECT_EQ(backwards.status().code(), absl::StatusCode::kInvalidArgument);
}

// Reads committed blocks from the start, then a block committed while the stream is open.
TEST_F(ServerTest, StreamBlocksSendsHistoryThenNewBlocks) {
  Start();
  ASSERT_TRUE(client_->Submit(Anchor(1, 1)).ok());
  ASSERT_TRUE(client_->Submit(Anchor(2, 2)).ok());
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok());
  const uint64_t tip = status->height();

  grpc::ClientContext ctx;
  tds::StreamBlocksRequest request;
  request.set_from_height(1);
  auto reader = stub_->StreamBlocks(&ctx, request);
  tds::Block block;
  for (uint64_t h = 1; h <= tip; ++h) {
    ASSERT_TRUE(reader->Read(&block));
    tds::BlockHeader header;
    ASSERT_TRUE(header.ParseFromString(block.header()));
    EXPECT_EQ(header.height(), h);
  }
  auto ack = client_->Submit(Anchor(3, 3));
  ASSERT_TRUE(ack.ok());
  ASSERT_TRUE(reader->Read(&block));
  tds::BlockHeader header;
  ASSERT_TRUE(header.ParseFromString(block.header()));
  EXPECT_EQ(header.height(), ack->height());
  ASSERT_EQ(block.entries_size(), 1);

  ctx.TryCancel();
  while (reader->Read(&block)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ServerTest, ShutdownEndsOpenStreams) {
  Start();
  grpc::ClientContext ctx;
  tds::StreamBlocksRequest request;
  request.set_from_height(100);  // beyond the tip: the stream idles
  auto reader = stub_->StreamBlocks(&ctx, request);
  std::thread stopper([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    server_->Shutdown();
  });
  tds::Block block;
  EXPECT_FALSE(reader->Read(&block));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  stopper.join();
}

// Shutdown under load: every submission gets an answer, and every acknowledged one is in the
// store when it is reopened.
TEST_F(ServerTest, AcknowledgedSubmissionsSurviveShutdownUnderLoad) {
  Start();
  constexpr int kCalls = 2000;
  std::vector<std::string> envelopes;
  for (int i = 0; i < kCalls; ++i) envelopes.push_back(Anchor(static_cast<uint8_t>(i), i + 1));
  struct Call {
    grpc::ClientContext ctx;
    tds::SubmitRequest request;
    tds::SubmitResponse response;
  };
  std::vector<Call> calls(kCalls);
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, acked = 0;
  for (int i = 0; i < kCalls; ++i) {
    calls[i].request.set_envelope(envelopes[i]);
    stub_->async()->Submit(&calls[i].ctx, &calls[i].request, &calls[i].response,
                           [&](grpc::Status s) {
                             std::lock_guard<std::mutex> lock(mu);
                             ++answered;
                             if (s.ok()) ++acked;
                             cv.notify_all();
                           });
  }
  {
    // Shut down mid-stream: some answered, most still queued in the ledger or in transit.
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return answered >= 100; });
  }
  server_->Shutdown();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return answered == kCalls; });
  }
  server_.reset();
  Start();
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_GE(status->log_size(), static_cast<uint64_t>(acked));
  EXPECT_GT(acked, 0);
}

TEST_F(ServerTest, ReopensTheSameStoreAfterShutdown) {
  Start();
  ASSERT_TRUE(client_->Submit(Anchor(1, 1)).ok());
  server_->Shutdown();
  server_.reset();
  Start();
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->log_size(), 1u);
}

TEST(ConfigTest, FinalizeFillsDefaultsAndNamesMissingOptions) {
  tds::NodeConfig config;
  absl::Status missing = FinalizeConfig(&config);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("--data"));
  config.set_data("/d");
  config.set_genesis("/g");
  config.set_key("/k");
  config.set_insecure_dev(true);
  ASSERT_TRUE(FinalizeConfig(&config).ok());
  EXPECT_EQ(config.listen(), kDefaultListen);
  EXPECT_EQ(config.ledger().max_block_txs(), kDefaultMaxBlockTxs);
  EXPECT_TRUE(config.ledger().sync());
  config.set_listen("localhost");
  EXPECT_FALSE(FinalizeConfig(&config).ok());
}

TEST(ConfigTest, SplitHostPortAcceptsBracketedIpv6AndRejectsJunk) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("[::1]:7400", &host, &port).ok());
  EXPECT_EQ(host, "[::1]");
  EXPECT_EQ(port, 7400);
  EXPECT_FALSE(SplitHostPort("::1:7400", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("host:99999", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("host:", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort(":7400", &host, &port).ok());
}

TEST(ClientTest, RefusesToConnectWithoutTlsFilesOrInsecureDev) {
  sdk::ClientOptions options;
  options.address = "127.0.0.1:1";
  auto client = sdk::LedgerClient::Connect(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("--tls-cert"));
}

}  // namespace
}  // namespace tds::node
