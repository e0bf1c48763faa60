// The consensus transport over real gRPC on 127.0.0.1: validators in one process, each with its
// own server and transport; plaintext (--insecure-dev identities) except for the TLS case, which
// runs tdsd's TLS gate. Every wait is for a condition, with a generous deadline.

#include "node/consensus_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/file.h"
#include "common/grpc_tls.h"
#include "common/status_macros.h"
#include "common/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/application.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"
#include "node/admin_service.h"
#include "node/peer_identity.h"
#include "node/tls.h"
#include "proto/consensus.grpc.pb.h"
#include "sdk/query_client.h"

namespace tds::node {
namespace {

using ledger::testing::KeyFromByte;
using ledger::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Msg = tds::ConsensusMessage;
using Stats = ConsensusTransport::PeerStats;

// A port nothing listens on now, so a restarted validator can come back at the same address.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Polls `done` until it holds or a minute passes; true if it held.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

Msg Vote(uint64_t round) {
  Msg m;
  m.mutable_vote()->mutable_block()->set_round(round);
  return m;
}

Msg Proposal(uint64_t round) {
  Msg m;
  m.mutable_proposal()->mutable_block()->set_round(round);
  return m;
}

Msg Big(size_t bytes) {
  Msg m;
  m.mutable_txs()->add_entries(std::string(bytes, 'x'));
  return m;
}

uint64_t RoundOf(const Msg& m) {
  return m.has_proposal() ? m.proposal().block().round() : m.vote().block().round();
}

// What one validator's handler received.
class Inbox {
 public:
  void Add(size_t from, Msg m) {
    std::lock_guard<std::mutex> l(mu_);
    got_[from].push_back(std::move(m));
  }
  // Rounds received from `from`, in arrival order.
  std::vector<uint64_t> Rounds(size_t from) const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<uint64_t> out;
    auto it = got_.find(from);
    if (it != got_.end()) {
      for (const Msg& m : it->second) out.push_back(RoundOf(m));
    }
    return out;
  }
  size_t Count(size_t from) const { return Rounds(from).size(); }

 private:
  mutable std::mutex mu_;
  std::map<size_t, std::vector<Msg>> got_;
};

// n validators "v0".."v<n-1>" at fixed local ports, each a gRPC server and a transport.
class Cluster {
 public:
  struct Security {
    std::function<std::shared_ptr<grpc::ServerCredentials>(size_t)> server;
    std::function<std::shared_ptr<grpc::ChannelCredentials>(size_t)> client;
    bool insecure_dev = true;
  };

  static Security Plaintext() {
    return {[](size_t) { return grpc::InsecureServerCredentials(); },
            [](size_t) { return grpc::InsecureChannelCredentials(); }, true};
  }

  explicit Cluster(size_t n, Security security = Plaintext())
      : security_(std::move(security)), options_(n), nodes_(n) {
    for (size_t i = 0; i < n; ++i) {
      ids_.push_back("v" + std::to_string(i));
      addresses_.push_back("127.0.0.1:" + std::to_string(FreePort()));
    }
  }

  ~Cluster() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].transport != nullptr) nodes_[i].transport->Stop();
    }
    for (size_t i = 0; i < nodes_.size(); ++i) Kill(i);
  }

  // Options of validator i's transport, for Launch.
  TransportOptions& options(size_t i) { return options_[i]; }

  // Starts validator i's server and, if `start`, its transport. A fresh inbox.
  void Launch(size_t i, bool start = true) {
    Node& node = nodes_[i];
    node.inbox = std::make_shared<Inbox>();
    std::vector<std::string> addresses = addresses_;
    addresses[i] = "";
    std::shared_ptr<Inbox> inbox = node.inbox;
    node.transport = std::make_unique<ConsensusTransport>(
        ids_, i, addresses, security_.client(i), security_.insecure_dev, options_[i],
        [inbox](size_t from, Msg m) { inbox->Add(from, std::move(m)); });
    grpc::ServerBuilder builder;
    builder.AddListeningPort(addresses_[i], security_.server(i));
    builder.RegisterService(node.transport->service());
    ConsensusTransport::ConfigureServer(&builder, options_[i]);
    node.server = builder.BuildAndStart();
    ASSERT_NE(node.server, nullptr) << addresses_[i];
    if (start) node.transport->Start();
  }

  void LaunchAll() {
    // Every server runs before any transport dials.
    for (size_t i = 0; i < nodes_.size(); ++i) Launch(i, /*start=*/false);
    for (size_t i = 0; i < nodes_.size(); ++i) nodes_[i].transport->Start();
  }

  // Validator i's process ends: its server first, then its transport.
  void Kill(size_t i) {
    Node& node = nodes_[i];
    if (node.server != nullptr) {
      node.server->Shutdown(std::chrono::system_clock::now());
      node.server->Wait();
      node.server.reset();
    }
    node.transport.reset();
  }

  ConsensusTransport& at(size_t i) { return *nodes_[i].transport; }
  const Inbox& inbox(size_t i) const { return *nodes_[i].inbox; }
  Stats stats(size_t i, size_t peer) const { return nodes_[i].transport->stats()[peer]; }
  const std::string& address(size_t i) const { return addresses_[i]; }

 private:
  struct Node {
    std::unique_ptr<ConsensusTransport> transport;
    std::unique_ptr<grpc::Server> server;
    std::shared_ptr<Inbox> inbox;
  };

  const Security security_;
  std::vector<std::string> ids_;
  std::vector<std::string> addresses_;
  std::vector<TransportOptions> options_;
  std::vector<Node> nodes_;
};

// A hand-written client stream: writes `msgs` to `address` naming itself `claimed` (plaintext
// metadata) and returns the server's verdict.
grpc::Status RawSend(const std::string& address, std::shared_ptr<grpc::ChannelCredentials> creds,
                     const std::optional<std::string>& claimed, const std::vector<Msg>& msgs,
                     tds::SendSummary* summary) {
  auto stub = tds::ConsensusPeer::NewStub(grpc::CreateChannel(address, std::move(creds)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (claimed) ctx.AddMetadata(kValidatorMetadataKey, *claimed);
  auto writer = stub->Send(&ctx, summary);
  for (const Msg& m : msgs) {
    if (!writer->Write(m)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

grpc::Status RawSend(const std::string& address, const std::optional<std::string>& claimed,
                     const std::vector<Msg>& msgs, tds::SendSummary* summary) {
  return RawSend(address, grpc::InsecureChannelCredentials(), claimed, msgs, summary);
}

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t r = from; r <= to; ++r) out.push_back(r);
  return out;
}

TEST(ConsensusTransportTest, ValidatorsExchangeMessagesInOrder) {
  Cluster c(3);
  c.LaunchAll();
  constexpr uint64_t kCount = 300;
  for (uint64_t r = 1; r <= kCount; ++r) {
    for (size_t i = 0; i < 3; ++i) c.at(i).Send(-1, r % 7 == 0 ? Proposal(r) : Vote(r));
  }
  for (size_t to = 0; to < 3; ++to) {
    for (size_t from = 0; from < 3; ++from) {
      if (from == to) continue;
      ASSERT_TRUE(WaitFor([&] { return c.inbox(to).Count(from) >= kCount; }))
          << from << " -> " << to << ": " << c.inbox(to).Count(from);
      EXPECT_EQ(c.inbox(to).Rounds(from), Range(1, kCount)) << from << " -> " << to;
      // The sender counts a write when it returns, which may be after delivery.
      EXPECT_TRUE(WaitFor([&] { return c.stats(from, to).sent == kCount; }));
      EXPECT_EQ(c.stats(to, from).received, kCount);
      EXPECT_EQ(c.stats(from, to).dropped_out, 0u);
      EXPECT_TRUE(c.stats(from, to).connected);
    }
  }
  EXPECT_EQ(c.inbox(0).Count(0), 0u);
  EXPECT_EQ(c.stats(0, 0).sent, 0u);
}

TEST(ConsensusTransportTest, RestartedPeerIsRedialledAndDeliveryResumes) {
  Cluster c(3);
  c.LaunchAll();
  c.at(0).Send(1, Vote(1));
  ASSERT_TRUE(WaitFor([&] { return c.inbox(1).Count(0) == 1; }));

  c.Kill(1);
  ASSERT_TRUE(WaitFor([&] { return !c.stats(0, 1).connected; }));
  c.at(0).Send(1, Vote(2));  // queued or lost: consensus does not rely on it
  c.Launch(1);

  uint64_t round = 3;
  ASSERT_TRUE(WaitFor([&] {
    c.at(0).Send(1, Vote(round++));
    return c.inbox(1).Count(0) > 0;
  }));
  const std::vector<uint64_t> got = c.inbox(1).Rounds(0);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_GE(c.stats(0, 1).connects, 2u);
  // The restarted validator dials out too.
  c.at(1).Send(0, Vote(1000));
  ASSERT_TRUE(WaitFor([&] { return c.inbox(0).Count(1) == 1; }));
  EXPECT_THAT(c.inbox(0).Rounds(1), ElementsAre(1000));
}

TEST(ConsensusTransportTest, IsolatedPeerGetsNothingAndSendsNothingUntilHealed) {
  Cluster c(3);
  c.LaunchAll();
  ASSERT_TRUE(c.at(0).Isolate({"v1"}).ok());
  EXPECT_EQ(c.at(0).isolated(), std::set<std::string>{"v1"});

  for (uint64_t r = 1; r <= 10; ++r) {
    c.at(0).Send(-1, Vote(r));  // to v1: dropped at v0
    c.at(1).Send(0, Vote(r));   // from v1: dropped on arrival at v0
  }
  // v2 is unaffected.
  ASSERT_TRUE(WaitFor([&] { return c.inbox(2).Count(0) == 10; }));
  // Everything v1 sent has reached v0 and been dropped there.
  ASSERT_TRUE(WaitFor([&] { return c.stats(0, 1).isolated_in == 10; }));
  EXPECT_EQ(c.stats(0, 1).received, 0u);
  EXPECT_GE(c.stats(0, 1).dropped_out, 10u);

  c.at(0).Heal();
  EXPECT_TRUE(c.at(0).isolated().empty());
  c.at(0).Send(1, Vote(11));
  c.at(1).Send(0, Vote(11));
  // Each link is one ordered stream: round 11 arriving alone proves rounds 1-10 were dropped,
  // not delayed.
  ASSERT_TRUE(WaitFor([&] { return c.inbox(1).Count(0) == 1 && c.inbox(0).Count(1) == 1; }));
  EXPECT_THAT(c.inbox(1).Rounds(0), ElementsAre(11));
  EXPECT_THAT(c.inbox(0).Rounds(1), ElementsAre(11));
}

TEST(ConsensusTransportTest, IsolateRefusesUnknownIdsAndSelf) {
  Cluster c(3);
  c.LaunchAll();
  absl::Status unknown = c.at(0).Isolate({"v1", "mallory"});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("'mallory' is not a consensus peer"));
  absl::Status self = c.at(0).Isolate({"v0"});
  EXPECT_EQ(self.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(c.at(0).isolated().empty());  // nothing changed, v1 included

  ASSERT_TRUE(c.at(0).Isolate({"v1"}).ok());
  ASSERT_TRUE(c.at(0).Isolate({"v2"}).ok());
  EXPECT_EQ(c.at(0).isolated(), (std::set<std::string>{"v1", "v2"}));
}

TEST(ConsensusTransportTest, FloodingPeerIsThrottledWhileOthersGetThrough) {
  Cluster c(3);
  c.options(0).peer_msgs_per_s = 5;
  c.options(0).peer_burst = 20;
  c.LaunchAll();
  constexpr uint64_t kFlood = 2000;
  for (uint64_t r = 1; r <= kFlood; ++r) c.at(1).Send(0, Vote(r));
  for (uint64_t r = 1; r <= 10; ++r) c.at(2).Send(0, Vote(r));

  ASSERT_TRUE(WaitFor([&] {
    const Stats s = c.stats(0, 1);
    return s.received + s.throttled_in == kFlood;
  }));
  ASSERT_TRUE(WaitFor([&] { return c.inbox(0).Count(2) == 10; }));
  EXPECT_GT(c.stats(0, 1).throttled_in, 0u);
  EXPECT_LT(c.inbox(0).Count(1), kFlood);
  EXPECT_EQ(c.stats(0, 2).throttled_in, 0u);
  EXPECT_EQ(c.inbox(0).Rounds(2), Range(1, 10));
}

TEST(ConsensusTransportTest, StreamsFromUnknownOrUnnamedSendersAreRefused) {
  Cluster c(2);
  c.LaunchAll();
  tds::SendSummary summary;
  grpc::Status mallory = RawSend(c.address(0), "mallory", {Vote(1)}, &summary);
  EXPECT_EQ(mallory.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(mallory.error_message(), HasSubstr("'mallory' is not a consensus peer"));

  grpc::Status unnamed = RawSend(c.address(0), std::nullopt, {Vote(1)}, &summary);
  EXPECT_EQ(unnamed.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unnamed.error_message(), HasSubstr(kValidatorMetadataKey));

  grpc::Status self = RawSend(c.address(0), "v0", {Vote(1)}, &summary);
  EXPECT_EQ(self.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The real validator is accepted over the same kind of stream.
  grpc::Status v1 = RawSend(c.address(0), "v1", {Vote(7)}, &summary);
  EXPECT_TRUE(v1.ok()) << v1.error_message();
  EXPECT_EQ(summary.accepted(), 1u);
  EXPECT_THAT(c.inbox(0).Rounds(1), ElementsAre(7));
}

TEST(ConsensusTransportTest, PlaintextNamesAreAcceptedOnlyInInsecureDevMode) {
  Cluster::Security security = Cluster::Plaintext();
  security.insecure_dev = false;  // a transport expecting TLS, reached over plaintext
  Cluster c(2, security);
  c.LaunchAll();
  tds::SendSummary summary;
  grpc::Status claimed = RawSend(c.address(0), "v1", {Vote(1)}, &summary);
  EXPECT_EQ(claimed.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(claimed.error_message(), HasSubstr("client certificate"));
  EXPECT_EQ(c.stats(0, 1).received, 0u);
  EXPECT_EQ(c.inbox(0).Count(1), 0u);
}

TEST(ConsensusTransportTest, OversizedMessagesAreRefusedBothWays) {
  Cluster c(2);
  c.options(0).max_message_bytes = 1024;
  c.options(1).max_message_bytes = 1024;
  c.LaunchAll();

  // Inbound: the big one is refused, the stream goes on.
  tds::SendSummary summary;
  grpc::Status s = RawSend(c.address(0), "v1", {Big(4096), Vote(2)}, &summary);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(summary.accepted(), 1u);
  EXPECT_EQ(summary.dropped(), 1u);
  EXPECT_EQ(c.stats(0, 1).refused_in, 1u);
  EXPECT_THAT(c.inbox(0).Rounds(1), ElementsAre(2));

  // Outbound: never queued.
  c.at(1).Send(0, Big(4096));
  EXPECT_EQ(c.stats(1, 0).dropped_out, 1u);
  c.at(1).Send(0, Vote(3));
  ASSERT_TRUE(WaitFor([&] { return c.inbox(0).Count(1) == 2; }));
  EXPECT_THAT(c.inbox(0).Rounds(1), ElementsAre(2, 3));
  EXPECT_TRUE(WaitFor([&] { return c.stats(1, 0).sent == 1; }));
}

TEST(ConsensusTransportTest, FullQueueShedsOldestNonProposalFirst) {
  Cluster c(2);
  c.options(0).queue_limit = 3;
  c.Launch(1);
  c.Launch(0, /*start=*/false);  // nothing leaves v0 until Start
  c.at(0).Send(1, Proposal(1));
  c.at(0).Send(1, Vote(2));
  c.at(0).Send(1, Vote(3));
  c.at(0).Send(1, Vote(4));  // drops 2
  c.at(0).Send(1, Vote(5));  // drops 3
  EXPECT_EQ(c.stats(0, 1).dropped_out, 2u);
  c.at(0).Start();
  ASSERT_TRUE(WaitFor([&] { return c.inbox(1).Count(0) == 3; }));
  EXPECT_THAT(c.inbox(1).Rounds(0), ElementsAre(1, 4, 5));
}

TEST(ConsensusTransportTest, IdleStreamsSurviveKeepalivePings) {
  Cluster c(2);
  c.options(0).keepalive_ms = 20;
  c.options(1).keepalive_ms = 20;
  c.LaunchAll();
  c.at(0).Send(1, Vote(1));
  ASSERT_TRUE(WaitFor([&] { return c.inbox(1).Count(0) == 1; }));
  // Dozens of pings on an idle stream; a server intolerant of them would close the link
  // (GOAWAY too_many_pings) and the next send would need a second stream.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  c.at(0).Send(1, Vote(2));
  ASSERT_TRUE(WaitFor([&] { return c.inbox(1).Count(0) == 2; }));
  EXPECT_EQ(c.stats(0, 1).connects, 1u);
}

// Mutual TLS: identities come from certificates through tdsd's TLS gate (node/tls.h).
class ConsensusTransportTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CertifiedKey> ca = CreateCertificateAuthority("TDS test consortium", 2);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ASSERT_TRUE(WriteFileExclusive(dir_.Sub("ca.crt"), ca->cert_pem, 0644).ok());
    for (const std::string id : {"v0", "v1", "v2", "bank", "mallory"}) {
      absl::StatusOr<CertifiedKey> c = IssueCertificate(*ca, {id, {"127.0.0.1"}, 2});
      ASSERT_TRUE(c.ok()) << c.status();
      ASSERT_TRUE(WriteFileExclusive(dir_.Sub(id + ".key"), c->key_pem, 0600).ok());
      ASSERT_TRUE(WriteFileExclusive(dir_.Sub(id + ".crt"), c->cert_pem, 0644).ok());
      absl::StatusOr<TlsMaterial> m =
          LoadTlsMaterial({dir_.Sub(id + ".crt"), dir_.Sub(id + ".key"), dir_.Sub("ca.crt")});
      ASSERT_TRUE(m.ok()) << m.status();
      material_[id] = *std::move(m);
    }
    // Members matched by certificate CN (no pins). mallory's certificate is the CA's, but she
    // is no member; bank is a member but no validator.
    std::vector<std::string> specs;
    uint8_t b = 1;
    for (const std::string id : {"v0", "v1", "v2"}) {
      specs.push_back(id + ":validator:" + KeyFromByte(b++)->public_key().hex());
    }
    specs.push_back("bank:consumer:" + KeyFromByte(b)->public_key().hex());
    absl::StatusOr<std::string> json = ledger::BuildGenesisJson("tds-transport-test", specs);
    ASSERT_TRUE(json.ok()) << json.status();
    absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Parse(*json, "genesis");
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    ledger::LedgerOptions options;
    options.data_dir = dir_.Sub("data");
    options.follower = true;  // only its membership is used
    absl::StatusOr<std::unique_ptr<ledger::Ledger>> opened =
        ledger::Ledger::Open(options, *std::move(genesis), KeyFromByte(1), &app_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ledger_ = *std::move(opened);
    absl::StatusOr<std::shared_ptr<PeerIdentity>> identity = PeerIdentity::Create(ledger_.get());
    ASSERT_TRUE(identity.ok()) << identity.status();
    identity_ = *std::move(identity);
  }

  Cluster::Security Tls() {
    return {
        [this](size_t i) {
          auto creds = TlsServerCredentials(material_.at("v" + std::to_string(i)), identity_);
          EXPECT_TRUE(creds.ok()) << creds.status();
          return *creds;
        },
        [this](size_t i) { return TlsChannelCredentials(material_.at("v" + std::to_string(i))); },
        false};
  }

  TempDir dir_;
  std::map<std::string, TlsMaterial> material_;
  ledger::Application app_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::shared_ptr<PeerIdentity> identity_;
};

TEST_F(ConsensusTransportTlsTest, CertificatesIdentifyValidatorsAndRefuseOthers) {
  Cluster c(3, Tls());
  c.LaunchAll();
  for (size_t i = 0; i < 3; ++i) c.at(i).Send(-1, Vote(10 + i));
  for (size_t to = 0; to < 3; ++to) {
    for (size_t from = 0; from < 3; ++from) {
      if (from == to) continue;
      ASSERT_TRUE(WaitFor([&] { return c.inbox(to).Count(from) == 1; })) << from << "->" << to;
      EXPECT_THAT(c.inbox(to).Rounds(from), ElementsAre(10 + from));
    }
  }

  tds::SendSummary summary;
  // A member that is no validator, even claiming a validator's name in metadata.
  grpc::Status bank =
      RawSend(c.address(0), TlsChannelCredentials(material_.at("bank")), "v1", {Vote(1)}, &summary);
  EXPECT_EQ(bank.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(bank.error_message(), HasSubstr("member 'bank' is not a consensus peer"));
  // Not a member at all: the TLS gate refuses before the transport sees the call.
  grpc::Status mallory = RawSend(c.address(0), TlsChannelCredentials(material_.at("mallory")),
                                 std::nullopt, {Vote(1)}, &summary);
  EXPECT_EQ(mallory.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(c.inbox(0).Count(1), 1u);
}

TEST_F(ConsensusTransportTlsTest, AdminInjectFaultIsForTheOperatorOfAnEnabledNode) {
  Cluster c(3, Tls());
  c.LaunchAll();
  ConsensusTransport* transport = &c.at(0);
  NodeFacts facts;
  // What tdsd wires with --allow-fault-injection.
  facts.inject_fault =
      [transport](bool heal,
                  const std::set<std::string>& isolate) -> absl::StatusOr<std::set<std::string>> {
    if (heal) {
      transport->Heal();
    } else {
      TDS_RETURN_IF_ERROR(transport->Isolate(isolate));
    }
    return transport->isolated();
  };
  AdminService enabled(ledger_.get(), std::move(facts), QueryServiceOptions());
  AdminService disabled(ledger_.get(), NodeFacts(), QueryServiceOptions());
  ASSERT_EQ(ledger_->node_id(), "v0");

  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  grpc::ServerContext plaintext;  // no call, no certificate: `auth` decides
  auto inject = [&](const AdminService& admin, const std::string& who, uint8_t key,
                    std::vector<std::string> isolate,
                    bool heal) -> absl::StatusOr<std::vector<std::string>> {
    tds::InjectFaultRequest request;
    if (!who.empty()) request.set_auth(sdk::BuildQueryAuth(*KeyFromByte(key), who, now_ms()));
    for (const std::string& id : isolate) request.add_isolate(id);
    request.set_heal(heal);
    tds::InjectFaultResponse response;
    TDS_RETURN_IF_ERROR(admin.DoInjectFault(plaintext, request, &response));
    return std::vector<std::string>(response.isolated().begin(), response.isolated().end());
  };
  const auto expect_code = [](const absl::Status& s, absl::StatusCode code,
                              const std::string& text) {
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(text));
  };

  expect_code(inject(disabled, "v0", 1, {"v1"}, false).status(),
              absl::StatusCode::kFailedPrecondition, "start tdsd with --allow-fault-injection");
  expect_code(inject(enabled, "bank", 4, {"v1"}, false).status(),
              absl::StatusCode::kPermissionDenied,
              "for this node's operator (member 'v0'), not member 'bank'");
  expect_code(inject(enabled, "v1", 2, {"v2"}, false).status(), absl::StatusCode::kPermissionDenied,
              "not member 'v1'");
  expect_code(inject(enabled, "", 0, {"v1"}, false).status(), absl::StatusCode::kUnauthenticated,
              "operator");
  EXPECT_TRUE(transport->isolated().empty());

  absl::StatusOr<std::vector<std::string>> isolated = inject(enabled, "v0", 1, {"v1"}, false);
  ASSERT_TRUE(isolated.ok()) << isolated.status();
  EXPECT_THAT(*isolated, ElementsAre("v1"));
  EXPECT_EQ(transport->isolated(), std::set<std::string>{"v1"});
  expect_code(inject(enabled, "v0", 1, {"v2", "nobody"}, false).status(),
              absl::StatusCode::kInvalidArgument, "'nobody' is not a consensus peer");
  expect_code(inject(enabled, "v0", 1, {"v2"}, true).status(), absl::StatusCode::kInvalidArgument,
              "not both");
  EXPECT_THAT(*inject(enabled, "v0", 1, {}, false), ElementsAre("v1"));  // a report
  EXPECT_THAT(*inject(enabled, "v0", 1, {}, true), ElementsAre());
  EXPECT_TRUE(transport->isolated().empty());
}

}  // namespace
}  // namespace tds::node
