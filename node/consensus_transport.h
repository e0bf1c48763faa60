#pragma once
// The validator-to-validator transport of BFT consensus (proto/consensus.proto, ConsensusPeer):
// each validator keeps one long-lived client stream to every other validator and writes its
// messages on it in order; it serves the same service for the streams the others open to it.
//
// Delivery is best effort. Consensus tolerates loss, duplication across reconnects and delay,
// so the transport never blocks its caller: a full outbound queue sheds its oldest message
// (votes, timeouts and the like before proposals), a stream that breaks is reopened with capped
// exponential backoff, and a peer that floods is throttled without slowing the others.
//
// Who sent a message is decided per stream, never by the message: over mutual TLS it is the
// member the TLS gate found for the client certificate (node/tls.h), which must be a validator
// of the set; over plaintext (--insecure-dev, and only when the transport was built for it) the
// client names itself in the `x-tds-validator` metadata.
//
// Fault injection (Isolate/Heal) drops all traffic to and from chosen validators, for operators
// testing liveness under partitions; tdsd exposes it only with --allow-fault-injection.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "proto/consensus.pb.h"

namespace tds::node {

// The metadata key a plaintext client names itself with.
inline constexpr char kValidatorMetadataKey[] = "x-tds-validator";

struct TransportOptions {
  // Larger messages are refused in both directions (serialized size). tdsd's gRPC receive limit
  // (node/server.h, kMaxMessageBytes) should be at least this.
  size_t max_message_bytes = 64 << 20;
  // Per-peer outbound queue. When full, the oldest message that is not a proposal is dropped
  // (the oldest proposal if all are).
  size_t queue_limit = 10000;
  // Inbound token bucket per peer: refilled at peer_msgs_per_s, holding at most peer_burst.
  // A message finding the bucket empty is dropped and counted (throttled_in).
  double peer_msgs_per_s = 20000;
  double peer_burst = 40000;
  // Backoff between attempts to (re)open a stream, doubling from min to max. Also the gRPC
  // channel's connection backoff.
  int64_t reconnect_min_ms = 50;
  int64_t reconnect_max_ms = 2000;
  // Client keepalive pings, so that a stream to a vanished host fails and is reopened instead
  // of hanging (a ping unanswered for max(keepalive_ms, 5 s) ends it). 0 disables. The serving
  // side must tolerate them: ConfigureServer.
  int64_t keepalive_ms = 20000;
};

class ConsensusTransport {
 public:
  // A message from peer `from` (its index in peer_ids). Runs on gRPC threads: in order
  // within one stream, concurrently across streams (other senders, or a sender's old and new
  // stream around a reconnect); must be quick and thread-safe.
  using Handler = std::function<void(size_t from, tds::ConsensusMessage msg)>;

  // peer_ids: the member ids of every replica this node exchanges consensus messages with
  // (the validators of any epoch, and members that follow or will validate), this node at
  // `self`. addresses[i]: HOST:PORT of peer i ("" for `self`, or for a peer not dialled).
  // creds: TLS channel credentials (common/grpc_tls.h), or insecure ones with insecure_dev.
  // REQUIRES: addresses.size() == peer_ids.size(); self < peer_ids.size().
  ConsensusTransport(std::vector<std::string> peer_ids, size_t self,
                     std::vector<std::string> addresses,
                     std::shared_ptr<grpc::ChannelCredentials> creds, bool insecure_dev,
                     TransportOptions opts, Handler handler);

  // Stop(). REQUIRES: the gRPC server serving service() has shut down, or never started.
  ~ConsensusTransport();

  ConsensusTransport(const ConsensusTransport&) = delete;
  ConsensusTransport& operator=(const ConsensusTransport&) = delete;

  // The ConsensusPeer service to register on the node's gRPC server. It serves inbound streams
  // (the handler may run) from the moment the server runs, Start or not, until Stop; streams
  // arriving later are refused (UNAVAILABLE).
  grpc::Service* service();
  // Server settings the transport needs: tolerance of its peers' keepalive pings.
  static void ConfigureServer(grpc::ServerBuilder* builder, const TransportOptions& opts);

  // Starts one sender thread per dialled peer; messages sent before wait in the queues.
  void Start();
  // Ends the outbound streams (queued messages are dropped) and the inbound ones, and waits
  // until no handler runs. Idempotent.
  void Stop();

  // Queues `msg` for peer `to`, or for every other peer with to == -1. Never
  // blocks. Messages to an isolated peer, a peer without an address, or over the size limit
  // are dropped (dropped_out); a `to` of self or out of range is logged and ignored.
  void Send(int to, const tds::ConsensusMessage& msg);

  // Fault injection: drop every message to and from these peers (member ids) until Heal(), in
  // addition to any already isolated. InvalidArgument, changing nothing, if an id is not a peer
  // or is this node itself.
  absl::Status Isolate(const std::set<std::string>& peer_ids);
  void Heal();
  std::set<std::string> isolated() const;

  struct PeerStats {
    bool connected = false;     // an outbound stream is open and its channel is ready
    uint64_t connects = 0;      // outbound streams opened so far
    uint64_t sent = 0;          // messages written to the outbound stream
    uint64_t received = 0;      // inbound messages handed to the handler
    uint64_t dropped_out = 0;   // outbound: queue overflow, isolation, size, broken stream
    uint64_t throttled_in = 0;  // inbound: over the peer's token bucket
    uint64_t refused_in = 0;    // inbound: over max_message_bytes
    uint64_t isolated_in = 0;   // inbound: dropped while the peer was isolated
  };
  // Indexed by peer; the entry for self stays zero.
  std::vector<PeerStats> stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tds::node
