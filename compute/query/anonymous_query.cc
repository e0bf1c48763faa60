#include "compute/query/anonymous_query.h"

// Wire format (integers big-endian; C = consumer, P = provider). Every message starts with a
// one-byte tag; a message of the wrong tag, length or count ends the session.
//
//   p_hello   := 0x21 version:u8 role:u8 k:u64 buckets:u32 bucket_entries:u32
//                payload_bytes:u32 columns:u32 chunk_entries:u32 max_batch:u32 salt[16]
//                                                                      (51 bytes; role 1)
//   c_hello   := 0x21 version:u8 role:u8 batch:u32                     (7 bytes; role 0)
//   request   := 0x22 count:u32 (bucket:u32 blinded:point)[count]      C -> P, count = batch
//   answers   := 0x23 count:u32 evaluated:point[count]                 P -> C, request order
//   chunk     := 0x24 bucket:u32 first:u32 count:u32 entry[count]      P -> C
//   done      := 0x25                                                  C -> P (1 byte)
//   point     := 32 bytes, a canonical ristretto255 encoding, not the identity
//   entry     := prepared_table.h (tag[16] sealed[4 + payload_bytes] mac[16])
//
// Session: both send their hello, then read the peer's. C sends one request; P checks it,
// calls its gate (QueryProviderOptions::before_answer) and, if that returned OK, sends answers
// and then, for each distinct bucket of the request in ascending order, the bucket's
// bucket_entries entries in chunks of chunk_entries (the last holding the rest; none for an
// empty table). C knows every chunk's bucket, first entry and count in advance and checks them
// with the length before using a byte. C ends with done, which says nothing about the result.
// Every message's size is thus a function of (batch, distinct buckets, the table's public
// geometry) only — not of the identifiers, nor of whether they matched.

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "compute/protocol_session.h"

namespace tds::compute::query {
namespace {

enum Tag : uint8_t {
  kHello = 0x21,
  kRequest = 0x22,
  kAnswers = 0x23,
  kChunk = 0x24,
  kDone = 0x25,
};

constexpr uint8_t kVersion = 1;
constexpr uint8_t kConsumerRole = 0;
constexpr uint8_t kProviderRole = 1;
constexpr size_t kProviderHelloBytes = 51;
constexpr size_t kConsumerHelloBytes = 7;
constexpr size_t kCountHeaderBytes = 5;  // tag count:u32
constexpr size_t kRequestItemBytes = 4 + kPointBytes;
constexpr size_t kChunkHeaderBytes = 13;
constexpr size_t kSealOverheadBytes = 4 + 16;  // length prefix + Poly1305 tag
constexpr size_t kSlicesPerWorker = 2;
constexpr size_t kMinSlice = 8;

const uint8_t* U8(const char* p) { return reinterpret_cast<const uint8_t*>(p); }

// Runs fn over [0, n): inline for small n, else on `pool` or a pool of `threads` started here.
absl::Status ParallelFor(WorkerPool* pool, int threads, size_t n, const Batch::SliceFn& fn) {
  if (n < kParallelBatch) return fn(0, n);
  std::optional<WorkerPool> own;
  if (pool == nullptr) pool = &own.emplace(threads);
  return Batch::Start(*pool, n, static_cast<size_t>(pool->size()) * kSlicesPerWorker, kMinSlice, fn)
      ->Wait();
}

// The session plumbing (compute/protocol_session.h) with this protocol's texts: messages are
// named "the <peer>'s <what>" and read with their tag checked.
class Channel : public ProtocolSession {
 public:
  Channel(const char* self, const char* peer, Link& link)
      : ProtocolSession("anonymous query", self, peer, link) {}

  // The next message, never empty, with tag `tag` (what = what was awaited, for errors).
  absl::Status Recv(Tag tag, const std::string& what, std::string& out) {
    TDS_RETURN_IF_ERROR(ProtocolSession::Recv(absl::StrCat("the ", peer(), "'s ", what), out));
    const uint8_t got = static_cast<uint8_t>(out[0]);
    if (got != tag) {
      return DataLoss(absl::StrCat("expected the ", peer(), "'s ", what, " (tag ", TagText(tag),
                                   "), got a message with tag ", TagText(got), " (", out.size(),
                                   " bytes)"));
    }
    return absl::OkStatus();
  }

  absl::Status ExpectSize(const std::string& m, size_t want, const std::string& what) const {
    if (m.size() != want) {
      return DataLoss(
          absl::StrCat("the ", peer(), "'s ", what, " has ", m.size(), " bytes, expected ", want));
    }
    return absl::OkStatus();
  }

  absl::Status Send(std::string message, const std::string& what) {
    return ProtocolSession::Send(std::move(message), absl::StrCat("the ", what));
  }
};

// The table geometry the provider announces.
struct Geometry {
  uint64_t k = 0;
  uint32_t buckets = 0;
  uint32_t bucket_entries = 0;
  uint32_t payload_bytes = 0;
  uint32_t columns = 0;
  uint32_t chunk_entries = 0;
  uint32_t max_batch = 0;
  uint8_t salt[kSaltBytes] = {};

  size_t entry_bytes() const { return PreparedTable::EntryBytes(payload_bytes); }
};

// Secret bytes wiped when the owner goes out of scope.
struct SecretBytes {
  explicit SecretBytes(size_t n) : bytes(n, 0) {}
  ~SecretBytes() { sodium_memzero(bytes.data(), bytes.size()); }
  std::vector<uint8_t> bytes;
};

// The distinct buckets of a request, ascending, each with the request positions in it.
std::vector<std::pair<uint32_t, std::vector<uint32_t>>> GroupByBucket(
    const std::vector<uint32_t>& buckets) {
  std::vector<uint32_t> order(buckets.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return buckets[a] < buckets[b]; });
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> groups;
  for (uint32_t i : order) {
    if (groups.empty() || groups.back().first != buckets[i]) groups.push_back({buckets[i], {}});
    groups.back().second.push_back(i);
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Consumer

absl::Status ParseProviderHello(Channel& ch, const std::string& m,
                                const QueryConsumerOptions& options, Geometry& g) {
  TDS_RETURN_IF_ERROR(ch.ExpectSize(m, kProviderHelloBytes, "hello"));
  const uint8_t version = static_cast<uint8_t>(m[1]);
  const uint8_t role = static_cast<uint8_t>(m[2]);
  if (version != kVersion) {
    return ch.DataLoss(
        absl::StrCat("the provider speaks version ", version, ", expected ", kVersion));
  }
  if (role != kProviderRole) {
    return ch.DataLoss(absl::StrCat("the peer's hello announces role ", role,
                                    ", expected the provider (", kProviderRole, ")"));
  }
  g.k = DecodeFixed64BE(m.data() + 3);
  g.buckets = DecodeFixed32BE(m.data() + 11);
  g.bucket_entries = DecodeFixed32BE(m.data() + 15);
  g.payload_bytes = DecodeFixed32BE(m.data() + 19);
  g.columns = DecodeFixed32BE(m.data() + 23);
  g.chunk_entries = DecodeFixed32BE(m.data() + 27);
  g.max_batch = DecodeFixed32BE(m.data() + 31);
  std::memcpy(g.salt, m.data() + 35, kSaltBytes);
  if (g.k < std::max<uint64_t>(options.required_k, 1)) {
    return ch.Error(absl::StatusCode::kFailedPrecondition,
                    absl::StrCat("the provider announces k = ", g.k,
                                 ", the contract requires at least ", options.required_k));
  }
  if (g.buckets < 1 || g.buckets > options.max_buckets) {
    return ch.DataLoss(absl::StrCat("the provider announces ", g.buckets,
                                    " buckets, expected 1 to ", options.max_buckets));
  }
  // With several buckets each must be able to hold k rows: fewer entries than k would give
  // away an identifier to one of fewer than k candidates.
  if (g.buckets > 1 && g.bucket_entries < g.k) {
    return ch.Error(absl::StatusCode::kFailedPrecondition,
                    absl::StrCat("the provider's ", g.buckets, " buckets of ", g.bucket_entries,
                                 " entries cannot each hold k = ", g.k, " rows"));
  }
  if (g.bucket_entries > options.max_bucket_entries) {
    return ch.DataLoss(absl::StrCat("the provider announces buckets of ", g.bucket_entries,
                                    " entries, above the limit of ", options.max_bucket_entries));
  }
  if (g.columns > options.max_columns) {
    return ch.DataLoss(absl::StrCat("the provider announces ", g.columns,
                                    " columns, above the limit of ", options.max_columns));
  }
  if (g.payload_bytes > options.max_payload_bytes || g.payload_bytes < 4ull * g.columns) {
    return ch.DataLoss(absl::StrCat("the provider announces payloads of ", g.payload_bytes,
                                    " bytes, expected ", 4ull * g.columns, " to ",
                                    options.max_payload_bytes, " for ", g.columns, " columns"));
  }
  if (g.chunk_entries < 1 ||
      kChunkHeaderBytes + uint64_t{g.chunk_entries} * g.entry_bytes() > options.max_chunk_bytes) {
    return ch.DataLoss(absl::StrCat("the provider announces chunks of ", g.chunk_entries,
                                    " entries of ", g.entry_bytes(), " bytes, expected 1 entry to ",
                                    options.max_chunk_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<QueryAnswer>> Consume(Channel& ch, const std::vector<std::string>& ids,
                                                 const QueryConsumerOptions& options) {
  const size_t n = ids.size();
  if (n == 0 || n > UINT32_MAX) {
    return ch.Error(absl::StatusCode::kInvalidArgument,
                    absl::StrCat("a batch of ", n, " identifiers, expected 1 to ", UINT32_MAX));
  }
  std::string hello(1, static_cast<char>(kHello));
  hello.push_back(static_cast<char>(kVersion));
  hello.push_back(static_cast<char>(kConsumerRole));
  PutFixed32BE(&hello, static_cast<uint32_t>(n));
  TDS_RETURN_IF_ERROR(ch.Send(std::move(hello), "hello"));

  std::string m;
  TDS_RETURN_IF_ERROR(ch.Recv(kHello, "hello", m));
  Geometry g;
  TDS_RETURN_IF_ERROR(ParseProviderHello(ch, m, options, g));
  if (n > g.max_batch) {
    return ch.Error(absl::StatusCode::kInvalidArgument,
                    absl::StrCat("a batch of ", n, " identifiers exceeds the provider's limit of ",
                                 g.max_batch));
  }

  // Blind every identifier under a fresh r and note its bucket.
  std::vector<Blinding> blindings(n);
  std::vector<uint32_t> buckets(n);
  std::string request(kCountHeaderBytes + n * kRequestItemBytes, '\0');
  request[0] = static_cast<char>(kRequest);
  {
    std::string count;
    PutFixed32BE(&count, static_cast<uint32_t>(n));
    std::memcpy(request.data() + 1, count.data(), 4);
  }
  TDS_RETURN_IF_ERROR(
      ParallelFor(options.pool, options.threads, n, [&](size_t begin, size_t end) -> absl::Status {
        for (size_t i = begin; i < end; ++i) {
          buckets[i] = BucketOf(BucketHash(ids[i]), g.buckets);
          uint8_t* item = reinterpret_cast<uint8_t*>(request.data()) + kCountHeaderBytes +
                          i * kRequestItemBytes;
          for (int s = 0; s < 4; ++s) item[s] = static_cast<uint8_t>(buckets[i] >> (24 - 8 * s));
          if (!blindings[i].Blind(ids[i], item + 4)) {
            return ch.Error(absl::StatusCode::kInternal,
                            absl::StrCat("blinding identifier ", i, " failed"));
          }
        }
        return absl::OkStatus();
      }));
  TDS_RETURN_IF_ERROR(ch.Send(std::move(request), "request"));

  // Unblind the evaluations: y_i = k·H2(id_i), then the row tag and key.
  TDS_RETURN_IF_ERROR(ch.Recv(kAnswers, "answers", m));
  TDS_RETURN_IF_ERROR(ch.ExpectSize(m, kCountHeaderBytes + n * kPointBytes, "answers"));
  if (DecodeFixed32BE(m.data() + 1) != n) {
    return ch.DataLoss(absl::StrCat("the provider's answers carry ", DecodeFixed32BE(m.data() + 1),
                                    " points, expected ", n));
  }
  constexpr size_t kSecret = kTagBytes + kRowKeyBytes;
  SecretBytes secrets(n * kSecret);
  TDS_RETURN_IF_ERROR(
      ParallelFor(options.pool, options.threads, n, [&](size_t begin, size_t end) -> absl::Status {
        uint8_t y[kPointBytes];
        absl::Status status;
        for (size_t i = begin; i < end; ++i) {
          if (!blindings[i].Unblind(U8(m.data()) + kCountHeaderBytes + i * kPointBytes, y)) {
            status = ch.DataLoss(
                absl::StrCat("the provider's answer ", i, " is not a valid ristretto255 point"));
            break;
          }
          uint8_t* s = secrets.bytes.data() + i * kSecret;
          DeriveRowSecrets(g.salt, ids[i], y, s, s + kTagBytes);
        }
        sodium_memzero(y, sizeof(y));
        return status;
      }));

  // Each distinct bucket arrives once, in ascending order, cut into chunks.
  std::vector<QueryAnswer> answers(n);
  const size_t e = g.entry_bytes();
  const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {};
  SecretBytes plaintext(4 + size_t{g.payload_bytes});
  for (const auto& [bucket, members] : GroupByBucket(buckets)) {
    for (uint32_t first = 0; first < g.bucket_entries; first += g.chunk_entries) {
      const uint32_t count = std::min(g.chunk_entries, g.bucket_entries - first);
      const std::string what = absl::StrCat("chunk of bucket ", bucket, " at entry ", first);
      TDS_RETURN_IF_ERROR(ch.Recv(kChunk, what, m));
      if (m.size() < kChunkHeaderBytes) {
        return ch.DataLoss(
            absl::StrCat("the provider's ", what, " is truncated (", m.size(), " bytes)"));
      }
      const uint32_t got_bucket = DecodeFixed32BE(m.data() + 1);
      const uint32_t got_first = DecodeFixed32BE(m.data() + 5);
      const uint32_t got_count = DecodeFixed32BE(m.data() + 9);
      if (got_bucket != bucket || got_first != first || got_count != count) {
        return ch.DataLoss(absl::StrCat("expected the provider's ", what, " with ", count,
                                        " entries, got bucket ", got_bucket, " at entry ",
                                        got_first, " with ", got_count, " entries"));
      }
      TDS_RETURN_IF_ERROR(ch.ExpectSize(m, kChunkHeaderBytes + size_t{count} * e, what));
      const uint8_t* entries = U8(m.data()) + kChunkHeaderBytes;
      for (uint32_t j = 0; j < count; ++j) {
        const uint8_t* entry = entries + size_t{j} * e;
        for (uint32_t i : members) {
          const uint8_t* s = secrets.bytes.data() + size_t{i} * kSecret;
          if (answers[i].found || std::memcmp(entry, s, kTagBytes) != 0) continue;
          unsigned long long len = 0;
          if (crypto_aead_chacha20poly1305_ietf_decrypt(plaintext.bytes.data(), &len, nullptr,
                                                        entry + kTagBytes, e - kTagBytes, nullptr,
                                                        0, nonce, s + kTagBytes) != 0) {
            return ch.DataLoss(absl::StrCat("entry ", first + j, " of bucket ", bucket,
                                            " carries identifier ", i,
                                            "'s tag but does not decrypt under its key"));
          }
          const uint32_t payload =
              DecodeFixed32BE(reinterpret_cast<const char*>(plaintext.bytes.data()));
          if (payload > g.payload_bytes ||
              !DecodePayload(
                  std::string_view(reinterpret_cast<const char*>(plaintext.bytes.data()) + 4,
                                   payload),
                  g.columns, answers[i].columns)) {
            return ch.DataLoss(absl::StrCat("entry ", first + j, " of bucket ", bucket,
                                            " (identifier ", i, ") holds a malformed payload"));
          }
          answers[i].found = true;
        }
      }
    }
  }
  TDS_RETURN_IF_ERROR(ch.Send(std::string(1, static_cast<char>(kDone)), "done message"));
  return answers;
}

// ---------------------------------------------------------------------------------------------
// Provider

absl::StatusOr<QueryInfo> Provide(Channel& ch, const ProviderKey& key, const PreparedTable& table,
                                  const QueryProviderOptions& options) {
  if (table.key_fingerprint() != key.fingerprint()) {
    return ch.Error(absl::StatusCode::kFailedPrecondition,
                    "the table was prepared under a different key (another contract)");
  }
  const size_t e = table.entry_bytes();
  const uint32_t chunk_entries = static_cast<uint32_t>(std::clamp<size_t>(
      options.chunk_bytes / e, 1, std::max<uint32_t>(1, table.bucket_entries())));
  std::string hello(1, static_cast<char>(kHello));
  hello.push_back(static_cast<char>(kVersion));
  hello.push_back(static_cast<char>(kProviderRole));
  PutFixed64BE(&hello, table.k());
  PutFixed32BE(&hello, table.buckets());
  PutFixed32BE(&hello, table.bucket_entries());
  PutFixed32BE(&hello, table.payload_bytes());
  PutFixed32BE(&hello, table.columns());
  PutFixed32BE(&hello, chunk_entries);
  PutFixed32BE(&hello, options.max_batch);
  hello.append(reinterpret_cast<const char*>(table.salt()), kSaltBytes);
  TDS_RETURN_IF_ERROR(ch.Send(std::move(hello), "hello"));

  std::string m;
  TDS_RETURN_IF_ERROR(ch.Recv(kHello, "hello", m));
  TDS_RETURN_IF_ERROR(ch.ExpectSize(m, kConsumerHelloBytes, "hello"));
  if (static_cast<uint8_t>(m[1]) != kVersion) {
    return ch.DataLoss(absl::StrCat("the consumer speaks version ", static_cast<uint8_t>(m[1]),
                                    ", expected ", kVersion));
  }
  if (static_cast<uint8_t>(m[2]) != kConsumerRole) {
    return ch.DataLoss(absl::StrCat("the peer's hello announces role ", static_cast<uint8_t>(m[2]),
                                    ", expected the consumer (", kConsumerRole, ")"));
  }
  const uint32_t n = DecodeFixed32BE(m.data() + 3);
  if (n < 1 || n > options.max_batch) {
    return ch.Error(absl::StatusCode::kInvalidArgument,
                    absl::StrCat("the consumer announces a batch of ", n,
                                 " identifiers, expected 1 to ", options.max_batch));
  }

  std::string request;
  TDS_RETURN_IF_ERROR(ch.Recv(kRequest, "request", request));
  TDS_RETURN_IF_ERROR(
      ch.ExpectSize(request, kCountHeaderBytes + size_t{n} * kRequestItemBytes, "request"));
  if (DecodeFixed32BE(request.data() + 1) != n) {
    return ch.DataLoss(absl::StrCat("the consumer's request carries ",
                                    DecodeFixed32BE(request.data() + 1),
                                    " identifiers, its hello announced ", n));
  }
  std::vector<uint32_t> buckets(n);
  for (uint32_t i = 0; i < n; ++i) {
    const char* item = request.data() + kCountHeaderBytes + size_t{i} * kRequestItemBytes;
    buckets[i] = DecodeFixed32BE(item);
    if (buckets[i] >= table.buckets()) {
      return ch.DataLoss(absl::StrCat("the consumer's request item ", i, " names bucket ",
                                      buckets[i], ", expected below ", table.buckets()));
    }
    if (!IsUsablePoint(U8(item + 4))) {
      return ch.DataLoss(absl::StrCat("the consumer's request item ", i,
                                      " is not a valid non-identity ristretto255 point"));
    }
  }
  const auto groups = GroupByBucket(buckets);

  QueryInfo info;
  info.identifiers = n;
  info.buckets = groups.size();
  info.request_digest.resize(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(reinterpret_cast<uint8_t*>(info.request_digest.data()), U8(request.data()),
                     request.size());
  if (options.before_answer) {
    absl::Status gate = options.before_answer(info);
    if (!gate.ok()) {
      return ch.Error(gate.code(), absl::StrCat("answer refused: ", std::string(gate.message())));
    }
  }

  std::string answers(kCountHeaderBytes + size_t{n} * kPointBytes, '\0');
  answers[0] = static_cast<char>(kAnswers);
  std::memcpy(answers.data() + 1, request.data() + 1, 4);  // the count, checked equal to n
  TDS_RETURN_IF_ERROR(
      ParallelFor(options.pool, options.threads, n, [&](size_t begin, size_t end) -> absl::Status {
        for (size_t i = begin; i < end; ++i) {
          const uint8_t* in = U8(request.data()) + kCountHeaderBytes + i * kRequestItemBytes + 4;
          uint8_t* out =
              reinterpret_cast<uint8_t*>(answers.data()) + kCountHeaderBytes + i * kPointBytes;
          if (!key.Evaluate(in, out)) {
            return ch.Error(absl::StatusCode::kInternal,
                            absl::StrCat("evaluating request item ", i, " failed"));
          }
        }
        return absl::OkStatus();
      }));
  TDS_RETURN_IF_ERROR(ch.Send(std::move(answers), "answers"));

  for (const auto& group : groups) {
    const uint32_t bucket = group.first;
    for (uint32_t first = 0; first < table.bucket_entries(); first += chunk_entries) {
      const uint32_t count = std::min(chunk_entries, table.bucket_entries() - first);
      const std::string_view entries = table.Entries(bucket, first, count);
      std::string chunk;
      chunk.reserve(kChunkHeaderBytes + entries.size());
      chunk.push_back(static_cast<char>(kChunk));
      PutFixed32BE(&chunk, bucket);
      PutFixed32BE(&chunk, first);
      PutFixed32BE(&chunk, count);
      chunk.append(entries.data(), entries.size());
      TDS_RETURN_IF_ERROR(
          ch.Send(std::move(chunk), absl::StrCat("chunk of bucket ", bucket, " at ", first)));
    }
  }

  TDS_RETURN_IF_ERROR(ch.Recv(kDone, "done message", m));
  TDS_RETURN_IF_ERROR(ch.ExpectSize(m, 1, "done message"));
  return info;
}

}  // namespace

absl::StatusOr<std::vector<QueryAnswer>> RunQueryConsumer(const std::vector<std::string>& ids,
                                                          const QueryConsumerOptions& options,
                                                          Link& link) {
  EnsureSodium();
  Channel ch("consumer", "provider", link);
  absl::StatusOr<std::vector<QueryAnswer>> answers = Consume(ch, ids, options);
  if (!answers.ok()) return ch.Fail(answers.status());
  return answers;
}

absl::StatusOr<QueryInfo> RunQueryProvider(const ProviderKey& key, const PreparedTable& table,
                                           const QueryProviderOptions& options, Link& link) {
  EnsureSodium();
  Channel ch("provider", "consumer", link);
  absl::StatusOr<QueryInfo> info = Provide(ch, key, table, options);
  if (!info.ok()) return ch.Fail(info.status());
  return info;
}

}  // namespace tds::compute::query
