#include "node/consensus_transport.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/security/auth_context.h"
#include "node/tls.h"
#include "proto/consensus.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace tds::node {
namespace {

using Clock = std::chrono::steady_clock;
using MessagePtr = std::shared_ptr<const tds::ConsensusMessage>;

bool IsProposal(const tds::ConsensusMessage& m) {
  return m.kind_case() == tds::ConsensusMessage::kProposal;
}

// A ping unanswered for this long (or keepalive_ms, if longer) fails the link: shorter would
// take a busy peer for a dead one.
constexpr int64_t kMinKeepaliveTimeoutMs = 5000;

// Whether the n-th occurrence of something is worth a log line: 1, 2, 4, 8, ...
bool LogWorthy(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

class TokenBucket {
 public:
  TokenBucket(double rate, double burst)
      : rate_(rate), burst_(burst), tokens_(burst), last_(Clock::now()) {}

  bool Take() {
    std::lock_guard<std::mutex> l(mu_);
    const Clock::time_point now = Clock::now();
    tokens_ =
        std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double rate_;
  const double burst_;
  std::mutex mu_;
  double tokens_;           // GUARDED_BY(mu_)
  Clock::time_point last_;  // GUARDED_BY(mu_)
};

// The member the TLS gate identified for the call: node/tls.h's CertificateMember, read here
// directly because the transport must not depend on tds_node (which depends on it).
std::optional<std::string> GateMember(const grpc::ServerContextBase& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) return std::nullopt;
  std::vector<grpc::string_ref> values = auth->FindPropertyValues(kMemberIdProperty);
  if (values.empty()) return std::nullopt;
  return std::string(values.front().data(), values.front().size());
}

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

class ConsensusTransport::Impl {
 public:
  Impl(std::vector<std::string> ids, size_t self, std::vector<std::string> addresses,
       std::shared_ptr<grpc::ChannelCredentials> creds, bool insecure_dev, TransportOptions opts,
       Handler handler);

  grpc::Service* service() { return &service_; }
  void Start();
  void Stop();
  void Send(int to, const tds::ConsensusMessage& msg);
  absl::Status Isolate(const std::set<std::string>& peer_ids);
  void Heal();
  std::set<std::string> isolated() const;
  std::vector<PeerStats> stats() const;

 private:
  // One other validator: the outbound link to it and the accounting of what it sends us.
  struct Peer {
    Peer(double rate, double burst) : bucket(rate, burst) {}

    std::string id;
    std::string address;
    std::shared_ptr<grpc::Channel> channel;  // null: not dialled
    std::unique_ptr<tds::ConsensusPeer::Stub> stub;
    std::atomic<bool> isolated{false};
    TokenBucket bucket;

    std::mutex mu;
    std::condition_variable cv;
    std::deque<MessagePtr> queue;           // GUARDED_BY(mu)
    grpc::ClientContext* active = nullptr;  // GUARDED_BY(mu): the open stream, to cancel
    bool open = false;                      // GUARDED_BY(mu)
    std::thread sender;

    std::atomic<uint64_t> connects{0}, sent{0}, received{0}, dropped_out{0}, throttled_in{0},
        refused_in{0}, isolated_in{0};
  };

  class Inbound;
  class Service final : public tds::ConsensusPeer::CallbackService {
   public:
    explicit Service(Impl* impl) : impl_(impl) {}
    grpc::ServerReadReactor<tds::ConsensusMessage>* Send(grpc::CallbackServerContext* ctx,
                                                         tds::SendSummary* summary) override;

   private:
    Impl* const impl_;
  };

  void Enqueue(Peer& peer, const MessagePtr& msg);
  // The sender thread of `peer`: streams until stopped, reopening broken streams.
  void RunSender(Peer& peer);
  // One outbound stream; returns why it ended. *pending is a message a broken stream failed
  // to write, kept for the next stream when the break was the transport's.
  grpc::Status Session(Peer& peer, MessagePtr* pending, bool* wrote);

  // The validator at the other end of an inbound stream, or why it may not send.
  absl::StatusOr<size_t> IdentifySender(const grpc::CallbackServerContext& ctx) const;
  // Accounts for one inbound message and hands it to the handler; false if dropped.
  bool Deliver(size_t from, tds::ConsensusMessage msg);
  // False once stopped: the stream must be refused.
  bool Register(Inbound* stream);
  void Unregister(Inbound* stream);

  const std::vector<std::string> ids_;  // the peers, this replica at self_
  int IndexOf(std::string_view id) const {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) return static_cast<int>(i);
    }
    return -1;
  }
  const size_t self_;
  const bool insecure_dev_;
  const TransportOptions opts_;
  const Handler handler_;
  std::vector<std::unique_ptr<Peer>> peers_;  // by validator index; peers_[self_] unused
  Service service_{this};
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  bool started_ = false;        // GUARDED_BY(mu_)
  bool stopped_ = false;        // GUARDED_BY(mu_): inbound streams are refused
  std::set<Inbound*> inbound_;  // GUARDED_BY(mu_): live inbound streams
  std::condition_variable inbound_done_;
};

// One inbound stream. Lives from the call until gRPC's OnDone; reads one message at a time, so
// one sender's messages reach the handler in order.
class ConsensusTransport::Impl::Inbound final
    : public grpc::ServerReadReactor<tds::ConsensusMessage> {
 public:
  Inbound(Impl* impl, grpc::CallbackServerContext* ctx, tds::SendSummary* summary)
      : impl_(impl), summary_(summary) {
    absl::StatusOr<size_t> from = impl_->IdentifySender(*ctx);
    if (!from.ok()) {
      spdlog::warn("consensus stream from {} refused: {}", ctx->peer(),
                   std::string(from.status().message()));
      FinishOnce(ToGrpc(from.status()));
      return;
    }
    from_ = *from;
    registered_ = impl_->Register(this);
    if (!registered_) {
      FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "validator stopping"));
      return;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (!finished_) StartRead(&msg_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status::OK);
      return;
    }
    const bool accepted = impl_->Deliver(from_, std::move(msg_));
    msg_.Clear();
    std::lock_guard<std::mutex> l(mu_);
    ++(accepted ? accepted_ : dropped_);
    if (!finished_) StartRead(&msg_);
  }

  void OnDone() override {
    if (registered_) impl_->Unregister(this);
    delete this;
  }

  // Every call is finished exactly once: by the end of the client's stream or by Stop().
  void FinishOnce(const grpc::Status& status) {
    std::lock_guard<std::mutex> l(mu_);
    if (finished_) return;
    finished_ = true;
    summary_->set_accepted(accepted_);
    summary_->set_dropped(dropped_);
    Finish(status);
  }

 private:
  Impl* const impl_;
  tds::SendSummary* const summary_;
  size_t from_ = 0;
  bool registered_ = false;
  tds::ConsensusMessage msg_;
  std::mutex mu_;
  bool finished_ = false;  // GUARDED_BY(mu_)
  uint64_t accepted_ = 0;  // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;   // GUARDED_BY(mu_)
};

grpc::ServerReadReactor<tds::ConsensusMessage>* ConsensusTransport::Impl::Service::Send(
    grpc::CallbackServerContext* ctx, tds::SendSummary* summary) {
  return new Inbound(impl_, ctx, summary);
}

ConsensusTransport::Impl::Impl(std::vector<std::string> ids, size_t self,
                               std::vector<std::string> addresses,
                               std::shared_ptr<grpc::ChannelCredentials> creds, bool insecure_dev,
                               TransportOptions opts, Handler handler)
    : ids_(std::move(ids)),
      self_(self),
      insecure_dev_(insecure_dev),
      opts_(opts),
      handler_(std::move(handler)) {
  grpc::ChannelArguments args;
  // The channel's own reconnection follows the transport's backoff, not gRPC's 1 s..120 s.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(opts_.reconnect_min_ms));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(opts_.reconnect_min_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(opts_.reconnect_max_ms));
  if (opts_.keepalive_ms > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(opts_.keepalive_ms));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(std::max<int64_t>(opts_.keepalive_ms, kMinKeepaliveTimeoutMs)));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // The stream may be idle (nothing to send) while the pings must go on.
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  args.SetMaxSendMessageSize(static_cast<int>(opts_.max_message_bytes));
  // One connection per link, as between separate hosts, even when validators share a process.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);

  peers_.reserve(ids_.size());
  for (size_t i = 0; i < ids_.size(); ++i) {
    auto peer = std::make_unique<Peer>(opts_.peer_msgs_per_s, opts_.peer_burst);
    peer->id = ids_.at(i);
    if (i < addresses.size() && i != self_) peer->address = std::move(addresses[i]);
    if (!peer->address.empty()) {
      peer->channel = grpc::CreateCustomChannel(peer->address, creds, args);
      peer->stub = tds::ConsensusPeer::NewStub(peer->channel);
    }
    peers_.push_back(std::move(peer));
  }
}

void ConsensusTransport::Impl::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (started_ || stopped_) return;
  started_ = true;
  for (auto& peer : peers_) {
    if (peer->stub != nullptr)
      peer->sender = std::thread([this, p = peer.get()] { RunSender(*p); });
  }
}

void ConsensusTransport::Impl::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_ = true;
  for (auto& peer : peers_) {
    {
      std::lock_guard<std::mutex> l(peer->mu);
      if (peer->active != nullptr) peer->active->TryCancel();
      peer->dropped_out += peer->queue.size();
      peer->queue.clear();
    }
    peer->cv.notify_all();
  }
  for (auto& peer : peers_) {
    if (peer->sender.joinable()) peer->sender.join();
  }
  // Finishing a stream only schedules its OnDone (user reactors never run it inline), so
  // holding mu_ here cannot deadlock with Unregister.
  std::unique_lock<std::mutex> l(mu_);
  for (Inbound* stream : inbound_) {
    stream->FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "validator stopping"));
  }
  inbound_done_.wait(l, [&] { return inbound_.empty(); });
}

bool ConsensusTransport::Impl::Register(Inbound* stream) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopped_) return false;
  inbound_.insert(stream);
  return true;
}

void ConsensusTransport::Impl::Unregister(Inbound* stream) {
  std::lock_guard<std::mutex> l(mu_);
  inbound_.erase(stream);
  if (inbound_.empty()) inbound_done_.notify_all();
}

void ConsensusTransport::Impl::Send(int to, const tds::ConsensusMessage& msg) {
  const int n = static_cast<int>(peers_.size());
  if (to < -1 || to >= n || to == static_cast<int>(self_)) {
    spdlog::error("consensus: message for validator {} dropped (this is {} of {})", to, self_, n);
    return;
  }
  auto shared = std::make_shared<const tds::ConsensusMessage>(msg);
  const size_t size = shared->ByteSizeLong();
  for (int i = 0; i < n; ++i) {
    if (i == static_cast<int>(self_) || (to != -1 && i != to)) continue;
    Peer& peer = *peers_[i];
    if (size > opts_.max_message_bytes) {
      if (LogWorthy(++peer.dropped_out)) {
        spdlog::error("consensus: {}-byte message for {} exceeds the limit of {} bytes; dropped",
                      size, peer.id, opts_.max_message_bytes);
      }
      continue;
    }
    Enqueue(peer, shared);
  }
}

void ConsensusTransport::Impl::Enqueue(Peer& peer, const MessagePtr& msg) {
  if (peer.stub == nullptr || peer.isolated) {
    ++peer.dropped_out;
    return;
  }
  {
    std::lock_guard<std::mutex> l(peer.mu);
    if (stopping_) {
      ++peer.dropped_out;
      return;
    }
    if (peer.queue.size() >= std::max<size_t>(opts_.queue_limit, 1)) {
      // Proposals carry the transactions; votes and timeouts are re-sent by consensus itself.
      auto victim = std::find_if(peer.queue.begin(), peer.queue.end(),
                                 [](const MessagePtr& m) { return !IsProposal(*m); });
      peer.queue.erase(victim == peer.queue.end() ? peer.queue.begin() : victim);
      if (LogWorthy(++peer.dropped_out)) {
        spdlog::warn("consensus: outbound queue to {} full ({} messages); dropping the oldest",
                     peer.id, opts_.queue_limit);
      }
    }
    peer.queue.push_back(msg);
  }
  peer.cv.notify_one();
}

void ConsensusTransport::Impl::RunSender(Peer& peer) {
  int64_t backoff_ms = opts_.reconnect_min_ms;
  MessagePtr pending;
  bool quiet = false;  // the link is known to be down: retry without a warning each time
  for (;;) {
    bool wrote = false;
    const grpc::Status why = Session(peer, &pending, &wrote);
    if (stopping_) return;
    if (wrote) {
      backoff_ms = opts_.reconnect_min_ms;
      quiet = false;
    }
    if (!quiet) {
      spdlog::warn("consensus stream to {} ({}) ended: {} ({}); retrying", peer.id, peer.address,
                   why.error_message(), static_cast<int>(why.error_code()));
      quiet = true;
    } else {
      spdlog::debug("consensus stream to {} ended: {}", peer.id, why.error_message());
    }
    std::unique_lock<std::mutex> l(peer.mu);
    peer.cv.wait_for(l, std::chrono::milliseconds(backoff_ms), [&] { return stopping_.load(); });
    if (stopping_) return;
    backoff_ms = std::min(backoff_ms * 2, opts_.reconnect_max_ms);
  }
}

grpc::Status ConsensusTransport::Impl::Session(Peer& peer, MessagePtr* pending, bool* wrote) {
  grpc::ClientContext ctx;
  // The call waits for the channel to connect (with the channel's backoff) instead of failing.
  ctx.set_wait_for_ready(true);
  if (insecure_dev_) ctx.AddMetadata(kValidatorMetadataKey, ids_.at(self_));
  {
    std::lock_guard<std::mutex> l(peer.mu);
    if (stopping_) return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
    peer.active = &ctx;
  }
  tds::SendSummary summary;
  // Returns once the stream's headers are sent, i.e. the link is up, or on cancellation.
  std::unique_ptr<grpc::ClientWriter<tds::ConsensusMessage>> writer =
      peer.stub->Send(&ctx, &summary);
  {
    std::lock_guard<std::mutex> l(peer.mu);
    peer.open = !stopping_;
  }
  ++peer.connects;
  for (;;) {
    MessagePtr msg = std::move(*pending);
    pending->reset();
    if (msg == nullptr) {
      std::unique_lock<std::mutex> l(peer.mu);
      peer.cv.wait(l, [&] { return stopping_ || !peer.queue.empty(); });
      if (stopping_) break;
      msg = std::move(peer.queue.front());
      peer.queue.pop_front();
    }
    if (peer.isolated) {
      ++peer.dropped_out;
      continue;
    }
    if (!writer->Write(*msg)) {
      *pending = std::move(msg);
      break;
    }
    ++peer.sent;
    *wrote = true;
  }
  const grpc::Status status = writer->Finish();
  {
    std::lock_guard<std::mutex> l(peer.mu);
    peer.active = nullptr;
    peer.open = false;
  }
  // Retry the unwritten message only after a break of the link; anything else (a refusal)
  // would refuse it again.
  if (*pending != nullptr && (stopping_ || status.error_code() != grpc::StatusCode::UNAVAILABLE)) {
    pending->reset();
    ++peer.dropped_out;
  }
  return status;
}

absl::StatusOr<size_t> ConsensusTransport::Impl::IdentifySender(
    const grpc::CallbackServerContext& ctx) const {
  std::optional<std::string> id = GateMember(ctx);
  if (!id.has_value()) {
    // A plaintext call: the sender's word is all there is, accepted only in development.
    if (!insecure_dev_) {
      return absl::UnauthenticatedError(
          "consensus streams need a validator's client certificate (mutual TLS)");
    }
    const auto& md = ctx.client_metadata();
    auto it = md.find(kValidatorMetadataKey);
    if (it == md.end()) {
      return absl::UnauthenticatedError(absl::StrCat("plaintext consensus stream without `",
                                                     kValidatorMetadataKey, "` metadata"));
    }
    id = std::string(it->second.data(), it->second.size());
  }
  const int index = IndexOf(*id);
  if (index < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("member '", *id, "' is not a consensus peer of this node"));
  }
  if (static_cast<size_t>(index) == self_) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", *id, "' is this validator; it does not send to itself"));
  }
  return static_cast<size_t>(index);
}

bool ConsensusTransport::Impl::Deliver(size_t from, tds::ConsensusMessage msg) {
  Peer& peer = *peers_[from];
  if (peer.isolated) {
    ++peer.isolated_in;
    return false;
  }
  if (msg.ByteSizeLong() > opts_.max_message_bytes) {
    if (LogWorthy(++peer.refused_in)) {
      spdlog::warn("consensus: {} sent a {}-byte message, over the limit of {}; refused", peer.id,
                   msg.ByteSizeLong(), opts_.max_message_bytes);
    }
    return false;
  }
  if (!peer.bucket.Take()) {
    if (LogWorthy(++peer.throttled_in)) {
      spdlog::warn("consensus: {} exceeds {} messages/s; {} dropped so far", peer.id,
                   opts_.peer_msgs_per_s, peer.throttled_in.load());
    }
    return false;
  }
  ++peer.received;
  handler_(from, std::move(msg));
  return true;
}

absl::Status ConsensusTransport::Impl::Isolate(const std::set<std::string>& peer_ids) {
  std::vector<Peer*> chosen;
  for (const std::string& id : peer_ids) {
    const int index = IndexOf(id);
    if (index < 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", id, "' is not a consensus peer"));
    }
    if (static_cast<size_t>(index) == self_) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", id, "' is this validator; name the peers to cut off"));
    }
    chosen.push_back(peers_[index].get());
  }
  for (Peer* peer : chosen) {
    peer->isolated = true;
    std::lock_guard<std::mutex> l(peer->mu);
    peer->dropped_out += peer->queue.size();
    peer->queue.clear();
  }
  if (!chosen.empty()) {
    spdlog::warn("fault injection: isolated from {}", absl::StrJoin(isolated(), ", "));
  }
  return absl::OkStatus();
}

void ConsensusTransport::Impl::Heal() {
  for (auto& peer : peers_) peer->isolated = false;
  spdlog::warn("fault injection: healed");
}

std::set<std::string> ConsensusTransport::Impl::isolated() const {
  std::set<std::string> out;
  for (const auto& peer : peers_) {
    if (peer->isolated) out.insert(peer->id);
  }
  return out;
}

std::vector<ConsensusTransport::PeerStats> ConsensusTransport::Impl::stats() const {
  std::vector<PeerStats> out(peers_.size());
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (i == self_) continue;
    Peer& peer = *peers_[i];
    PeerStats& s = out[i];
    {
      std::lock_guard<std::mutex> l(peer.mu);
      s.connected = peer.open && peer.channel != nullptr &&
                    peer.channel->GetState(false) == GRPC_CHANNEL_READY;
    }
    s.connects = peer.connects;
    s.sent = peer.sent;
    s.received = peer.received;
    s.dropped_out = peer.dropped_out;
    s.throttled_in = peer.throttled_in;
    s.refused_in = peer.refused_in;
    s.isolated_in = peer.isolated_in;
  }
  return out;
}

ConsensusTransport::ConsensusTransport(std::vector<std::string> peer_ids, size_t self,
                                       std::vector<std::string> addresses,
                                       std::shared_ptr<grpc::ChannelCredentials> creds,
                                       bool insecure_dev, TransportOptions opts, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(peer_ids), self, std::move(addresses),
                                   std::move(creds), insecure_dev, opts, std::move(handler))) {}

ConsensusTransport::~ConsensusTransport() { Stop(); }

grpc::Service* ConsensusTransport::service() { return impl_->service(); }

void ConsensusTransport::ConfigureServer(grpc::ServerBuilder* builder,
                                         const TransportOptions& opts) {
  if (opts.keepalive_ms <= 0) return;
  // Peers ping every keepalive_ms even on an idle stream; by default a server answers pings
  // more frequent than every 5 minutes without data with GOAWAY (too_many_pings).
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              static_cast<int>(std::max<int64_t>(opts.keepalive_ms / 2, 1)));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
}

void ConsensusTransport::Start() { impl_->Start(); }
void ConsensusTransport::Stop() { impl_->Stop(); }
void ConsensusTransport::Send(int to, const tds::ConsensusMessage& msg) { impl_->Send(to, msg); }
absl::Status ConsensusTransport::Isolate(const std::set<std::string>& peer_ids) {
  return impl_->Isolate(peer_ids);
}
void ConsensusTransport::Heal() { impl_->Heal(); }
std::set<std::string> ConsensusTransport::isolated() const { return impl_->isolated(); }
std::vector<ConsensusTransport::PeerStats> ConsensusTransport::stats() const {
  return impl_->stats();
}

}  // namespace tds::node
