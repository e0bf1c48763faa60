#include "compute/psi/ecdh_psi.h"

// Wire format (all integers big-endian; R = receiver, S = sender). Every message starts with a
// one-byte tag; a message of the wrong tag, length or count ends the session.
//
//   hello       := 0x01 version:u8 role:u8 output:u8 items:u64 chunk_items:u32     (16 bytes)
//                  version 1; role 0 receiver, 1 sender; output 0 consumer-only, 1 both,
//                  2 size-only; chunk_items in [1, 2^20]
//   r_points    := 0x02 count:u32 point[count]      R -> S: X25519(r, H(x)), R's items in a
//                                                   random order of R's choosing
//   replies     := 0x03 count:u32 sealed[count] seal_tag
//                                                   S -> R: first 16 bytes of X25519(s, point)
//                                                   in r_points order (kSizeOnly: reshuffled),
//                                                   sealed under S's release key (release_key.h:
//                                                   nonce = reply chunk index, AD = the 5 header
//                                                   bytes)
//   s_points    := 0x04 count:u32 point[count]      S -> R: X25519(s, H(y)), S's items in a
//                                                   random order of S's choosing
//   finish      := 0x05 intersection_size:u64 positions:u64                      (17 bytes)
//   positions   := 0x06 count:u32 position:u64[count]   R -> S (kBoth only)
//   key         := 0x07 release_key[32]             S -> R, once S's release gate returned OK
//   point       := 32 bytes, a canonical X25519 u-coordinate (little-endian)
//   sealed      := 16 bytes (an encrypted digest);  seal_tag := 16 bytes (Poly1305)
//
// Session: both send hello, then read the peer's. Unless either set is empty:
//   R streams r_points (n_R items); S answers with replies (n_R items);
//   S streams s_points (n_S items).
// Then S calls its release gate (EcdhPsiOptions::before_release) and, if it returns OK, sends
// key; only now can R open the replies and compare. R sends finish (zeros unless kBoth), and
// for kBoth `positions` values: ascending indices into S's s_points stream whose
// doubly-masked value R holds.
//
// Each stream is cut into chunks of exactly the sending party's chunk_items (announced in its
// hello), the last chunk holding the rest; replies in R's order mirror R's chunks. A receiver
// therefore knows the exact count every chunk must carry, and checks it with the length.

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "compute/protocol_session.h"
#include "compute/psi/match_table.h"
#include "compute/psi/release_key.h"
#include "compute/psi/secure_random.h"
#include "compute/psi/x25519.h"
#include "compute/worker_pool.h"

namespace tds::compute::psi {
namespace {

enum Tag : uint8_t {
  kHello = 0x01,
  kReceiverPoints = 0x02,
  kReplies = 0x03,
  kSenderPoints = 0x04,
  kFinish = 0x05,
  kPositions = 0x06,
  kKey = 0x07,
};

constexpr uint8_t kVersion = 1;
constexpr size_t kHelloBytes = 16;
constexpr size_t kFinishBytes = 17;
constexpr size_t kChunkHeaderBytes = 5;
constexpr size_t kPositionBytes = 8;
constexpr uint32_t kMaxChunkItems = 1 << 20;  // a chunk message stays under 32 MiB
// Positions are kept as uint32 (permutation, match table).
constexpr uint64_t kMaxItems = UINT32_MAX - 1;
// Chunks computing at once per stream: enough that the workers never wait for the next one.
constexpr size_t kWindow = 3;
// Slices per chunk per worker, and the smallest slice worth a task.
constexpr size_t kSlicesPerWorker = 2;
constexpr size_t kMinSlice = 64;

// A new chunk message with its header and room for `count` values of `width` bytes.
std::string NewChunk(Tag tag, uint32_t count, size_t width) {
  std::string m;
  m.reserve(kChunkHeaderBytes + count * width);
  m.push_back(static_cast<char>(tag));
  PutFixed32BE(&m, count);
  m.resize(kChunkHeaderBytes + count * width);
  return m;
}

uint8_t* ChunkValue(std::string& m, size_t i, size_t width) {
  return reinterpret_cast<uint8_t*>(m.data()) + kChunkHeaderBytes + i * width;
}

struct PendingChunk {
  std::shared_ptr<Batch> batch;
  std::shared_ptr<std::string> message;  // the chunk being filled, or the one received
  std::shared_ptr<std::string> digests;  // the doubly-masked digests computed from `message`
  uint64_t first = 0;                    // stream index of the chunk's first item
  uint32_t count = 0;
};

// The chunks of one stream computing on the pool, oldest first. Waits for all of them when
// destroyed, so that on an early return no slice outlives the buffers it writes to.
struct PendingChunks : std::deque<PendingChunk> {
  ~PendingChunks() {
    for (PendingChunk& p : *this) p.batch->Wait().IgnoreError();
  }
};

uint8_t WireRole(PsiRole role) { return role == PsiRole::kReceiver ? 0 : 1; }

uint8_t WireOutput(PsiOutput output) {
  switch (output) {
    case PsiOutput::kConsumerOnly:
      return 0;
    case PsiOutput::kBoth:
      return 1;
    case PsiOutput::kSizeOnly:
      return 2;
  }
  return 0xff;
}

// One party of one session.
class Session : public ProtocolSession {
 public:
  Session(PsiRole role, const std::vector<std::string>& items, const EcdhPsiOptions& options,
          Link& link)
      : ProtocolSession("ecdh psi", RoleName(role), PeerName(role), link),
        role_(role),
        items_(items),
        options_(options) {}

  ~Session() {
    // Slices use key_, items_ and perm_: stop the workers before those go.
    pool_.reset();
  }

  absl::StatusOr<PsiResult> Run();

 private:
  absl::Status CheckOptions() const;
  // Draws perm_, the uniformly random order this party's own points are sent in.
  void ShuffleOwnOrder();
  absl::Status Handshake();
  absl::Status RunReceiver(PsiResult& result);
  absl::Status RunSender(PsiResult& result);

  // Streams this party's own items, hashed and masked, as chunk messages with `tag`, item
  // (*order)[k] at stream position k.
  absl::Status SendOwnPoints(Tag tag, const std::vector<uint32_t>* order, const char* phase);
  // R: reads the n_R sealed reply digests into `sealed` (16 bytes each, in reply order) and
  // their seal tags into `tags` (runs beside SendOwnPoints).
  absl::Status ReceiveReplies(std::string& sealed, std::string& tags);
  // R: masks S's points again as they arrive, writing their digests (in S's stream order)
  // to `digests` (n_S × 16 bytes).
  absl::Status MaskSenderPoints(std::string& digests);
  // R: waits for S's release key and opens the replies with it, in place.
  absl::Status ReceiveKeyAndOpen(std::string& sealed, const std::string& tags);
  absl::Status SendFinish(uint64_t intersection_size,
                          const std::vector<uint64_t>& sender_positions);
  // S: masks R's points again; sends the replies sealed in R's order, or (kSizeOnly) keeps
  // them in `shuffled` for SendShuffledReplies.
  absl::Status ReplyToReceiverPoints(std::string* shuffled);
  absl::Status SendShuffledReplies(std::string& digests);
  // S: seals the payload of reply chunk message `m`, the `index`-th of the reply stream.
  void SealReplyChunk(std::string& m, uint64_t index) const;
  // S: the release gate, then the key.
  absl::Status Release();
  absl::Status ReceiveFinish(PsiResult& result);

  // Checks a chunk message: tag, count == expected, length.
  absl::Status CheckChunk(const std::string& m, Tag tag, size_t width, uint64_t expected,
                          const std::string& what) const;
  // Worker slices. MaskOwnItems writes X25519(key, H(item order[first + i])) as value i of
  // the chunk message `out`, for i in [begin, end). MaskPeerPoints checks the received points
  // [begin, end) of chunk message `in` (stream positions first + i, named after `whose` in
  // errors) and writes the first kDigestBytes of X25519(key, point) to digests + i × 16.
  absl::Status MaskOwnItems(const std::vector<uint32_t>& order, uint64_t first, size_t begin,
                            size_t end, std::string& out) const;
  absl::Status MaskPeerPoints(const std::string& in, const char* whose, uint64_t first,
                              size_t begin, size_t end, uint8_t* digests) const;

  void Progress(const char* phase, uint64_t done, uint64_t total) const {
    if (options_.progress) options_.progress(PsiProgress{phase, done, total});
  }
  size_t Slices() const { return static_cast<size_t>(pool_->size()) * kSlicesPerWorker; }

  const PsiRole role_;
  const std::vector<std::string>& items_;
  const EcdhPsiOptions& options_;

  MaskingKey key_;
  uint64_t peer_items_ = 0;
  uint32_t peer_chunk_ = 0;
  // The order this party's points are sent in (stream position -> item index): uniformly
  // random, so that a position says nothing about the input order (see README, "Leakage").
  std::vector<uint32_t> perm_;
  std::optional<ReleaseKey> release_key_;  // S: seals the replies until the gate opens

  std::unique_ptr<WorkerPool> pool_;  // created by Run(); destroyed first
};

absl::StatusOr<PsiResult> Session::Run() {
  EnsureSodium();
  PsiResult result;
  // Every failure, bad options included, closes the link so that the peer stops too.
  absl::Status status = CheckOptions();
  if (status.ok()) {
    pool_ = std::make_unique<WorkerPool>(options_.threads);
    status = Handshake();
  }
  if (status.ok()) {
    result.peer_items = peer_items_;
    status = role_ == PsiRole::kReceiver ? RunReceiver(result) : RunSender(result);
  }
  if (!status.ok()) return Fail(std::move(status));
  return result;
}

absl::Status Session::CheckOptions() const {
  TDS_RETURN_IF_ERROR(CheckChunkItems(options_.chunk_items, kMaxChunkItems));
  TDS_RETURN_IF_ERROR(CheckItemCount(items_.size(), kMaxItems));
  return CheckThreads(options_.threads);
}

absl::Status Session::CheckChunk(const std::string& m, Tag tag, size_t width, uint64_t expected,
                                 const std::string& what) const {
  TDS_RETURN_IF_ERROR(ExpectTag(m, tag, what));
  if (m.size() < kChunkHeaderBytes) {
    return DataLoss(absl::StrCat(what, ": truncated header (", m.size(), " bytes)"));
  }
  const uint32_t count = DecodeFixed32BE(m.data() + 1);
  if (count != expected) {
    return DataLoss(absl::StrCat(what, ": carries ", count, " items, expected ", expected,
                                 " (chunks are full except the last)"));
  }
  const uint64_t want = kChunkHeaderBytes + uint64_t{count} * width;
  if (m.size() != want) {
    return DataLoss(absl::StrCat(what, ": ", m.size(), " bytes for ", count, " items of ", width,
                                 " bytes, expected ", want));
  }
  return absl::OkStatus();
}

absl::Status Session::MaskOwnItems(const std::vector<uint32_t>& order, uint64_t first, size_t begin,
                                   size_t end, std::string& out) const {
  uint8_t h[kPointBytes];
  for (size_t i = begin; i < end; ++i) {
    const uint32_t item = order[first + i];
    HashToPoint(items_[item], h);
    if (!key_.Mask(h, ChunkValue(out, i, kPointBytes))) {
      // Probability about 2^-250 per item; reported rather than sent.
      return Error(absl::StatusCode::kInternal,
                   absl::StrCat("item ", item, " hashes to a low-order point"));
    }
  }
  return absl::OkStatus();
}

absl::Status Session::MaskPeerPoints(const std::string& in, const char* whose, uint64_t first,
                                     size_t begin, size_t end, uint8_t* digests) const {
  const auto* points = reinterpret_cast<const uint8_t*>(in.data()) + kChunkHeaderBytes;
  uint8_t out[kPointBytes];
  for (size_t i = begin; i < end; ++i) {
    const uint8_t* point = points + i * kPointBytes;
    if (!IsCanonicalPoint(point)) {
      return Error(
          absl::StatusCode::kInvalidArgument,
          absl::StrCat(whose, " point ", first + i, " is not a canonical X25519 u-coordinate"));
    }
    if (!key_.Mask(point, out)) {
      return Error(absl::StatusCode::kInvalidArgument,
                   absl::StrCat(whose, " point ", first + i, " is a low-order point"));
    }
    std::memcpy(digests + i * kDigestBytes, out, kDigestBytes);
  }
  return absl::OkStatus();
}

absl::Status Session::Handshake() {
  std::string hello;
  hello.push_back(static_cast<char>(kHello));
  hello.push_back(static_cast<char>(kVersion));
  hello.push_back(static_cast<char>(WireRole(role_)));
  hello.push_back(static_cast<char>(WireOutput(options_.output)));
  PutFixed64BE(&hello, items_.size());
  PutFixed32BE(&hello, static_cast<uint32_t>(options_.chunk_items));
  TDS_RETURN_IF_ERROR(Send(std::move(hello), "the hello"));

  const std::string what = absl::StrCat("the ", peer(), "'s hello");
  std::string m;
  TDS_RETURN_IF_ERROR(Recv(what, m));
  TDS_RETURN_IF_ERROR(
      ExpectMessage(m, kHello, kHelloBytes, absl::StrCat("hello from the ", peer())));
  const uint8_t version = static_cast<uint8_t>(m[1]);
  const uint8_t role = static_cast<uint8_t>(m[2]);
  const uint8_t output = static_cast<uint8_t>(m[3]);
  const uint64_t items = DecodeFixed64BE(m.data() + 4);
  const uint32_t chunk = DecodeFixed32BE(m.data() + 12);
  if (version != kVersion) {
    return Error(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat("the peer speaks protocol version ", version, ", this party ", kVersion));
  }
  if (role > 1) {
    return DataLoss(absl::StrCat("the peer's hello names an unknown role ", role));
  }
  if (role == WireRole(role_)) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("both parties are ", RoleName(role_), "s"));
  }
  const PsiOutput outputs[] = {PsiOutput::kConsumerOnly, PsiOutput::kBoth, PsiOutput::kSizeOnly};
  if (output >= std::size(outputs)) {
    return Error(absl::StatusCode::kDataLoss,
                 absl::StrCat("the ", peer(), "'s hello names an unknown output mode ", output));
  }
  if (outputs[output] != options_.output) {
    return Error(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat("output mode mismatch: this party asked for ", OutputName(options_.output),
                     ", the ", peer(), " for ", OutputName(outputs[output])));
  }
  if (items > options_.max_peer_items || items > kMaxItems) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("the ", peer(), " announces ", items, " items, over the limit of ",
                              std::min<uint64_t>(options_.max_peer_items, kMaxItems)));
  }
  if (chunk < 1 || chunk > kMaxChunkItems) {
    return DataLoss(absl::StrCat("the ", peer(), "'s chunk size ", chunk, " is outside [1, ",
                                 kMaxChunkItems, "]"));
  }
  peer_items_ = items;
  peer_chunk_ = chunk;
  return absl::OkStatus();
}

absl::Status Session::SendOwnPoints(Tag tag, const std::vector<uint32_t>* order,
                                    const char* phase) {
  const uint64_t n = items_.size();
  const uint64_t chunk = options_.chunk_items;
  PendingChunks pending;
  uint64_t started = 0;
  uint64_t sent = 0;
  while (sent < n) {
    if (failed()) return Error(absl::StatusCode::kCancelled, "session failed");
    if (started < n && pending.size() < kWindow) {
      PendingChunk p;
      p.first = started;
      p.count = static_cast<uint32_t>(std::min(chunk, n - started));
      p.message = std::make_shared<std::string>(NewChunk(tag, p.count, kPointBytes));
      p.batch = Batch::Start(*pool_, p.count, Slices(), kMinSlice,
                             [this, p, order](size_t begin, size_t end) {
                               return MaskOwnItems(*order, p.first, begin, end, *p.message);
                             });
      started += p.count;
      pending.push_back(std::move(p));
      continue;
    }
    PendingChunk& front = pending.front();
    TDS_RETURN_IF_ERROR(front.batch->Wait());
    TDS_RETURN_IF_ERROR(
        Send(std::move(*front.message), absl::StrCat("masked chunk at item ", front.first)));
    sent += front.count;
    pending.pop_front();
    Progress(phase, sent, n);
  }
  return absl::OkStatus();
}

absl::Status Session::ReceiveReplies(std::string& sealed, std::string& tags) {
  const uint64_t n = items_.size();
  // Replies in R's order mirror R's chunks; shuffled ones come in S's chunk size.
  const uint64_t chunk =
      options_.output == PsiOutput::kSizeOnly ? peer_chunk_ : options_.chunk_items;
  sealed.assign(n * kDigestBytes, '\0');
  tags.clear();
  uint64_t got = 0;
  for (uint64_t index = 0; got < n; ++index) {
    const std::string what = absl::StrCat("the sender's reply chunk ", index);
    std::string m;
    TDS_RETURN_IF_ERROR(Recv(what, m));
    const uint64_t expected = std::min(chunk, n - got);
    if (m.size() < kSealTagBytes + 1) {
      return DataLoss(absl::StrCat(what, ": truncated (", m.size(), " bytes)"));
    }
    // The seal tag trails the chunk; what precedes it is an ordinary chunk message.
    tags.append(m, m.size() - kSealTagBytes, kSealTagBytes);
    m.resize(m.size() - kSealTagBytes);
    TDS_RETURN_IF_ERROR(CheckChunk(m, kReplies, kDigestBytes, expected, what));
    std::memcpy(sealed.data() + got * kDigestBytes, m.data() + kChunkHeaderBytes,
                expected * kDigestBytes);
    got += expected;
  }
  return absl::OkStatus();
}

absl::Status Session::MaskSenderPoints(std::string& digests) {
  const uint64_t n = peer_items_;
  digests.assign(n * kDigestBytes, '\0');
  PendingChunks pending;
  uint64_t received = 0;
  uint64_t done = 0;
  for (uint64_t index = 0; done < n;) {
    if (failed()) return Error(absl::StatusCode::kCancelled, "session failed");
    if (received < n && pending.size() < kWindow) {
      const std::string what = absl::StrCat("the sender's point chunk ", index++);
      std::string m;
      TDS_RETURN_IF_ERROR(Recv(what, m));
      const uint64_t expected = std::min<uint64_t>(peer_chunk_, n - received);
      TDS_RETURN_IF_ERROR(CheckChunk(m, kSenderPoints, kPointBytes, expected, what));
      PendingChunk p;
      p.first = received;
      p.count = static_cast<uint32_t>(expected);
      p.message = std::make_shared<std::string>(std::move(m));
      uint8_t* const out = reinterpret_cast<uint8_t*>(digests.data()) + p.first * kDigestBytes;
      p.batch = Batch::Start(
          *pool_, p.count, Slices(), kMinSlice, [this, p, out](size_t begin, size_t end) {
            return MaskPeerPoints(*p.message, "the sender's", p.first, begin, end, out);
          });
      received += p.count;
      pending.push_back(std::move(p));
      continue;
    }
    TDS_RETURN_IF_ERROR(pending.front().batch->Wait());
    done += pending.front().count;
    pending.pop_front();
    Progress("match", done, n);
  }
  return absl::OkStatus();
}

absl::Status Session::ReceiveKeyAndOpen(std::string& sealed, const std::string& tags) {
  std::string m;
  TDS_RETURN_IF_ERROR(Recv("the sender's release key", m));
  TDS_RETURN_IF_ERROR(ExpectMessage(m, kKey, 1 + kReleaseKeyBytes, "release key message"));
  absl::StatusOr<ReleaseKey> key = ReleaseKey::FromBytes(std::string_view(m).substr(1));
  if (!key.ok()) return Error(absl::StatusCode::kDataLoss, std::string(key.status().message()));
  const uint64_t n = sealed.size() / kDigestBytes;
  const uint64_t chunk =
      options_.output == PsiOutput::kSizeOnly ? peer_chunk_ : options_.chunk_items;
  uint64_t first = 0;
  for (uint64_t index = 0; first < n; ++index) {
    const uint32_t count = static_cast<uint32_t>(std::min(chunk, n - first));
    std::string header(1, static_cast<char>(kReplies));
    PutFixed32BE(&header, count);
    if (!key->Open(index, header, reinterpret_cast<uint8_t*>(sealed.data()) + first * kDigestBytes,
                   count * kDigestBytes,
                   reinterpret_cast<const uint8_t*>(tags.data()) + index * kSealTagBytes)) {
      return DataLoss(absl::StrCat("the sender's reply chunk ", index,
                                   " does not verify under the released key"));
    }
    first += count;
  }
  return absl::OkStatus();
}

absl::Status Session::SendFinish(uint64_t intersection_size,
                                 const std::vector<uint64_t>& sender_positions) {
  std::string finish;
  finish.push_back(static_cast<char>(kFinish));
  PutFixed64BE(&finish, intersection_size);
  PutFixed64BE(&finish, sender_positions.size());
  TDS_RETURN_IF_ERROR(Send(std::move(finish), "the finish message"));
  const uint64_t chunk = options_.chunk_items;
  for (uint64_t first = 0; first < sender_positions.size(); first += chunk) {
    const uint64_t count = std::min<uint64_t>(chunk, sender_positions.size() - first);
    std::string m;
    m.reserve(kChunkHeaderBytes + count * kPositionBytes);
    m.push_back(static_cast<char>(kPositions));
    PutFixed32BE(&m, static_cast<uint32_t>(count));
    for (uint64_t i = 0; i < count; ++i) PutFixed64BE(&m, sender_positions[first + i]);
    TDS_RETURN_IF_ERROR(Send(std::move(m), "matched positions"));
  }
  return absl::OkStatus();
}

absl::Status Session::RunReceiver(PsiResult& result) {
  const uint64_t n_r = items_.size();
  const bool work = n_r > 0 && peer_items_ > 0;
  std::string replies;         // R's doubly-masked digests, sealed until S releases its key
  std::string reply_tags;      // one seal tag per reply chunk
  std::string sender_digests;  // S's doubly-masked digests, in S's stream order
  if (work) {
    ShuffleOwnOrder();
    // Replies are read by a second thread while this one sends, so neither party can block
    // the other with a full buffer.
    absl::Status reply_status;
    std::thread reader([&] {
      reply_status = ReceiveReplies(replies, reply_tags);
      if (!reply_status.ok()) Abort(reply_status);
    });
    absl::Status send_status = SendOwnPoints(kReceiverPoints, &perm_, "mask-own");
    if (!send_status.ok()) Abort(send_status);
    reader.join();
    if (!send_status.ok() || !reply_status.ok()) return FirstError();
    TDS_RETURN_IF_ERROR(MaskSenderPoints(sender_digests));
  }
  TDS_RETURN_IF_ERROR(ReceiveKeyAndOpen(replies, reply_tags));

  std::vector<uint64_t> sender_positions;
  uint64_t intersection = 0;
  if (work) {
    // Reply position p is R's item perm_[p]. In kSizeOnly S shuffled the replies again and
    // only the count means anything.
    const MatchTable table(std::move(replies));
    std::vector<bool> hit(n_r, false);
    const auto* digests = reinterpret_cast<const uint8_t*>(sender_digests.data());
    for (uint64_t j = 0; j < peer_items_; ++j) {
      bool found = false;
      table.ForEachMatch(digests + j * kDigestBytes, [&](uint64_t p) {
        hit[p] = true;
        found = true;
      });
      if (found && options_.output == PsiOutput::kBoth) sender_positions.push_back(j);
    }
    for (uint64_t p = 0; p < n_r; ++p) {
      if (!hit[p]) continue;
      ++intersection;
      if (options_.output != PsiOutput::kSizeOnly) result.matched.push_back(perm_[p]);
    }
    std::sort(result.matched.begin(), result.matched.end());
  }
  result.intersection_size = intersection;
  if (options_.output == PsiOutput::kBoth) return SendFinish(intersection, sender_positions);
  return SendFinish(0, {});
}

absl::Status Session::ReplyToReceiverPoints(std::string* shuffled) {
  const uint64_t n = peer_items_;
  uint64_t reply_index = 0;
  PendingChunks pending;
  uint64_t received = 0;
  uint64_t done = 0;
  for (uint64_t index = 0; done < n;) {
    if (failed()) return Error(absl::StatusCode::kCancelled, "session failed");
    if (received < n && pending.size() < kWindow) {
      const std::string what = absl::StrCat("the receiver's point chunk ", index++);
      std::string m;
      TDS_RETURN_IF_ERROR(Recv(what, m));
      const uint64_t expected = std::min<uint64_t>(peer_chunk_, n - received);
      TDS_RETURN_IF_ERROR(CheckChunk(m, kReceiverPoints, kPointBytes, expected, what));
      PendingChunk p;
      p.first = received;
      p.count = static_cast<uint32_t>(expected);
      p.message = std::make_shared<std::string>(std::move(m));
      if (shuffled == nullptr) {
        p.digests = std::make_shared<std::string>(NewChunk(kReplies, p.count, kDigestBytes));
      }
      uint8_t* const out_base = shuffled == nullptr ? ChunkValue(*p.digests, 0, kDigestBytes)
                                                    : reinterpret_cast<uint8_t*>(shuffled->data()) +
                                                          p.first * kDigestBytes;
      p.batch = Batch::Start(
          *pool_, p.count, Slices(), kMinSlice, [this, p, out_base](size_t begin, size_t end) {
            return MaskPeerPoints(*p.message, "the receiver's", p.first, begin, end, out_base);
          });
      received += p.count;
      pending.push_back(std::move(p));
      continue;
    }
    PendingChunk& front = pending.front();
    TDS_RETURN_IF_ERROR(front.batch->Wait());
    if (shuffled == nullptr) {
      SealReplyChunk(*front.digests, reply_index++);
      TDS_RETURN_IF_ERROR(
          Send(std::move(*front.digests), absl::StrCat("reply chunk at item ", front.first)));
    }
    done += front.count;
    pending.pop_front();
    Progress("mask-peer", done, n);
  }
  return absl::OkStatus();
}

absl::Status Session::SendShuffledReplies(std::string& digests) {
  struct Digest {
    uint8_t bytes[kDigestBytes];
  };
  static_assert(sizeof(Digest) == kDigestBytes);
  const uint64_t n = digests.size() / kDigestBytes;
  {
    SecureRandom random;
    random.Shuffle(reinterpret_cast<Digest*>(digests.data()), n);
  }
  const uint64_t chunk = options_.chunk_items;
  for (uint64_t first = 0; first < n; first += chunk) {
    const uint32_t count = static_cast<uint32_t>(std::min(chunk, n - first));
    std::string m = NewChunk(kReplies, count, kDigestBytes);
    std::memcpy(ChunkValue(m, 0, kDigestBytes), digests.data() + first * kDigestBytes,
                count * kDigestBytes);
    SealReplyChunk(m, first / chunk);
    TDS_RETURN_IF_ERROR(Send(std::move(m), absl::StrCat("shuffled reply chunk at ", first)));
  }
  return absl::OkStatus();
}

absl::Status Session::ReceiveFinish(PsiResult& result) {
  const uint64_t n_s = items_.size();
  std::string m;
  TDS_RETURN_IF_ERROR(Recv("the receiver's finish message", m));
  TDS_RETURN_IF_ERROR(ExpectMessage(m, kFinish, kFinishBytes, "finish message"));
  const uint64_t size = DecodeFixed64BE(m.data() + 1);
  const uint64_t positions = DecodeFixed64BE(m.data() + 9);
  if (options_.output != PsiOutput::kBoth) {
    if (size != 0 || positions != 0) {
      return DataLoss(absl::StrCat("the finish message carries results (size ", size, ", ",
                                   positions, " positions) in ", OutputName(options_.output),
                                   " mode"));
    }
    return absl::OkStatus();
  }
  if (size > peer_items_ || positions > n_s || (size == 0) != (positions == 0)) {
    return DataLoss(absl::StrCat("the finish message announces an intersection of ", size, " with ",
                                 positions, " of this party's ", n_s,
                                 " positions; the receiver has ", peer_items_, " items"));
  }
  uint64_t got = 0;
  uint64_t next_min = 0;  // positions are strictly ascending
  for (uint64_t index = 0; got < positions; ++index) {
    const std::string what = absl::StrCat("the receiver's position chunk ", index);
    std::string c;
    TDS_RETURN_IF_ERROR(Recv(what, c));
    const uint64_t expected = std::min<uint64_t>(peer_chunk_, positions - got);
    TDS_RETURN_IF_ERROR(CheckChunk(c, kPositions, kPositionBytes, expected, what));
    for (uint64_t i = 0; i < expected; ++i) {
      const uint64_t p = DecodeFixed64BE(c.data() + kChunkHeaderBytes + i * kPositionBytes);
      if (p < next_min || p >= n_s) {
        return DataLoss(
            absl::StrCat(what, ": position ", p, " is out of order or not below ", n_s));
      }
      next_min = p + 1;
      result.matched.push_back(perm_[p]);
    }
    got += expected;
  }
  std::sort(result.matched.begin(), result.matched.end());
  result.intersection_size = size;
  return absl::OkStatus();
}

void Session::ShuffleOwnOrder() {
  perm_.resize(items_.size());
  for (uint64_t i = 0; i < perm_.size(); ++i) perm_[i] = static_cast<uint32_t>(i);
  SecureRandom random;
  random.Shuffle(perm_.data(), perm_.size());
}

void Session::SealReplyChunk(std::string& m, uint64_t index) const {
  const size_t payload = m.size() - kChunkHeaderBytes;
  uint8_t tag[kSealTagBytes];
  release_key_->Seal(index, std::string_view(m).substr(0, kChunkHeaderBytes),
                     reinterpret_cast<uint8_t*>(m.data()) + kChunkHeaderBytes, payload, tag);
  m.append(reinterpret_cast<const char*>(tag), kSealTagBytes);
}

absl::Status Session::Release() {
  if (options_.before_release) {
    absl::Status gate = options_.before_release(
        PsiReleaseInfo{.own_items = items_.size(), .peer_items = peer_items_});
    if (!gate.ok()) {
      return Error(gate.code(), absl::StrCat("release refused: ", std::string(gate.message())));
    }
  }
  std::string m(1, static_cast<char>(kKey));
  m += release_key_->Release();
  return Send(std::move(m), "the release key");
}

absl::Status Session::RunSender(PsiResult& result) {
  const uint64_t n_s = items_.size();
  release_key_.emplace();
  if (n_s > 0 && peer_items_ > 0) {
    ShuffleOwnOrder();
    if (options_.output == PsiOutput::kSizeOnly) {
      std::string digests(peer_items_ * kDigestBytes, '\0');
      TDS_RETURN_IF_ERROR(ReplyToReceiverPoints(&digests));
      TDS_RETURN_IF_ERROR(SendShuffledReplies(digests));
    } else {
      TDS_RETURN_IF_ERROR(ReplyToReceiverPoints(nullptr));
    }
    TDS_RETURN_IF_ERROR(SendOwnPoints(kSenderPoints, &perm_, "mask-own"));
  }
  TDS_RETURN_IF_ERROR(Release());
  return ReceiveFinish(result);
}

}  // namespace

absl::StatusOr<PsiResult> RunEcdhPsi(PsiRole role, const std::vector<std::string>& items,
                                     const EcdhPsiOptions& options, Link& link) {
  Session session(role, items, options, link);
  return session.Run();
}

}  // namespace tds::compute::psi
