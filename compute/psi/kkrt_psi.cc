#include "compute/psi/kkrt_psi.h"

// Wire format (integers big-endian; R = receiver, S = sender). Every message starts with a
// one-byte tag (0x11.., distinct from ECDH-PSI's 0x01..); a message of the wrong tag, length,
// count or stream position ends the session.
//
//   hello     := 0x11 version:u8 role:u8 output:u8 items:u64 max_bucket_items:u64
//                chunk_items:u32 nonce[16]                                        (40 bytes)
//                version 1; role 0 receiver, 1 sender; output 0 consumer-only, 1 both;
//                max_bucket_items ≥ 1; chunk_items in [1, 2^18]
//   ot_first  := 0x12 A[32]                        R -> S   base OTs, R is the OT sender
//   ot_reply  := 0x13 B[512][32]                   S -> R   S's 512 choice points
//   columns   := 0x14 bucket:u32 slab:u32 rows:u32 u[512][rows/8]      R -> S
//                u's columns for bins [slab·65536, +rows) of the bucket, column after column
//   tags      := 0x15 bucket:u32 chunk:u32 count:u32 sealed[count][3][tag_bytes] seal[16]
//                S -> R   3 OPRF tags per item slot, sealed under S's release key
//                (release_key.h: nonce = the chunk's index in the whole tag stream, associated
//                data = the 13 header bytes)
//   ready     := 0x19 slots:u64                    R -> S   every tags message arrived well-formed
//                (slots = B·cap_S); S waits for it before its release gate       (9 bytes)
//   key       := 0x16 release_key[32]              S -> R   once S's release gate returned OK
//   finish    := 0x17 intersection_size:u64 positions:u64                         (17 bytes)
//   positions := 0x18 count:u32 slot:u64[count]    R -> S   (kBoth only)
//
// Session. Both send hello, then read the peer's and derive the public session parameters:
//   seed       = SHA-256("tds-kkrt-v1" 0x00 "seed" || nonce_R || nonce_S)
//   B          = ⌈max(n_R, n_S) / min(max_bucket_items_R, max_bucket_items_S)⌉ buckets
//   cap_R      = BucketCapacity(n_R, B), cap_S = BucketCapacity(n_S, B)        (cuckoo.h)
//   m          = CuckooBins(cap_R) bins per bucket, a multiple of 128
//   tag_bytes  = ⌈(40 + ⌈log2 n_R⌉ + ⌈log2(3·B·cap_S)⌉) / 8⌉
// Unless a set is empty: base OTs (ot_first, ot_reply); then for each bucket b in order, R
// sends ⌈m / 65536⌉ columns messages (the last holds the rest) and S answers with
// ⌈cap_S / chunk_items_S⌉ tags messages (the last holds the rest): S's unique items of the
// bucket in a random order, padded with random dummy slots to exactly cap_S. R confirms with
// ready once every tags message arrived well-formed (so a session that breaks down before
// that point is never metered); then S calls its release gate and, if it returns OK, sends
// key; R opens the tags and compares. R sends
// finish (zeros unless kBoth) and, for kBoth, `positions` values: ascending global slot
// indices (b·cap_S + slot) whose tag R holds, in chunks of chunk_items_S.

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "compute/protocol_session.h"
#include "compute/psi/base_ot.h"
#include "compute/psi/cuckoo.h"
#include "compute/psi/ot_extension.h"
#include "compute/psi/release_key.h"
#include "compute/psi/secure_random.h"
#include "compute/psi/x25519.h"
#include "compute/worker_pool.h"

namespace tds::compute::psi {
namespace {

enum Tag : uint8_t {
  kHello = 0x11,
  kOtFirst = 0x12,
  kOtReply = 0x13,
  kColumns = 0x14,
  kTags = 0x15,
  kKey = 0x16,
  kFinish = 0x17,
  kPositions = 0x18,
  kReady = 0x19,
};

constexpr uint8_t kVersion = 1;
constexpr size_t kNonceBytes = 16;
constexpr size_t kHelloBytes = 40;
constexpr size_t kFinishBytes = 17;
constexpr size_t kSlabHeaderBytes = 13;
constexpr size_t kTagHeaderBytes = 13;
constexpr size_t kPositionsHeaderBytes = 5;
constexpr size_t kPositionBytes = 8;
constexpr uint64_t kSlabRows = 1 << 16;       // bins per columns message (4 MiB of u)
constexpr uint32_t kMaxChunkItems = 1 << 18;  // a tags message stays under 25 MiB
constexpr uint64_t kMaxItems = UINT32_MAX - 1;
constexpr uint64_t kMaxBuckets = 1 << 16;
constexpr uint32_t kDummy = UINT32_MAX;  // a padding slot in S's tag stream
constexpr int kStatBits = 40;
constexpr size_t kMinSlice = 256;

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// SHA-256(parts...) with a domain label, for the session's public parameters.
void Derive(const char* label, const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len,
            uint8_t out[32]) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  static const char kDomain[] = "tds-kkrt-v1";
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(kDomain), sizeof(kDomain));
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(label), std::strlen(label));
  crypto_hash_sha256_update(&st, a, a_len);
  if (b_len > 0) crypto_hash_sha256_update(&st, b, b_len);
  crypto_hash_sha256_final(&st, out);
}

// An item reduced to what the protocol needs: a 126-bit identity (the OPRF input, with two
// bits left for the hash index) and a 64-bit word choosing its cuckoo bins; both from
// SHA-256(digest_key || item). Two distinct items share an identity with probability
// 2^-126 per pair.
struct Digest {
  uint64_t lo, hi;  // identity; hi's top 2 bits are zero
  uint64_t word;
  uint32_t item;  // index into the caller's items
};

bool IdLess(const Digest& a, const Digest& b) {
  return a.hi != b.hi ? a.hi < b.hi : (a.lo != b.lo ? a.lo < b.lo : a.item < b.item);
}
bool IdEqual(const Digest& a, const Digest& b) { return a.hi == b.hi && a.lo == b.lo; }

// The PRC input for hash index h (0..2) of an identity: 16 bytes, little-endian.
void CodeInput(const Digest& d, unsigned h, uint8_t out[16]) {
  const uint64_t hi = d.hi | (uint64_t{h} << 62);
  std::memcpy(out, &d.lo, 8);
  std::memcpy(out + 8, &hi, 8);
}

// The receiver's OPRF values, indexed for lookups of the sender's tags: 8-byte slots (a
// 32-bit check word from the value beside its group) at load ≤ 2/3, so a lookup touches one
// cache line unless the check word matches (a true match, or a 2^-32 accident settled by
// comparing the whole value). Prefetch lets a caller hide that one miss. 12 bytes per value
// at 10^7 values (134 MB).
class ValueTable {
 public:
  ValueTable(const std::vector<uint8_t>& values, size_t width)
      : values_(values), width_(width), count_(width == 0 ? 0 : values.size() / width) {
    uint64_t cap = 16;
    while (2 * cap < 3 * count_) cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, Slot{});
    for (uint64_t g = 0; g < count_; ++g) {
      const uint8_t* v = At(g);
      for (uint64_t b = Bucket(v);; b = (b + 1) & mask_) {
        if (slots_[b].group == 0) {
          slots_[b] = Slot{Check(v), static_cast<uint32_t>(g + 1)};
          break;
        }
      }
    }
  }
  void Prefetch(const uint8_t* tag) const { __builtin_prefetch(&slots_[Bucket(tag)]); }
  // Calls fn(group) for every value equal to `tag`.
  template <typename Fn>
  void ForEachMatch(const uint8_t* tag, Fn&& fn) const {
    const uint32_t check = Check(tag);
    for (uint64_t b = Bucket(tag);; b = (b + 1) & mask_) {
      const Slot& slot = slots_[b];
      if (slot.group == 0) return;
      if (slot.check == check && std::memcmp(At(slot.group - 1), tag, width_) == 0) {
        fn(slot.group - 1);
      }
    }
  }

 private:
  struct Slot {
    uint32_t check = 0;
    uint32_t group = 0;  // 0 = empty, else group + 1
  };
  // Values are truncated SHA-256 outputs of rows the sender cannot know: uniform, so their
  // bytes serve directly — the first up to 8 choose the bucket, the last 4 are the check word.
  uint64_t Bucket(const uint8_t* v) const {
    uint64_t x = 0;
    std::memcpy(&x, v, std::min<size_t>(8, width_));
    return (x * 0x9e3779b97f4a7c15ULL >> 17) & mask_;
  }
  uint32_t Check(const uint8_t* v) const {
    uint32_t x;
    std::memcpy(&x, v + width_ - 4, 4);
    return x;
  }
  const uint8_t* At(uint64_t g) const { return values_.data() + g * width_; }

  const std::vector<uint8_t>& values_;
  const size_t width_;
  const uint64_t count_;
  uint64_t mask_ = 0;
  std::vector<Slot> slots_;
};

// The items of one party, grouped: group g's members are members[start[g] .. start[g+1]).
struct Groups {
  std::vector<uint32_t> members;
  std::vector<uint32_t> start{0};

  uint32_t count() const { return static_cast<uint32_t>(start.size() - 1); }
  template <typename Fn>
  void ForEachMember(uint32_t g, Fn&& fn) const {
    for (uint32_t k = start[g]; k < start[g + 1]; ++k) fn(members[k]);
  }
};

class Session : public ProtocolSession {
 public:
  Session(PsiRole role, const std::vector<std::string>& items, const KkrtPsiOptions& options,
          Link& link)
      : ProtocolSession("kkrt psi", RoleName(role), PeerName(role), link),
        role_(role),
        items_(items),
        options_(options) {}
  ~Session() { pool_.reset(); }

  absl::StatusOr<PsiResult> Run();

 private:
  absl::Status CheckOptions() const;
  absl::Status Handshake();
  void Plan();
  absl::Status RunReceiver(PsiResult& result);
  absl::Status RunSender(PsiResult& result);

  // Splits this party's items into the B buckets (order_ and bucket_start_).
  void Partition();
  // Digests of bucket b's items, sorted by identity; `unique` gets one per distinct identity
  // and `groups` the positions behind each (appended). Fails when the distinct items exceed
  // `cap` (probability ≤ 2^-41 for a set of distinct items).
  absl::Status DigestBucket(uint64_t b, uint64_t cap, std::vector<Digest>& unique, Groups& groups);

  // R: the receiver's side of bucket b.
  // R: bucket b's items digested, deduplicated and placed in bins.
  struct ReceiverBucketState {
    std::vector<Digest> unique;
    uint32_t group_base = 0;
    CuckooPlacement placement;
  };
  absl::Status PrepareReceiverBucket(uint64_t b, ReceiverBucketState& state);
  // R: the extension over bucket b's bins; sends the columns, keeps the OPRF values.
  absl::Status ReceiverBucket(uint64_t b, ReceiverBucketState& state, OprfReceiver& oprf);
  // R: reads every sealed tag message (a second thread, beside ReceiverBucket's sends).
  absl::Status ReceiveTags();
  absl::Status ReceiveKeyAndOpen();
  absl::Status SendFinish(uint64_t intersection_size, const std::vector<uint64_t>& slots);

  // S: the sender's side of bucket b.
  absl::Status SenderBucket(uint64_t b, OprfSender& oprf, SecureRandom& random);
  absl::Status Release();
  absl::Status ReceiveFinish(PsiResult& result);

  void Progress(const char* phase, uint64_t done, uint64_t total) const {
    if (options_.progress) options_.progress(PsiProgress{phase, done, total});
  }
  uint64_t SlabsPerBucket() const { return (bins_ + kSlabRows - 1) / kSlabRows; }
  uint64_t TagChunksPerBucket() const { return (cap_s_ + tag_chunk_ - 1) / tag_chunk_; }
  size_t SlotBytes() const { return 3 * tag_bytes_; }

  const PsiRole role_;
  const std::vector<std::string>& items_;
  const KkrtPsiOptions& options_;

  // Session parameters (public, equal on both sides once Plan() ran).
  uint64_t n_r_ = 0, n_s_ = 0;
  uint64_t peer_bucket_limit_ = 0;
  uint32_t tag_chunk_ = 0;  // S's chunk_items
  uint8_t nonce_[kNonceBytes];
  uint8_t peer_nonce_[kNonceBytes];
  uint8_t digest_key_[16];
  uint8_t bucket_key_[crypto_shorthash_KEYBYTES];
  uint8_t prc_keys_[kPrcKeyBytes];
  uint64_t buckets_ = 1;
  uint64_t cap_r_ = 0, cap_s_ = 0;
  uint64_t bins_ = 0;
  size_t tag_bytes_ = 0;

  std::vector<uint32_t> order_;         // items grouped by bucket (empty: one bucket)
  std::vector<uint64_t> bucket_start_;  // bucket b is order_[start[b] .. start[b+1])
  Groups groups_;                       // this party's distinct items, over all buckets
  std::optional<PseudorandomCode> prc_;

  // R: one OPRF value (tag_bytes_) per group; the sealed tags as they came, and their seals.
  std::vector<uint8_t> values_;
  std::string sealed_;
  std::string seals_;
  // S: the group behind each global slot (kDummy for padding), and the release key.
  std::vector<uint32_t> slot_group_;
  std::optional<ReleaseKey> release_key_;

  std::unique_ptr<WorkerPool> pool_;
};

absl::StatusOr<PsiResult> Session::Run() {
  EnsureSodium();
  PsiResult result;
  absl::Status status = CheckOptions();
  if (status.ok()) {
    pool_ = std::make_unique<WorkerPool>(options_.threads);
    status = Handshake();
  }
  if (status.ok()) {
    result.peer_items = role_ == PsiRole::kReceiver ? n_s_ : n_r_;
    Plan();
    status = role_ == PsiRole::kReceiver ? RunReceiver(result) : RunSender(result);
  }
  if (!status.ok()) return Fail(std::move(status));
  return result;
}

absl::Status Session::CheckOptions() const {
  if (options_.output == PsiOutput::kSizeOnly) {
    return Error(absl::StatusCode::kInvalidArgument,
                 "size_only needs ECDH-PSI: in an OPRF-based PSI the receiver can test each of "
                 "its own OPRF values, so it always learns which items matched");
  }
  if (options_.output != PsiOutput::kConsumerOnly && options_.output != PsiOutput::kBoth) {
    return Error(absl::StatusCode::kInvalidArgument, "unknown output mode");
  }
  TDS_RETURN_IF_ERROR(CheckChunkItems(options_.chunk_items, kMaxChunkItems));
  if (options_.max_bucket_items < 1) {
    return Error(absl::StatusCode::kInvalidArgument, "options.max_bucket_items is 0");
  }
  TDS_RETURN_IF_ERROR(CheckItemCount(items_.size(), kMaxItems));
  return CheckThreads(options_.threads);
}

absl::Status Session::Handshake() {
  randombytes_buf(nonce_, kNonceBytes);
  std::string hello;
  hello.push_back(static_cast<char>(kHello));
  hello.push_back(static_cast<char>(kVersion));
  hello.push_back(static_cast<char>(role_ == PsiRole::kReceiver ? 0 : 1));
  hello.push_back(static_cast<char>(options_.output == PsiOutput::kBoth ? 1 : 0));
  PutFixed64BE(&hello, items_.size());
  PutFixed64BE(&hello, options_.max_bucket_items);
  PutFixed32BE(&hello, static_cast<uint32_t>(options_.chunk_items));
  hello.append(reinterpret_cast<const char*>(nonce_), kNonceBytes);
  TDS_RETURN_IF_ERROR(Send(std::move(hello), "the hello"));

  std::string m;
  TDS_RETURN_IF_ERROR(Recv(absl::StrCat("the ", peer(), "'s hello"), m));
  TDS_RETURN_IF_ERROR(ExpectMessage(m, kHello, kHelloBytes, absl::StrCat("hello from the ", peer()),
                                    "", m[0] == 0x01 ? "; the peer runs ECDH-PSI" : ""));
  const uint8_t version = static_cast<uint8_t>(m[1]);
  const uint8_t role = static_cast<uint8_t>(m[2]);
  const uint8_t output = static_cast<uint8_t>(m[3]);
  const uint64_t items = DecodeFixed64BE(m.data() + 4);
  const uint64_t limit = DecodeFixed64BE(m.data() + 12);
  const uint32_t chunk = DecodeFixed32BE(m.data() + 20);
  if (version != kVersion) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("the ", peer(), " speaks protocol version ", version, ", this party ",
                              kVersion));
  }
  if (role > 1) return DataLoss(absl::StrCat("the peer's hello names an unknown role ", role));
  if (role == (role_ == PsiRole::kReceiver ? 0 : 1)) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("both parties are ", RoleName(role_), "s"));
  }
  if (output > 1) {
    return DataLoss(absl::StrCat("the ", peer(), "'s hello names an unknown output mode ", output));
  }
  const PsiOutput peer_output = output == 1 ? PsiOutput::kBoth : PsiOutput::kConsumerOnly;
  if (peer_output != options_.output) {
    return Error(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat("output mode mismatch: this party asked for ", OutputName(options_.output),
                     ", the ", peer(), " for ", OutputName(peer_output)));
  }
  if (items > options_.max_peer_items || items > kMaxItems) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("the ", peer(), " announces ", items, " items, over the limit of ",
                              std::min<uint64_t>(options_.max_peer_items, kMaxItems)));
  }
  if (limit < 1) return DataLoss(absl::StrCat("the ", peer(), "'s max_bucket_items is 0"));
  if (chunk < 1 || chunk > kMaxChunkItems) {
    return DataLoss(absl::StrCat("the ", peer(), "'s chunk size ", chunk, " is outside [1, ",
                                 kMaxChunkItems, "]"));
  }
  const uint64_t own_limit = options_.max_bucket_items;
  const uint64_t larger = std::max<uint64_t>(items, items_.size());
  const uint64_t use_limit = std::min(own_limit, limit);
  if ((larger + use_limit - 1) / use_limit > kMaxBuckets) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("max_bucket_items ", use_limit, " would split ", larger,
                              " items into more than ", kMaxBuckets, " buckets"));
  }
  std::memcpy(peer_nonce_, m.data() + 24, kNonceBytes);
  peer_bucket_limit_ = limit;
  if (role_ == PsiRole::kReceiver) {
    n_r_ = items_.size();
    n_s_ = items;
    tag_chunk_ = chunk;
  } else {
    n_r_ = items;
    n_s_ = items_.size();
    tag_chunk_ = static_cast<uint32_t>(options_.chunk_items);
  }
  return absl::OkStatus();
}

void Session::Plan() {
  const uint8_t* r_nonce = role_ == PsiRole::kReceiver ? nonce_ : peer_nonce_;
  const uint8_t* s_nonce = role_ == PsiRole::kReceiver ? peer_nonce_ : nonce_;
  uint8_t nonces[2 * kNonceBytes];
  std::memcpy(nonces, r_nonce, kNonceBytes);
  std::memcpy(nonces + kNonceBytes, s_nonce, kNonceBytes);
  uint8_t seed[32], out[32];
  Derive("seed", nonces, sizeof(nonces), nullptr, 0, seed);
  Derive("digest", seed, 32, nullptr, 0, out);
  std::memcpy(digest_key_, out, sizeof(digest_key_));
  Derive("bucket", seed, 32, nullptr, 0, out);
  std::memcpy(bucket_key_, out, sizeof(bucket_key_));
  Derive("code", seed, 32, nullptr, 0, out);
  std::memcpy(prc_keys_, out, 32);
  Derive("code2", seed, 32, nullptr, 0, out);
  std::memcpy(prc_keys_ + 32, out, 32);
  prc_.emplace(prc_keys_);

  const uint64_t limit = std::min(options_.max_bucket_items, peer_bucket_limit_);
  buckets_ = std::max<uint64_t>(1, (std::max(n_r_, n_s_) + limit - 1) / limit);
  cap_r_ = BucketCapacity(n_r_, buckets_);
  cap_s_ = BucketCapacity(n_s_, buckets_);
  bins_ = CuckooBins(cap_r_);
  const int bits =
      kStatBits + CeilLog2(n_r_) + CeilLog2(3 * buckets_ * std::max<uint64_t>(1, cap_s_));
  tag_bytes_ = std::min<size_t>(32, static_cast<size_t>((bits + 7) / 8));
}

void Session::Partition() {
  const uint64_t n = items_.size();
  bucket_start_.assign(buckets_ + 1, 0);
  if (buckets_ == 1) {
    bucket_start_[1] = n;
    return;
  }
  std::vector<uint32_t> bucket(n);
  ParallelFor(*pool_, n, 4096, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      uint8_t h[crypto_shorthash_BYTES];
      crypto_shorthash(h, reinterpret_cast<const uint8_t*>(items_[i].data()), items_[i].size(),
                       bucket_key_);
      bucket[i] =
          static_cast<uint32_t>((static_cast<unsigned __int128>(LoadLe64(h)) * buckets_) >> 64);
    }
  });
  for (uint64_t i = 0; i < n; ++i) ++bucket_start_[bucket[i] + 1];
  for (uint64_t b = 0; b < buckets_; ++b) bucket_start_[b + 1] += bucket_start_[b];
  std::vector<uint64_t> next(bucket_start_.begin(), bucket_start_.end() - 1);
  order_.resize(n);
  for (uint64_t i = 0; i < n; ++i) order_[next[bucket[i]]++] = static_cast<uint32_t>(i);
}

absl::Status Session::DigestBucket(uint64_t b, uint64_t cap, std::vector<Digest>& unique,
                                   Groups& groups) {
  const uint64_t first = bucket_start_[b];
  const uint64_t count = bucket_start_[b + 1] - first;
  std::vector<Digest> all(count);
  ParallelFor(*pool_, count, 1024, [&](size_t begin, size_t end) {
    RowHasher hasher;
    uint8_t h[32];
    for (size_t k = begin; k < end; ++k) {
      const uint32_t item = order_.empty() ? static_cast<uint32_t>(first + k) : order_[first + k];
      const std::string& x = items_[item];
      hasher.Sha256(digest_key_, sizeof(digest_key_), x.data(), x.size(), h);
      Digest& d = all[k];
      d.lo = LoadLe64(h);
      d.hi = LoadLe64(h + 8) & (~uint64_t{0} >> 2);
      d.word = LoadLe64(h + 16);
      d.item = item;
    }
  });
  std::sort(all.begin(), all.end(), [](const Digest& x, const Digest& y) { return IdLess(x, y); });
  // Compacts the distinct identities to the front of `all` (in place: the bucket's digests
  // are the largest buffer of this step) while recording every position of each.
  size_t distinct = 0;
  for (uint64_t k = 0; k < count; ++k) {
    const uint32_t item = all[k].item;
    if (k == 0 || !IdEqual(all[k], all[distinct - 1])) {
      if (distinct > 0) groups.start.push_back(static_cast<uint32_t>(groups.members.size()));
      all[distinct++] = all[k];
    }
    groups.members.push_back(item);
  }
  if (distinct > 0) groups.start.push_back(static_cast<uint32_t>(groups.members.size()));
  all.resize(distinct);
  all.shrink_to_fit();
  unique = std::move(all);
  if (unique.size() > cap) {
    return Error(absl::StatusCode::kResourceExhausted,
                 absl::StrCat("bucket ", b, " holds ", unique.size(),
                              " distinct items, over its capacity of ", cap,
                              " (probability below 2^-40; a new session draws a new bucket hash)"));
  }
  return absl::OkStatus();
}

// ---- Receiver ----

absl::Status Session::RunReceiver(PsiResult& result) {
  const bool work = n_r_ > 0 && n_s_ > 0;
  if (work) {
    Partition();
    // Bucket 0 is digested and placed while the sender answers the base OTs.
    BaseOtSender base;
    TDS_RETURN_IF_ERROR(
        Send(std::string(1, static_cast<char>(kOtFirst)) + base.FirstMessage(), "ot_first"));
    ReceiverBucketState state;
    TDS_RETURN_IF_ERROR(PrepareReceiverBucket(0, state));
    std::string reply;
    TDS_RETURN_IF_ERROR(Recv("the sender's base OT reply", reply));
    TDS_RETURN_IF_ERROR(ExpectTag(reply, kOtReply, "the sender's base OT reply"));
    std::vector<OtSeed> k0, k1;
    absl::Status s = base.Finish(std::string_view(reply).substr(1), kCodeBits, k0, k1, pool_.get());
    if (!s.ok()) {
      return Error(s.code(),
                   absl::StrCat("the sender's base OT reply: ", std::string(s.message())));
    }
    OprfReceiver oprf(k0, k1);
    WipeSeeds(k0);
    WipeSeeds(k1);

    sealed_.reserve(buckets_ * cap_s_ * SlotBytes());
    absl::Status reader_status;
    std::thread reader([&] {
      reader_status = ReceiveTags();
      if (!reader_status.ok()) Abort(reader_status);
    });
    absl::Status send_status;
    for (uint64_t b = 0; b < buckets_ && send_status.ok(); ++b) {
      if (b > 0) send_status = PrepareReceiverBucket(b, state);
      if (send_status.ok()) send_status = ReceiverBucket(b, state, oprf);
      if (send_status.ok()) Progress("bucket", b + 1, buckets_);
    }
    if (!send_status.ok()) Abort(send_status);
    reader.join();
    if (!send_status.ok() || !reader_status.ok()) return FirstError();
    std::string ready(1, static_cast<char>(kReady));
    PutFixed64BE(&ready, buckets_ * cap_s_);
    TDS_RETURN_IF_ERROR(Send(std::move(ready), "the ready message"));
  }
  TDS_RETURN_IF_ERROR(ReceiveKeyAndOpen());

  std::vector<uint64_t> slots;  // matched global slots of S (kBoth)
  uint64_t intersection = 0;
  if (work) {
    const ValueTable table(values_, tag_bytes_);
    std::vector<uint8_t> hit(groups_.count(), 0);
    const uint64_t total_slots = buckets_ * cap_s_;
    const auto* tags = reinterpret_cast<const uint8_t*>(sealed_.data());
    // Slices of the slot stream in parallel; each keeps its matched slots, joined in order.
    const size_t slices = static_cast<size_t>(pool_->size()) * 4;
    const uint64_t per = (total_slots + slices - 1) / slices;
    std::vector<std::vector<uint64_t>> found_slots(slices);
    ParallelFor(*pool_, slices, 1, [&](size_t begin, size_t end) {
      constexpr uint64_t kAhead = 8;  // slots prefetched ahead
      for (size_t part = begin; part < end; ++part) {
        const uint64_t lo = std::min(total_slots, part * per);
        const uint64_t hi = std::min(total_slots, lo + per);
        for (uint64_t slot = lo; slot < hi; ++slot) {
          if (slot + kAhead < hi) {
            for (int h = 0; h < kCuckooHashes; ++h) {
              table.Prefetch(tags + ((slot + kAhead) * 3 + h) * tag_bytes_);
            }
          }
          bool found = false;
          for (int h = 0; h < kCuckooHashes; ++h) {
            table.ForEachMatch(tags + (slot * 3 + h) * tag_bytes_, [&](uint64_t g) {
              std::atomic_ref<uint8_t>(hit[g]).store(1, std::memory_order_relaxed);
              found = true;
            });
          }
          if (found && options_.output == PsiOutput::kBoth) found_slots[part].push_back(slot);
        }
      }
    });
    for (const auto& part : found_slots) slots.insert(slots.end(), part.begin(), part.end());
    for (uint32_t g = 0; g < groups_.count(); ++g) {
      if (hit[g]) groups_.ForEachMember(g, [&](uint32_t item) { result.matched.push_back(item); });
    }
    std::sort(result.matched.begin(), result.matched.end());
    intersection = result.matched.size();
    Progress("match", total_slots, total_slots);
  }
  result.intersection_size = intersection;
  if (options_.output == PsiOutput::kBoth) return SendFinish(intersection, slots);
  return SendFinish(0, {});
}

absl::Status Session::PrepareReceiverBucket(uint64_t b, ReceiverBucketState& state) {
  state.group_base = groups_.count();
  TDS_RETURN_IF_ERROR(DigestBucket(b, cap_r_, state.unique, groups_));
  std::vector<uint64_t> words(state.unique.size());
  for (size_t k = 0; k < state.unique.size(); ++k) words[k] = state.unique[k].word;
  absl::Status placed = CuckooInsert(words.data(), words.size(), bins_, state.placement);
  if (!placed.ok()) return Error(placed.code(), std::string(placed.message()));
  return absl::OkStatus();
}

absl::Status Session::ReceiverBucket(uint64_t b, ReceiverBucketState& state, OprfReceiver& oprf) {
  const std::vector<Digest>& unique = state.unique;
  const uint32_t group_base = state.group_base;
  const CuckooPlacement& placement = state.placement;
  values_.resize(static_cast<size_t>(groups_.count()) * tag_bytes_);

  std::vector<uint64_t> code(std::min(kSlabRows, bins_) * kCodeWords);
  std::vector<uint64_t> t0(code.size());
  std::vector<uint64_t> u(code.size());
  const uint64_t slabs = SlabsPerBucket();
  for (uint64_t slab = 0; slab < slabs; ++slab) {
    if (failed()) return Error(absl::StatusCode::kCancelled, "session failed");
    const uint64_t first = slab * kSlabRows;
    const uint64_t rows = std::min(kSlabRows, bins_ - first);
    // The code rows: C(identity, hash index) for occupied bins, zero for empty ones.
    ParallelFor(*pool_, rows, kMinSlice, [&](size_t begin, size_t end) {
      std::vector<uint8_t> in((end - begin) * 16, 0);
      for (size_t r = begin; r < end; ++r) {
        const uint32_t k = placement.item[first + r];
        if (k != kEmptyBin) CodeInput(unique[k], placement.hash[first + r], &in[(r - begin) * 16]);
      }
      prc_->Encode(in.data(), end - begin, code.data() + begin * kCodeWords);
      for (size_t r = begin; r < end; ++r) {
        if (placement.item[first + r] == kEmptyBin) {
          std::memset(code.data() + r * kCodeWords, 0, kCodeBytes);
        }
      }
    });
    oprf.Extend(code.data(), rows, u.data(), t0.data(), *pool_);
    std::string m;
    m.reserve(kSlabHeaderBytes + rows * kCodeBytes);
    m.push_back(static_cast<char>(kColumns));
    PutFixed32BE(&m, static_cast<uint32_t>(b));
    PutFixed32BE(&m, static_cast<uint32_t>(slab));
    PutFixed32BE(&m, static_cast<uint32_t>(rows));
    m.append(reinterpret_cast<const char*>(u.data()), rows * kCodeBytes);
    TDS_RETURN_IF_ERROR(Send(std::move(m), absl::StrCat("columns of bucket ", b, " slab ", slab)));
    // The receiver's OPRF value of each occupied bin: H(instance, t0 row).
    ParallelFor(*pool_, rows, kMinSlice, [&](size_t begin, size_t end) {
      RowHasher hasher;
      for (size_t r = begin; r < end; ++r) {
        const uint32_t k = placement.item[first + r];
        if (k == kEmptyBin) continue;
        hasher.Hash(b * bins_ + first + r, t0.data() + r * kCodeWords,
                    values_.data() + (group_base + size_t{k}) * tag_bytes_, tag_bytes_);
      }
    });
  }
  return absl::OkStatus();
}

absl::Status Session::ReceiveTags() {
  const uint64_t chunks = TagChunksPerBucket();
  uint64_t index = 0;
  for (uint64_t b = 0; b < buckets_; ++b) {
    uint64_t got = 0;
    for (uint64_t c = 0; c < chunks; ++c, ++index) {
      const std::string what = absl::StrCat("the sender's tags of bucket ", b, " chunk ", c);
      std::string m;
      TDS_RETURN_IF_ERROR(Recv(what, m));
      TDS_RETURN_IF_ERROR(ExpectTag(m, kTags, what));
      if (m.size() < kTagHeaderBytes + kSealTagBytes) {
        return DataLoss(absl::StrCat(what, ": truncated (", m.size(), " bytes)"));
      }
      const uint32_t mb = DecodeFixed32BE(m.data() + 1);
      const uint32_t mc = DecodeFixed32BE(m.data() + 5);
      const uint32_t count = DecodeFixed32BE(m.data() + 9);
      const uint64_t expected = std::min<uint64_t>(tag_chunk_, cap_s_ - got);
      if (mb != b || mc != c) {
        return DataLoss(absl::StrCat(what, ": the message is bucket ", mb, " chunk ", mc,
                                     " (out of order or replayed)"));
      }
      if (count != expected) {
        return DataLoss(absl::StrCat(what, ": carries ", count, " slots, expected ", expected));
      }
      const uint64_t want = kTagHeaderBytes + expected * SlotBytes() + kSealTagBytes;
      if (m.size() != want) {
        return DataLoss(absl::StrCat(what, ": ", m.size(), " bytes for ", count,
                                     " slots of 3 tags of ", tag_bytes_, " bytes, expected ",
                                     want));
      }
      sealed_.append(m, kTagHeaderBytes, expected * SlotBytes());
      seals_.append(m, m.size() - kSealTagBytes, kSealTagBytes);
      got += expected;
    }
  }
  return absl::OkStatus();
}

absl::Status Session::ReceiveKeyAndOpen() {
  std::string m;
  TDS_RETURN_IF_ERROR(Recv("the sender's release key", m));
  TDS_RETURN_IF_ERROR(ExpectMessage(m, kKey, 1 + kReleaseKeyBytes, "release key message"));
  absl::StatusOr<ReleaseKey> key = ReleaseKey::FromBytes(std::string_view(m).substr(1));
  if (!key.ok()) return DataLoss(std::string(key.status().message()));
  if (sealed_.empty()) return absl::OkStatus();
  const uint64_t chunks = TagChunksPerBucket();
  uint64_t offset = 0;
  uint64_t index = 0;
  for (uint64_t b = 0; b < buckets_; ++b) {
    uint64_t got = 0;
    for (uint64_t c = 0; c < chunks; ++c, ++index) {
      const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(tag_chunk_, cap_s_ - got));
      std::string header(1, static_cast<char>(kTags));
      PutFixed32BE(&header, static_cast<uint32_t>(b));
      PutFixed32BE(&header, static_cast<uint32_t>(c));
      PutFixed32BE(&header, count);
      const size_t bytes = count * SlotBytes();
      if (!key->Open(index, header, reinterpret_cast<uint8_t*>(sealed_.data()) + offset, bytes,
                     reinterpret_cast<const uint8_t*>(seals_.data()) + index * kSealTagBytes)) {
        return DataLoss(absl::StrCat("the sender's tags of bucket ", b, " chunk ", c,
                                     " do not verify under the released key"));
      }
      offset += bytes;
      got += count;
    }
  }
  return absl::OkStatus();
}

absl::Status Session::SendFinish(uint64_t intersection_size, const std::vector<uint64_t>& slots) {
  std::string finish;
  finish.push_back(static_cast<char>(kFinish));
  PutFixed64BE(&finish, intersection_size);
  PutFixed64BE(&finish, slots.size());
  TDS_RETURN_IF_ERROR(Send(std::move(finish), "the finish message"));
  for (uint64_t first = 0; first < slots.size(); first += tag_chunk_) {
    const uint64_t count = std::min<uint64_t>(tag_chunk_, slots.size() - first);
    std::string m;
    m.reserve(kPositionsHeaderBytes + count * kPositionBytes);
    m.push_back(static_cast<char>(kPositions));
    PutFixed32BE(&m, static_cast<uint32_t>(count));
    for (uint64_t i = 0; i < count; ++i) PutFixed64BE(&m, slots[first + i]);
    TDS_RETURN_IF_ERROR(Send(std::move(m), "matched positions"));
  }
  return absl::OkStatus();
}

// ---- Sender ----

absl::Status Session::RunSender(PsiResult& result) {
  release_key_.emplace();
  if (n_r_ > 0 && n_s_ > 0) {
    Partition();
    std::vector<uint8_t> choices(kCodeBits);
    {
      uint8_t bits[kCodeBits / 8];
      randombytes_buf(bits, sizeof(bits));
      for (size_t j = 0; j < kCodeBits; ++j) choices[j] = (bits[j / 8] >> (j % 8)) & 1;
      sodium_memzero(bits, sizeof(bits));
    }
    std::string first;
    TDS_RETURN_IF_ERROR(Recv("the receiver's base OT message", first));
    TDS_RETURN_IF_ERROR(ExpectTag(first, kOtFirst, "the receiver's base OT message"));
    std::string reply;
    std::vector<OtSeed> seeds;
    absl::Status s =
        BaseOtReceive(std::string_view(first).substr(1), choices, reply, seeds, pool_.get());
    if (!s.ok()) {
      return Error(s.code(),
                   absl::StrCat("the receiver's base OT message: ", std::string(s.message())));
    }
    TDS_RETURN_IF_ERROR(Send(std::string(1, static_cast<char>(kOtReply)) + reply, "ot_reply"));
    OprfSender oprf(seeds, choices);
    WipeSeeds(seeds);
    sodium_memzero(choices.data(), choices.size());

    SecureRandom random;
    slot_group_.reserve(buckets_ * cap_s_);
    for (uint64_t b = 0; b < buckets_; ++b) {
      TDS_RETURN_IF_ERROR(SenderBucket(b, oprf, random));
      Progress("bucket", b + 1, buckets_);
    }
    std::string ready;
    TDS_RETURN_IF_ERROR(Recv("the receiver's ready message", ready));
    if (ready.size() != 9 || static_cast<uint8_t>(ready[0]) != kReady ||
        DecodeFixed64BE(ready.data() + 1) != buckets_ * cap_s_) {
      return MalformedMessage(ready, kReady, 9, "ready message",
                              absl::StrCat(", ", buckets_ * cap_s_, " slots"));
    }
  }
  TDS_RETURN_IF_ERROR(Release());
  return ReceiveFinish(result);
}

absl::Status Session::SenderBucket(uint64_t b, OprfSender& oprf, SecureRandom& random) {
  std::vector<Digest> unique;
  const uint32_t group_base = groups_.count();
  TDS_RETURN_IF_ERROR(DigestBucket(b, cap_s_, unique, groups_));
  // The slots: S's distinct items in a uniformly random order, padded with dummies to cap_S,
  // so that neither the input order nor the number of distinct items per bucket shows.
  std::vector<uint32_t> slots(cap_s_, kDummy);
  for (uint32_t k = 0; k < unique.size(); ++k) slots[k] = k;
  random.Shuffle(slots.data(), slots.size());

  // q rows of every bin of the bucket, slab by slab as the receiver's columns arrive.
  // 64-byte aligned, so that a row is one cache line.
  std::unique_ptr<uint64_t[], decltype(&std::free)> q(
      static_cast<uint64_t*>(std::aligned_alloc(64, bins_ * kCodeBytes)), &std::free);
  if (q == nullptr) {
    return Error(absl::StatusCode::kResourceExhausted,
                 absl::StrCat("cannot allocate ", bins_ * kCodeBytes, " bytes for the bucket"));
  }
  std::vector<uint64_t> u(std::min(kSlabRows, bins_) * kCodeWords);
  const uint64_t slabs = SlabsPerBucket();
  for (uint64_t slab = 0; slab < slabs; ++slab) {
    const uint64_t first = slab * kSlabRows;
    const uint64_t rows = std::min(kSlabRows, bins_ - first);
    const std::string what = absl::StrCat("the receiver's columns of bucket ", b, " slab ", slab);
    std::string m;
    TDS_RETURN_IF_ERROR(Recv(what, m));
    TDS_RETURN_IF_ERROR(ExpectTag(m, kColumns, what));
    if (m.size() < kSlabHeaderBytes) {
      return DataLoss(absl::StrCat(what, ": truncated header (", m.size(), " bytes)"));
    }
    const uint32_t mb = DecodeFixed32BE(m.data() + 1);
    const uint32_t ms = DecodeFixed32BE(m.data() + 5);
    const uint32_t mrows = DecodeFixed32BE(m.data() + 9);
    if (mb != b || ms != slab) {
      return DataLoss(absl::StrCat(what, ": the message is bucket ", mb, " slab ", ms,
                                   " (out of order or replayed)"));
    }
    if (mrows != rows) {
      return DataLoss(absl::StrCat(what, ": carries ", mrows, " rows, expected ", rows));
    }
    const uint64_t want = kSlabHeaderBytes + rows * kCodeBytes;
    if (m.size() != want) {
      return DataLoss(
          absl::StrCat(what, ": ", m.size(), " bytes for ", rows, " rows, expected ", want));
    }
    std::memcpy(u.data(), m.data() + kSlabHeaderBytes, rows * kCodeBytes);
    m = {};
    oprf.Extend(u.data(), rows, q.get() + first * kCodeWords, *pool_);
  }
  u = {};

  // Tags: for slot item y and hash index h, F(instance of bin h(y), C(y, h)).
  const uint64_t chunks = TagChunksPerBucket();
  const uint64_t chunk_base = b * chunks;
  for (uint64_t c = 0; c < chunks; ++c) {
    const uint64_t first = c * tag_chunk_;
    const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(tag_chunk_, cap_s_ - first));
    std::string m;
    m.push_back(static_cast<char>(kTags));
    PutFixed32BE(&m, static_cast<uint32_t>(b));
    PutFixed32BE(&m, static_cast<uint32_t>(c));
    PutFixed32BE(&m, count);
    m.resize(kTagHeaderBytes + count * SlotBytes());
    auto* out = reinterpret_cast<uint8_t*>(m.data()) + kTagHeaderBytes;
    ParallelFor(*pool_, count, kMinSlice, [&](size_t begin, size_t end) {
      const size_t n = end - begin;
      std::vector<uint8_t> in(n * 3 * 16, 0);
      std::vector<uint32_t> cand(n * 3, 0);
      for (size_t i = begin; i < end; ++i) {
        const uint32_t k = slots[first + i];
        if (k == kDummy) continue;
        CandidateBins(unique[k].word, bins_, &cand[(i - begin) * 3]);
        for (unsigned h = 0; h < 3; ++h) CodeInput(unique[k], h, &in[((i - begin) * 3 + h) * 16]);
      }
      std::vector<uint64_t> codes(n * 3 * kCodeWords);
      prc_->Encode(in.data(), n * 3, codes.data());
      RowHasher hasher;
      constexpr size_t kAhead = 6;  // slots whose q rows are prefetched ahead (random bins)
      for (size_t i = begin; i < end; ++i) {
        if (i + kAhead < end && slots[first + i + kAhead] != kDummy) {
          for (unsigned h = 0; h < 3; ++h) {
            __builtin_prefetch(q.get() + size_t{cand[(i + kAhead - begin) * 3 + h]} * kCodeWords);
          }
        }
        uint8_t* slot_out = out + i * SlotBytes();
        const uint32_t k = slots[first + i];
        if (k == kDummy) {
          randombytes_buf(slot_out, SlotBytes());
          continue;
        }
        for (unsigned h = 0; h < 3; ++h) {
          const uint32_t bin = cand[(i - begin) * 3 + h];
          oprf.Evaluate(b * bins_ + bin, q.get() + size_t{bin} * kCodeWords,
                        codes.data() + ((i - begin) * 3 + h) * kCodeWords, hasher,
                        slot_out + h * tag_bytes_, tag_bytes_);
        }
      }
    });
    uint8_t seal[kSealTagBytes];
    release_key_->Seal(chunk_base + c, std::string_view(m).substr(0, kTagHeaderBytes), out,
                       count * SlotBytes(), seal);
    m.append(reinterpret_cast<const char*>(seal), kSealTagBytes);
    TDS_RETURN_IF_ERROR(Send(std::move(m), absl::StrCat("tags of bucket ", b, " chunk ", c)));
  }
  for (uint64_t i = 0; i < cap_s_; ++i) {
    slot_group_.push_back(slots[i] == kDummy ? kDummy : group_base + slots[i]);
  }
  return absl::OkStatus();
}

absl::Status Session::Release() {
  if (options_.before_release) {
    absl::Status gate =
        options_.before_release(PsiReleaseInfo{.own_items = n_s_, .peer_items = n_r_});
    if (!gate.ok()) {
      return Error(gate.code(), absl::StrCat("release refused: ", std::string(gate.message())));
    }
  }
  std::string m(1, static_cast<char>(kKey));
  m += release_key_->Release();
  return Send(std::move(m), "the release key");
}

absl::Status Session::ReceiveFinish(PsiResult& result) {
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
  const uint64_t total_slots = slot_group_.size();
  if (size > n_r_ || positions > groups_.count() || (size == 0) != (positions == 0)) {
    return DataLoss(absl::StrCat("the finish message announces an intersection of ", size, " with ",
                                 positions, " of this party's ", groups_.count(),
                                 " distinct items; the receiver has ", n_r_, " items"));
  }
  uint64_t got = 0;
  uint64_t next_min = 0;
  for (uint64_t index = 0; got < positions; ++index) {
    const std::string what = absl::StrCat("the receiver's position chunk ", index);
    std::string c;
    TDS_RETURN_IF_ERROR(Recv(what, c));
    const uint64_t expected = std::min<uint64_t>(tag_chunk_, positions - got);
    TDS_RETURN_IF_ERROR(ExpectTag(c, kPositions, what));
    if (c.size() < kPositionsHeaderBytes || DecodeFixed32BE(c.data() + 1) != expected ||
        c.size() != kPositionsHeaderBytes + expected * kPositionBytes) {
      return DataLoss(absl::StrCat(what, ": ", c.size(), " bytes, expected ", expected,
                                   " positions (",
                                   kPositionsHeaderBytes + expected * kPositionBytes, " bytes)"));
    }
    for (uint64_t i = 0; i < expected; ++i) {
      const uint64_t p = DecodeFixed64BE(c.data() + kPositionsHeaderBytes + i * kPositionBytes);
      if (p < next_min || p >= total_slots) {
        return DataLoss(
            absl::StrCat(what, ": position ", p, " is out of order or not below ", total_slots));
      }
      if (slot_group_[p] == kDummy) {
        return DataLoss(absl::StrCat(what, ": position ", p, " names a padding slot"));
      }
      next_min = p + 1;
      groups_.ForEachMember(slot_group_[p], [&](uint32_t item) { result.matched.push_back(item); });
    }
    got += expected;
  }
  std::sort(result.matched.begin(), result.matched.end());
  result.intersection_size = size;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PsiResult> RunKkrtPsi(PsiRole role, const std::vector<std::string>& items,
                                     const KkrtPsiOptions& options, Link& link) {
  Session session(role, items, options, link);
  return session.Run();
}

}  // namespace tds::compute::psi
