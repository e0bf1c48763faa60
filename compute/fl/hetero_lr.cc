// Hetero-LR: message grammar (one Link message each; integers big-endian).
//
//   hello       := 0x02 || terms:u32 || key_len:u32 || PaillierPublicKey::Serialize()[key_len]
//                  || options fingerprint (text)                        guest <-> host
//   host_share  := 0x03 || count:u32 || [[u_B]]_H ciphertext[count]                host -> guest
//   guest_share := 0x04 || count:u32 || [[u_A + 2 - 4y]]_G ciphertext[count]       guest -> host
//   masked      := 0x05 || count:u32 || [[G_j + R_j]] ciphertext[count], under the receiver's
//                  key                                                    guest <-> host
//   decrypted   := 0x06 || count:u32 || (G_j + R_j mod n) plaintext[count]        guest <-> host
//   scores      := 0x08 || count:u32 || u_B double[count] (IEEE-754, little-endian)
//                                                                         host -> guest (scoring)
// host_share, guest_share, masked and decrypted carry at most kChunkElements elements per
// message (<= 1 MB with 4096-bit keys): n elements go as ceil(n / kChunkElements) messages in
// order, every one full but the last. Both parties send these at the same time, so each reads
// the peer's messages on a second thread while sending (neither may block the other on a full
// buffer). `terms` in the hello is the number of gradient terms the sender will send masked
// (its feature count, plus the intercept for the guest; 1..kMaxGradientTerms). Every count
// must match what the receiver expects (the batch size, or the terms announced) before
// anything is allocated for it.
//
// Per mini-batch, both parties run the same step with their own share v of the residual
// 4d = u_A + u_B + 2 - 4y (the host's v = u_B, the guest's v = u_A + 2 - 4y):
//   send [[v]]_own; receive [[v']]_peer; [[4d]]_peer = [[v']]_peer (+) v;
//   send [[G_j + R_j]]_peer = prod_i [[4d_i]]^x_ij * Enc_peer(R_j; uniform r), R_j uniform mod n;
//   decrypt the peer's masked gradient with the own key and send it back;
//   receive G_j + R_j mod n_peer, remove R_j.

#include "compute/fl/hetero_lr.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace tds::compute::fl {
namespace {

enum Tag : uint8_t {
  kHello = 2,
  kHostShare = 3,
  kGuestShare = 4,
  kMasked = 5,
  kDecrypted = 6,
  kScores = 8,
};

constexpr size_t kMaxGradientTerms = 1 << 16;
constexpr size_t kChunkElements = 1024;

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A message of fixed-width elements: tag || count:u32 || elements[first, first + count), with
// count cut at the end of `elements`.
std::string Frame(Tag tag, const std::vector<std::string>& elements, size_t first, size_t count) {
  count = std::min(count, elements.size() - first);
  size_t total = 5;
  for (size_t i = first; i < first + count; ++i) total += elements[i].size();
  std::string out;
  out.reserve(total);
  out.push_back(static_cast<char>(tag));
  PutFixed32BE(&out, static_cast<uint32_t>(count));
  for (size_t i = first; i < first + count; ++i) out += elements[i];
  return out;
}

// Checks tag, count and length of a framed message; returns the element area.
absl::StatusOr<std::string_view> Unframe(const std::string& m, Tag tag, size_t expected_count,
                                         size_t width, const char* what) {
  if (m.empty() || static_cast<uint8_t>(m[0]) != tag) {
    return absl::InvalidArgumentError(absl::StrCat("hetero-lr: expected ", what, " (tag ", tag,
                                                   "), got tag ",
                                                   m.empty() ? -1 : static_cast<uint8_t>(m[0])));
  }
  if (m.size() < 5)
    return absl::InvalidArgumentError(absl::StrCat("hetero-lr: ", what, " truncated"));
  const uint32_t count = DecodeFixed32BE(m.data() + 1);
  if (count != expected_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("hetero-lr: ", what, " has ", count, " elements, expected ", expected_count));
  }
  if (m.size() != 5 + static_cast<size_t>(count) * width) {
    return absl::InvalidArgumentError(absl::StrCat("hetero-lr: ", what, " is ", m.size(),
                                                   " bytes, expected ", 5 + count * width));
  }
  return std::string_view(m).substr(5);
}

// Receives `count` elements of `width` bytes sent as chunks of `tag`; returns them concatenated.
absl::StatusOr<std::string> RecvChunks(Link& link, Tag tag, size_t count, size_t width,
                                       const char* what) {
  std::string out;
  out.reserve(count * width);
  for (size_t first = 0; first < count; first += kChunkElements) {
    auto m = link.Recv();
    if (!m.ok()) return m.status();
    auto body = Unframe(*m, tag, std::min(kChunkElements, count - first), width, what);
    if (!body.ok()) return body.status();
    out += *body;
  }
  return out;
}

// Sends `elements` as chunks of `tag` while a second thread receives the peer's `peer_count`
// elements (chunks of `peer_tag`, `peer_width` bytes each). On a failure of either side the
// link is closed, which unblocks the other; the first cause is returned.
absl::StatusOr<std::string> Exchange(Link& link, Tag tag, const std::vector<std::string>& elements,
                                     Tag peer_tag, size_t peer_count, size_t peer_width,
                                     const char* what) {
  absl::StatusOr<std::string> in = absl::UnknownError("not received");
  std::thread reader([&] {
    in = RecvChunks(link, peer_tag, peer_count, peer_width, what);
    if (!in.ok()) link.Close();
  });
  absl::Status sent;
  for (size_t first = 0; first < elements.size() && sent.ok(); first += kChunkElements) {
    sent = link.Send(Frame(tag, elements, first, kChunkElements));
  }
  if (!sent.ok()) link.Close();
  reader.join();
  // A reader cancelled by our own Close after a failed send reports the send's cause.
  if (!in.ok() && (sent.ok() || in.status().code() != absl::StatusCode::kCancelled)) {
    return in.status();
  }
  if (!sent.ok()) return sent;
  return in;
}

// `count` ciphertexts under `pk` (range and unit checks, in parallel).
absl::StatusOr<std::vector<Ciphertext>> ParseCiphertexts(const PaillierPublicKey& pk,
                                                         std::string_view bytes, size_t count,
                                                         WorkerPool& workers, const char* what) {
  auto cts = pk.DeserializeCiphertexts(bytes, count, workers);
  if (!cts.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hetero-lr: ", what, ": ", cts.status().message()));
  }
  return cts;
}

std::string Fingerprint(const HeteroLrOptions& o, size_t rows) {
  return absl::StrCat("hetero-lr v2 rows=", rows, " epochs=", o.epochs, " batch=", o.batch_size,
                      " lr=", o.learning_rate, " l2=", o.l2, " frac=", o.frac_bits,
                      " seed=", o.batch_seed, " max_rows=", o.max_rows_per_epoch);
}

// What the hello tells about the peer.
struct PeerInfo {
  PaillierPublicKey pk;
  size_t terms;  // gradient terms the peer sends masked each batch
};

// Sends this party's key, gradient term count and options; checks the peer's.
absl::StatusOr<PeerInfo> Hello(Link& peer, const HeteroLrOptions& o, size_t rows,
                               const PaillierPublicKey& own, size_t own_terms) {
  const std::string mine = Fingerprint(o, rows);
  const std::string key = own.Serialize();
  std::string hello(1, static_cast<char>(kHello));
  PutFixed32BE(&hello, static_cast<uint32_t>(own_terms));
  PutFixed32BE(&hello, static_cast<uint32_t>(key.size()));
  hello += key;
  hello += mine;
  if (absl::Status s = peer.Send(std::move(hello)); !s.ok()) return s;
  auto m = peer.Recv();
  if (!m.ok()) return m.status();
  if (m->size() < 9 || static_cast<uint8_t>((*m)[0]) != kHello) {
    return absl::InvalidArgumentError("hetero-lr: expected the peer's hello");
  }
  const uint32_t terms = DecodeFixed32BE(m->data() + 1);
  const uint32_t key_len = DecodeFixed32BE(m->data() + 5);
  if (key_len > m->size() - 9) {
    return absl::InvalidArgumentError(absl::StrCat("hetero-lr: peer hello announces a ", key_len,
                                                   "-byte key in ", m->size(), " bytes"));
  }
  const std::string_view theirs = std::string_view(*m).substr(9 + key_len);
  if (theirs != mine) {
    return absl::FailedPreconditionError(
        absl::StrCat("hetero-lr: parties disagree on rows or options: mine '", mine, "', peer '",
                     std::string(theirs), "'"));
  }
  if (terms == 0 || terms > kMaxGradientTerms) {
    return absl::InvalidArgumentError(
        absl::StrCat("hetero-lr: peer announces ", terms, " gradient terms"));
  }
  auto pk = PaillierPublicKey::Deserialize(std::string_view(*m).substr(9, key_len));
  if (!pk.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hetero-lr: peer public key: ", pk.status().message()));
  }
  if (pk->modulus_bits() < o.min_key_bits) {
    return absl::FailedPreconditionError(absl::StrCat(
        "hetero-lr: peer key has ", pk->modulus_bits(), " bits, need >= ", o.min_key_bits));
  }
  if (*pk == own) {
    return absl::FailedPreconditionError("hetero-lr: peer sent this party's own public key");
  }
  return PeerInfo{*std::move(pk), terms};
}

absl::Status CheckOptions(const HeteroLrOptions& o, const Matrix& x) {
  if (o.epochs < 1 || o.batch_size == 0 || o.batch_size > (1u << 20) || o.frac_bits < 4 ||
      o.frac_bits > 24 || !(o.learning_rate > 0)) {
    return absl::InvalidArgumentError(
        "hetero-lr: need epochs >= 1, 1 <= batch_size <= 2^20, 4 <= frac_bits <= 24, "
        "learning_rate > 0");
  }
  if (x.rows == 0) return absl::InvalidArgumentError("hetero-lr: no rows");
  if (x.cols + 1 > kMaxGradientTerms)
    return absl::InvalidArgumentError("hetero-lr: too many features");
  return absl::OkStatus();
}

void ApplyGradient(const HeteroLrOptions& o, const std::vector<double>& g, LrWeights& m,
                   bool with_bias) {
  for (size_t j = 0; j < m.w.size(); ++j) m.w[j] -= o.learning_rate * (g[j] + o.l2 * m.w[j]);
  if (with_bias) m.bias -= o.learning_rate * g[m.w.size()];
}

// One party of a run: its key, the peer's, the randomness pools and the per-batch step that
// guest and host share (they differ only in their share v, their tags and the intercept).
class Party {
 public:
  Party(const Matrix& x, const PaillierPrivateKey& own, PeerInfo peer, Link& link,
        WorkerPool& workers, bool with_bias, Tag send_tag, Tag recv_tag, int frac_bits,
        HeteroLrStats& stats)
      : x_(x),
        own_(own),
        peer_(std::move(peer)),
        link_(link),
        workers_(workers),
        with_bias_(with_bias),
        send_tag_(send_tag),
        recv_tag_(recv_tag),
        stats_(stats),
        fp_(frac_bits),
        own_pool_(own, workers),
        peer_pool_(peer_.pk, workers) {}

  size_t terms() const { return x_.cols + (with_bias_ ? 1 : 0); }
  const FixedPoint& fp() const { return fp_; }

  // Fills the pools with an epoch's randomness: one own-key r^n per row, one peer-key r^n per
  // masked gradient term.
  absl::Status Precompute(const std::vector<std::vector<size_t>>& batches) {
    size_t rows = 0;
    for (const auto& b : batches) rows += b.size();
    if (absl::Status s = own_pool_.Fill(rows); !s.ok()) return s;
    return peer_pool_.Fill(batches.size() * terms());
  }

  // The batch's mean gradient sum_i d_i x_ij / |batch| (the intercept's sum_i d_i / |batch|
  // last when with_bias), from this party's share v_i of 4 d_i (fixed point).
  absl::StatusOr<std::vector<double>> Step(const std::vector<size_t>& rows,
                                           const std::vector<int64_t>& v) {
    const PaillierPublicKey& own_pk = own_.public_key();
    const PaillierPublicKey& peer_pk = peer_.pk;
    auto t = Clock::now();
    absl::StatusOr<std::vector<std::string>> share = EncryptShare(v);
    if (!share.ok()) return share.status();
    stats_.encrypt_seconds += Since(t);
    auto theirs_wire = Exchange(link_, send_tag_, *share, recv_tag_, rows.size(),
                                peer_pk.ciphertext_bytes(), "peer share");
    if (!theirs_wire.ok()) return theirs_wire.status();
    auto theirs = ParseCiphertexts(peer_pk, *theirs_wire, rows.size(), workers_, "peer share");
    if (!theirs.ok()) return theirs.status();

    t = Clock::now();
    std::vector<Bn> masks(terms());
    absl::StatusOr<std::vector<std::string>> masked = MaskedGradient(rows, v, *theirs, masks);
    if (!masked.ok()) return masked.status();
    stats_.gradient_seconds += Since(t);
    auto peer_masked_wire = Exchange(link_, kMasked, *masked, kMasked, peer_.terms,
                                     own_pk.ciphertext_bytes(), "peer masked gradient");
    if (!peer_masked_wire.ok()) return peer_masked_wire.status();
    auto peer_masked =
        ParseCiphertexts(own_pk, *peer_masked_wire, peer_.terms, workers_, "peer masked gradient");
    if (!peer_masked.ok()) return peer_masked.status();

    t = Clock::now();
    absl::StatusOr<std::vector<std::string>> plain = DecryptForPeer(*peer_masked);
    if (!plain.ok()) return plain.status();
    stats_.decrypt_seconds += Since(t);
    auto reply = Exchange(link_, kDecrypted, *plain, kDecrypted, terms(), peer_pk.plaintext_bytes(),
                          "decrypted gradient");
    if (!reply.ok()) return reply.status();
    return Unmask(*reply, masks, rows.size());
  }

  uint64_t misses() const { return own_pool_.misses() + peer_pool_.misses(); }

 private:
  size_t Slices() const { return static_cast<size_t>(workers_.size()) * 2; }

  // [[v_i]]_own, serialized.
  absl::StatusOr<std::vector<std::string>> EncryptShare(const std::vector<int64_t>& v) {
    const PaillierPublicKey& pk = own_.public_key();
    std::vector<std::string> out(v.size());
    auto enc = Batch::Start(workers_, v.size(), Slices(), 16, [&](size_t b, size_t e) {
      BnCtx ctx = NewBnCtx();
      for (size_t i = b; i < e; ++i) {
        Bn rn = own_pool_.Take(ctx.get());
        out[i] =
            pk.SerializeCiphertext(pk.EncryptWith(pk.ToPlaintext(v[i]).get(), rn.get(), ctx.get()));
      }
      return absl::OkStatus();
    });
    if (absl::Status s = enc->Wait(); !s.ok()) return s;
    return out;
  }

  // [[4d_i]]_peer = [[v'_i]]_peer (+) v_i, then per gradient term j
  // [[G_j + R_j]]_peer = prod_i [[4d_i]]^x_ij * Enc_peer(R_j; uniform r), serialized; the
  // masks R_j (uniform mod n_peer) go to `masks`.
  absl::StatusOr<std::vector<std::string>> MaskedGradient(const std::vector<size_t>& rows,
                                                          const std::vector<int64_t>& v,
                                                          std::vector<Ciphertext>& theirs,
                                                          std::vector<Bn>& masks) {
    const PaillierPublicKey& pk = peer_.pk;
    const size_t nb = rows.size();
    auto add = Batch::Start(workers_, nb, Slices(), 16, [&](size_t b, size_t e) {
      BnCtx ctx = NewBnCtx();
      for (size_t i = b; i < e; ++i) {
        theirs[i] = pk.AddPlain(theirs[i], pk.ToPlaintext(v[i]).get(), ctx.get());
      }
      return absl::OkStatus();
    });
    if (absl::Status s = add->Wait(); !s.ok()) return s;
    auto d4 = pk.PrepareTerms(theirs, workers_);
    if (!d4.ok()) return d4.status();
    std::vector<std::string> out(terms());
    auto grad =
        Batch::Start(workers_, terms(), terms(), 1, [&](size_t b, size_t e) -> absl::Status {
          BnCtx ctx = NewBnCtx();
          std::vector<int64_t> ks(nb);
          for (size_t j = b; j < e; ++j) {
            for (size_t i = 0; i < nb; ++i) {
              if (j < x_.cols) {
                auto k = fp_.Encode(x_.row(rows[i])[j]);
                if (!k.ok()) return k.status();
                ks[i] = *k;
              } else {
                ks[i] = int64_t{1} << fp_.frac_bits();  // intercept: x = 1
              }
            }
            Ciphertext g = pk.LinearCombination(*d4, ks, ctx.get());
            // R uniform in Z_n hides G from the key holder; the fresh uniform r hides the
            // aggregate's randomness prod_i r_i^x_ij, which the key holder could otherwise relate
            // to the r_i it chose for [[v']].
            masks[j] = NewBn();
            if (!BN_priv_rand_range(masks[j].get(), pk.n())) {
              return absl::InternalError("BN_priv_rand_range");
            }
            Bn rn = peer_pool_.Take(ctx.get());
            out[j] = pk.SerializeCiphertext(
                pk.Add(g, pk.EncryptWith(masks[j].get(), rn.get(), ctx.get()), ctx.get()));
          }
          return absl::OkStatus();
        });
    if (absl::Status s = grad->Wait(); !s.ok()) return s;
    return out;
  }

  // The peer's masked gradient decrypted with the own key (uniform G + R mod n to us).
  absl::StatusOr<std::vector<std::string>> DecryptForPeer(const std::vector<Ciphertext>& masked) {
    const PaillierPublicKey& pk = own_.public_key();
    std::vector<std::string> out(masked.size());
    auto dec = Batch::Start(workers_, masked.size(), masked.size(), 1, [&](size_t b, size_t e) {
      BnCtx ctx = NewBnCtx();
      for (size_t i = b; i < e; ++i) {
        out[i] = pk.SerializePlaintext(own_.Decrypt(masked[i], ctx.get()).get());
      }
      return absl::OkStatus();
    });
    if (absl::Status s = dec->Wait(); !s.ok()) return s;
    return out;
  }

  // From the peer's decryption G_j + R_j mod n_peer (`plain`, concatenated): G_j (scale 2^2f,
  // 4x the residual) as the mean gradient over the batch's nb rows.
  absl::StatusOr<std::vector<double>> Unmask(std::string_view plain, const std::vector<Bn>& masks,
                                             size_t nb) const {
    const PaillierPublicKey& pk = peer_.pk;
    const size_t width = pk.plaintext_bytes();
    std::vector<double> out(terms());
    BnCtx ctx = NewBnCtx();
    for (size_t j = 0; j < terms(); ++j) {
      auto m = pk.DeserializePlaintext(plain.substr(j * width, width));
      if (!m.ok()) return m.status();
      if (!BN_mod_sub(m->get(), m->get(), masks[j].get(), pk.n(), ctx.get())) {
        return absl::InternalError("BN_mod_sub");
      }
      auto g = pk.FromPlaintext(m->get());
      if (!g.ok()) return g.status();
      out[j] = fp_.Decode(*g, 2) / (4.0 * static_cast<double>(nb));
    }
    return out;
  }

  const Matrix& x_;
  const PaillierPrivateKey& own_;
  const PeerInfo peer_;
  Link& link_;
  WorkerPool& workers_;
  const bool with_bias_;
  const Tag send_tag_, recv_tag_;
  HeteroLrStats& stats_;
  const FixedPoint fp_;
  RandomnessPool own_pool_, peer_pool_;
};

// The part guest and host share: the hello, then per epoch the randomness precomputation and
// every scheduled mini-batch (`share(rows, model, fp)` returns the party's share v of 4d for
// the rows; the step's gradient is applied here; the guest's includes the intercept), then the
// stats.
template <typename Share>
absl::StatusOr<LrWeights> TrainParty(const HeteroLrOptions& o, const Matrix& x,
                                     const PaillierPrivateKey& own, Link& link, WorkerPool& workers,
                                     bool with_bias, Tag send_tag, Tag recv_tag,
                                     HeteroLrStats* stats_out, Share share) {
  if (absl::Status s = CheckOptions(o, x); !s.ok()) return s;
  const uint64_t sent0 = link.bytes_sent(), received0 = link.bytes_received();
  HeteroLrStats stats;
  auto peer = Hello(link, o, x.rows, own.public_key(), x.cols + (with_bias ? 1 : 0));
  if (!peer.ok()) return peer.status();
  Party party(x, own, *std::move(peer), link, workers, with_bias, send_tag, recv_tag, o.frac_bits,
              stats);
  LrWeights model{std::vector<double>(x.cols, 0.0), 0.0};
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const std::vector<std::vector<size_t>> batches = BatchSchedule(x.rows, o, epoch);
    if (o.precompute_randomness) {
      const auto t = Clock::now();
      if (absl::Status s = party.Precompute(batches); !s.ok()) return s;
      stats.offline_seconds += Since(t);
    }
    const auto t = Clock::now();
    for (const std::vector<size_t>& rows : batches) {
      absl::StatusOr<std::vector<int64_t>> v = share(rows, model, party.fp());
      if (!v.ok()) return v.status();
      absl::StatusOr<std::vector<double>> g = party.Step(rows, *v);
      if (!g.ok()) return g.status();
      ApplyGradient(o, *g, model, with_bias);
      stats.rows_processed += rows.size();
    }
    stats.online_seconds += Since(t);
  }
  stats.randomness_misses = party.misses();
  stats.bytes_sent = link.bytes_sent() - sent0;
  stats.bytes_received = link.bytes_received() - received0;
  if (stats_out) *stats_out = stats;
  return model;
}

// The fixed-point encodings of `value(row)` for the batch rows.
template <typename Value>
absl::StatusOr<std::vector<int64_t>> EncodeRows(const std::vector<size_t>& rows,
                                                const FixedPoint& fp, Value value) {
  std::vector<int64_t> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto e = fp.Encode(value(rows[i]));
    if (!e.ok()) return e.status();
    out[i] = *e;
  }
  return out;
}

}  // namespace

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

std::vector<std::vector<size_t>> BatchSchedule(size_t rows, const HeteroLrOptions& o, int epoch) {
  std::vector<size_t> idx(rows);
  for (size_t i = 0; i < rows; ++i) idx[i] = i;
  std::mt19937_64 rng(o.batch_seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
  for (size_t i = rows; i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);
  if (o.max_rows_per_epoch && o.max_rows_per_epoch < rows) idx.resize(o.max_rows_per_epoch);
  std::vector<std::vector<size_t>> out;
  for (size_t b = 0; b < idx.size(); b += o.batch_size) {
    out.emplace_back(idx.begin() + b, idx.begin() + std::min(idx.size(), b + o.batch_size));
  }
  return out;
}

std::vector<double> PartialScores(const LrWeights& model, const Matrix& x) {
  std::vector<double> out(x.rows);
  for (size_t i = 0; i < x.rows; ++i) {
    double z = model.bias;
    const double* r = x.row(i);
    for (size_t j = 0; j < x.cols; ++j) z += model.w[j] * r[j];
    out[i] = z;
  }
  return out;
}

absl::StatusOr<LrWeights> RunHeteroLrGuest(const HeteroLrOptions& o, const Matrix& x,
                                           const std::vector<int>& y,
                                           const PaillierPrivateKey& own_key, Link& host,
                                           WorkerPool& workers, HeteroLrStats* stats) {
  if (y.size() != x.rows) return absl::InvalidArgumentError("hetero-lr: labels != rows");
  // The guest's share of 4d: u_A + 2 - 4y (the intercept is part of u_A).
  auto share = [&](const std::vector<size_t>& rows, const LrWeights& m, const FixedPoint& fp) {
    return EncodeRows(rows, fp, [&](size_t r) {
      double ua = m.bias;
      for (size_t j = 0; j < x.cols; ++j) ua += m.w[j] * x.row(r)[j];
      return ua + 2.0 - 4.0 * y[r];
    });
  };
  return TrainParty(o, x, own_key, host, workers, /*with_bias=*/true, kGuestShare, kHostShare,
                    stats, share);
}

absl::StatusOr<LrWeights> RunHeteroLrHost(const HeteroLrOptions& o, const Matrix& x,
                                          const PaillierPrivateKey& own_key, Link& guest,
                                          WorkerPool& workers, HeteroLrStats* stats) {
  // The host's share of 4d: u_B.
  auto share = [&](const std::vector<size_t>& rows, const LrWeights& m, const FixedPoint& fp) {
    return EncodeRows(rows, fp, [&](size_t r) {
      double ub = 0;
      for (size_t j = 0; j < x.cols; ++j) ub += m.w[j] * x.row(r)[j];
      return ub;
    });
  };
  return TrainParty(o, x, own_key, guest, workers, /*with_bias=*/false, kHostShare, kGuestShare,
                    stats, share);
}

LrWeights TrainPlainLr(const HeteroLrOptions& o, const Matrix& x, const std::vector<int>& y,
                       bool taylor) {
  LrWeights m{std::vector<double>(x.cols, 0.0), 0.0};
  std::vector<double> g(x.cols + 1);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (const std::vector<size_t>& rows : BatchSchedule(x.rows, o, epoch)) {
      std::fill(g.begin(), g.end(), 0.0);
      for (size_t i : rows) {
        double z = m.bias;
        for (size_t j = 0; j < x.cols; ++j) z += m.w[j] * x.row(i)[j];
        const double d = taylor ? 0.25 * z + 0.5 - y[i] : Sigmoid(z) - y[i];
        for (size_t j = 0; j < x.cols; ++j) g[j] += d * x.row(i)[j];
        g[x.cols] += d;
      }
      for (double& v : g) v /= static_cast<double>(rows.size());
      ApplyGradient(o, g, m, /*with_bias=*/true);
    }
  }
  return m;
}

absl::StatusOr<std::vector<double>> ScoreLrGuest(const LrWeights& model, const Matrix& x,
                                                 Link& host) {
  if (model.w.size() != x.cols)
    return absl::InvalidArgumentError("lr_score: model/feature mismatch");
  auto m = host.Recv();
  if (!m.ok()) return m.status();
  auto body = Unframe(*m, kScores, x.rows, sizeof(double), "host partial scores");
  if (!body.ok()) return body.status();
  std::vector<double> out = PartialScores(model, x);
  for (size_t i = 0; i < x.rows; ++i) {
    uint64_t bits = 0;
    for (int k = 7; k >= 0; --k) bits = (bits << 8) | static_cast<uint8_t>((*body)[i * 8 + k]);
    double ub;
    std::memcpy(&ub, &bits, sizeof ub);
    if (!std::isfinite(ub)) {
      return absl::InvalidArgumentError(absl::StrCat("lr_score: host score ", i, " not finite"));
    }
    out[i] = Sigmoid(out[i] + ub);
  }
  return out;
}

absl::Status ScoreLrHost(const LrWeights& model, const Matrix& x, Link& guest) {
  if (model.w.size() != x.cols)
    return absl::InvalidArgumentError("lr_score: model/feature mismatch");
  std::vector<double> s = PartialScores(model, x);
  std::string out;
  out.reserve(5 + 8 * s.size());
  out.push_back(static_cast<char>(kScores));
  PutFixed32BE(&out, static_cast<uint32_t>(s.size()));
  for (double v : s) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((bits >> (8 * k)) & 0xff));
  }
  return guest.Send(std::move(out));
}

}  // namespace tds::compute::fl
