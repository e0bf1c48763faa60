// Hetero-LR: message grammar (one Link message each; integers big-endian).
//
//   public_key  := 0x01 || PaillierPublicKey::Serialize()            arbiter -> guest, host
//   hello       := 0x02 || options fingerprint (text)                guest <-> host
//   forward     := 0x03 || count:u32 || [[u_B]] ciphertext[count]     host -> guest
//   residual    := 0x04 || count:u32 || [[4 d]] ciphertext[count]     guest -> host
//   masked      := 0x05 || count:u32 || [[G_j + R_j]] ciphertext[count]   party -> arbiter
//   decrypted   := 0x06 || count:u32 || (G_j + R_j mod n) plaintext[count] arbiter -> party
//   finish      := 0x07                                               party -> arbiter
//   scores      := 0x08 || count:u32 || u_B double[count] (IEEE-754, little-endian)
//                                                                     host -> guest (scoring)
// count must match what the receiver expects (the batch size, or its feature count for the
// arbiter, at most kMaxGradientTerms) before anything is allocated for it.

#include "compute/fl/hetero_lr.h"

#include <openssl/rand.h>

#include <atomic>
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
  kPublicKey = 1,
  kHello = 2,
  kForward = 3,
  kResidual = 4,
  kMasked = 5,
  kDecrypted = 6,
  kFinish = 7,
  kScores = 8,
};

constexpr size_t kMaxGradientTerms = 1 << 16;

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A message of fixed-width elements: tag || count:u32 || elements.
std::string Frame(Tag tag, const std::vector<std::string>& elements) {
  size_t total = 5;
  for (const auto& e : elements) total += e.size();
  std::string out;
  out.reserve(total);
  out.push_back(static_cast<char>(tag));
  PutFixed32BE(&out, static_cast<uint32_t>(elements.size()));
  for (const auto& e : elements) out += e;
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

// Parses `count` ciphertexts in parallel (each checked: range and unit).
absl::StatusOr<std::vector<Ciphertext>> ParseCiphertexts(const PaillierPublicKey& pk,
                                                         std::string_view body, size_t count,
                                                         WorkerPool& workers, const char* what) {
  std::vector<Ciphertext> out(count);
  const size_t width = pk.ciphertext_bytes();
  auto batch = Batch::Start(workers, count, workers.size() * 2, 16, [&](size_t b, size_t e) {
    BnCtx ctx = NewBnCtx();
    for (size_t i = b; i < e; ++i) {
      auto c = pk.DeserializeCiphertext(body.substr(i * width, width), ctx.get());
      if (!c.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("hetero-lr: ", what, " element ", i, ": ", c.status().message()));
      }
      out[i] = *std::move(c);
    }
    return absl::OkStatus();
  });
  if (absl::Status s = batch->Wait(); !s.ok()) return s;
  return out;
}

// Receives a framed message of exactly `count` ciphertexts and parses them.
absl::StatusOr<std::vector<Ciphertext>> RecvCiphertexts(Link& link, const PaillierPublicKey& pk,
                                                        Tag tag, size_t count, WorkerPool& workers,
                                                        const char* what) {
  auto m = link.Recv();
  if (!m.ok()) return m.status();
  auto body = Unframe(*m, tag, count, pk.ciphertext_bytes(), what);
  if (!body.ok()) return body.status();
  return ParseCiphertexts(pk, *body, count, workers, what);
}

absl::StatusOr<PaillierPublicKey> ReceivePublicKey(Link& arbiter, int min_bits) {
  auto m = arbiter.Recv();
  if (!m.ok()) return m.status();
  if (m->empty() || static_cast<uint8_t>((*m)[0]) != kPublicKey) {
    return absl::InvalidArgumentError("hetero-lr: expected the arbiter's public key");
  }
  auto pk = PaillierPublicKey::Deserialize(std::string_view(*m).substr(1));
  if (!pk.ok()) return pk.status();
  if (pk->modulus_bits() < min_bits) {
    return absl::FailedPreconditionError(absl::StrCat(
        "hetero-lr: arbiter key has ", pk->modulus_bits(), " bits, need >= ", min_bits));
  }
  return pk;
}

std::string Fingerprint(const HeteroLrOptions& o, size_t rows) {
  return absl::StrCat("hetero-lr v1 rows=", rows, " epochs=", o.epochs, " batch=", o.batch_size,
                      " lr=", o.learning_rate, " l2=", o.l2, " frac=", o.frac_bits,
                      " seed=", o.batch_seed, " max_rows=", o.max_rows_per_epoch);
}

absl::Status Hello(Link& peer, const HeteroLrOptions& o, size_t rows) {
  const std::string mine = Fingerprint(o, rows);
  if (absl::Status s = peer.Send(std::string(1, static_cast<char>(kHello)) + mine); !s.ok()) {
    return s;
  }
  auto m = peer.Recv();
  if (!m.ok()) return m.status();
  if (m->empty() || static_cast<uint8_t>((*m)[0]) != kHello) {
    return absl::InvalidArgumentError("hetero-lr: expected the peer's hello");
  }
  if (m->substr(1) != mine) {
    return absl::FailedPreconditionError(
        absl::StrCat("hetero-lr: parties disagree on rows or options: mine '", mine, "', peer '",
                     m->substr(1), "'"));
  }
  return absl::OkStatus();
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

uint64_t RowsPerRun(const HeteroLrOptions& o, size_t rows) {
  const size_t per_epoch = o.max_rows_per_epoch ? std::min(rows, o.max_rows_per_epoch) : rows;
  return static_cast<uint64_t>(per_epoch) * static_cast<uint64_t>(o.epochs);
}

// Encrypts the fixed-point encodings of `values` (fresh randomness from `rand`).
absl::StatusOr<std::vector<std::string>> EncryptAll(const PaillierPublicKey& pk,
                                                    const std::vector<int64_t>& values,
                                                    RandomnessPool& rand, WorkerPool& workers) {
  std::vector<std::string> out(values.size());
  auto batch =
      Batch::Start(workers, values.size(), workers.size() * 2, 16, [&](size_t b, size_t e) {
        BnCtx ctx = NewBnCtx();
        for (size_t i = b; i < e; ++i) {
          Bn rn = rand.Take(ctx.get());
          out[i] = pk.SerializeCiphertext(
              pk.EncryptWith(pk.ToPlaintext(values[i]).get(), rn.get(), ctx.get()));
        }
        return absl::OkStatus();
      });
  if (absl::Status s = batch->Wait(); !s.ok()) return s;
  return out;
}

// The party's side of one gradient: from the encrypted residuals [[4 d_i]] of the batch rows,
// G_j = sum_i 4 d_i x_ij (scale 2^2f) under encryption, masked with uniform R_j mod n,
// decrypted by the arbiter, unmasked. Returns the mean gradient sum_i d_i x_ij / |batch|
// (plus the intercept's sum_i d_i / |batch| last when with_bias).
absl::StatusOr<std::vector<double>> GradientViaArbiter(
    const PaillierPublicKey& pk, const FixedPoint& fp, const std::vector<Ciphertext>& residual4,
    const Matrix& x, const std::vector<size_t>& rows, bool with_bias, Link& arbiter,
    WorkerPool& workers) {
  const size_t nb = rows.size();
  const size_t terms = x.cols + (with_bias ? 1 : 0);
  std::vector<Bn> mont(nb);
  auto to_mont = Batch::Start(workers, nb, workers.size() * 2, 16, [&](size_t b, size_t e) {
    BnCtx ctx = NewBnCtx();
    for (size_t i = b; i < e; ++i) mont[i] = pk.ToMontgomery(residual4[i], ctx.get());
    return absl::OkStatus();
  });
  if (absl::Status s = to_mont->Wait(); !s.ok()) return s;

  std::vector<std::string> masked(terms);
  std::vector<Bn> masks(terms);
  auto grad = Batch::Start(workers, terms, terms, 1, [&](size_t b, size_t e) -> absl::Status {
    BnCtx ctx = NewBnCtx();
    std::vector<int64_t> ks(nb);
    for (size_t j = b; j < e; ++j) {
      for (size_t i = 0; i < nb; ++i) {
        if (j < x.cols) {
          auto k = fp.Encode(x.row(rows[i])[j]);
          if (!k.ok()) return k.status();
          ks[i] = *k;
        } else {
          ks[i] = int64_t{1} << fp.frac_bits();  // intercept: x = 1
        }
      }
      Ciphertext g = pk.LinearCombination(mont, ks, ctx.get());
      // R uniform in Z_n hides G perfectly from the arbiter; r = 1 suffices (the arbiter could
      // strip any randomness with the private key anyway).
      masks[j] = NewBn();
      if (!BN_rand_range(masks[j].get(), pk.n())) return absl::InternalError("BN_rand_range");
      masked[j] = pk.SerializeCiphertext(pk.AddPlain(g, masks[j].get(), ctx.get()));
    }
    return absl::OkStatus();
  });
  if (absl::Status s = grad->Wait(); !s.ok()) return s;
  if (absl::Status s = arbiter.Send(Frame(kMasked, masked)); !s.ok()) return s;
  auto reply = arbiter.Recv();
  if (!reply.ok()) return reply.status();
  auto body = Unframe(*reply, kDecrypted, terms, pk.plaintext_bytes(), "decrypted gradient");
  if (!body.ok()) return body.status();
  std::vector<double> out(terms);
  BnCtx ctx = NewBnCtx();
  const size_t width = pk.plaintext_bytes();
  for (size_t j = 0; j < terms; ++j) {
    auto m = pk.DeserializePlaintext(body->substr(j * width, width));
    if (!m.ok()) return m.status();
    if (!BN_mod_sub(m->get(), m->get(), masks[j].get(), pk.n(), ctx.get())) {
      return absl::InternalError("BN_mod_sub");
    }
    auto v = pk.FromPlaintext(m->get());
    if (!v.ok()) return v.status();
    out[j] = fp.Decode(*v, 2) / (4.0 * static_cast<double>(nb));
  }
  return out;
}

void ApplyGradient(const HeteroLrOptions& o, const std::vector<double>& g, LrWeights& m,
                   bool with_bias) {
  for (size_t j = 0; j < m.w.size(); ++j) m.w[j] -= o.learning_rate * (g[j] + o.l2 * m.w[j]);
  if (with_bias) m.bias -= o.learning_rate * g[m.w.size()];
}

// What one mini-batch step of a party sees: the arbiter's key, the party's randomness pool, the
// fixed-point encoding, the batch's rows and the current model.
struct BatchContext {
  const PaillierPublicKey& pk;
  RandomnessPool& pool;
  const FixedPoint& fp;
  const std::vector<size_t>& rows;
  const LrWeights& model;
};

// The part guest and host share: the arbiter's key, the hello with the peer, the randomness
// precomputation, then every scheduled mini-batch (`step` returns the batch's gradient, which
// this applies; the guest's includes the intercept), then finish to the arbiter and the stats.
template <typename Step>
absl::StatusOr<LrWeights> TrainParty(const HeteroLrOptions& o, const Matrix& x, Link& peer,
                                     Link& arbiter, WorkerPool& workers, bool with_bias,
                                     HeteroLrStats* stats, Step step) {
  auto pk = ReceivePublicKey(arbiter, o.min_key_bits);
  if (!pk.ok()) return pk.status();
  if (absl::Status s = Hello(peer, o, x.rows); !s.ok()) return s;
  RandomnessPool pool(*pk, workers);
  const auto t_offline = Clock::now();
  if (o.precompute_randomness) {
    if (absl::Status s = pool.Fill(RowsPerRun(o, x.rows)); !s.ok()) return s;
  }
  if (stats) stats->offline_seconds = Since(t_offline);
  const FixedPoint fp(o.frac_bits);
  LrWeights model{std::vector<double>(x.cols, 0.0), 0.0};
  const auto t0 = Clock::now();
  uint64_t processed = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (const std::vector<size_t>& rows : BatchSchedule(x.rows, o, epoch)) {
      absl::StatusOr<std::vector<double>> g = step(BatchContext{*pk, pool, fp, rows, model});
      if (!g.ok()) return g.status();
      ApplyGradient(o, *g, model, with_bias);
      processed += rows.size();
    }
  }
  if (absl::Status s = arbiter.Send(std::string(1, static_cast<char>(kFinish))); !s.ok()) {
    return s;
  }
  if (stats) {
    stats->online_seconds = Since(t0);
    stats->rows_processed = processed;
    stats->randomness_misses = pool.misses();
  }
  return model;
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
                                           const std::vector<int>& y, Link& host, Link& arbiter,
                                           WorkerPool& workers, HeteroLrStats* stats) {
  if (absl::Status s = CheckOptions(o, x); !s.ok()) return s;
  if (y.size() != x.rows) return absl::InvalidArgumentError("hetero-lr: labels != rows");
  auto step = [&](const BatchContext& b) -> absl::StatusOr<std::vector<double>> {
    const size_t nb = b.rows.size();
    auto ub = RecvCiphertexts(host, b.pk, kForward, nb, workers, "forward [[u_B]]");
    if (!ub.ok()) return ub.status();
    // [[4 d_i]] = [[u_B_i]] + Enc(u_A_i + 2 - 4 y_i), re-randomized by the fresh encryption
    // (without it the host, who knows its own r, could strip [[u_B]] and read d).
    std::vector<int64_t> v(nb);
    for (size_t i = 0; i < nb; ++i) {
      double ua = b.model.bias;
      const double* r = x.row(b.rows[i]);
      for (size_t j = 0; j < x.cols; ++j) ua += b.model.w[j] * r[j];
      auto e = b.fp.Encode(ua + 2.0 - 4.0 * y[b.rows[i]]);
      if (!e.ok()) return e.status();
      v[i] = *e;
    }
    std::vector<Ciphertext> d4(nb);
    std::vector<std::string> d4_wire(nb);
    auto enc = Batch::Start(workers, nb, workers.size() * 2, 16, [&](size_t begin, size_t end) {
      BnCtx ctx = NewBnCtx();
      for (size_t i = begin; i < end; ++i) {
        Bn rn = b.pool.Take(ctx.get());
        Ciphertext c = b.pk.EncryptWith(b.pk.ToPlaintext(v[i]).get(), rn.get(), ctx.get());
        d4[i] = b.pk.Add(c, (*ub)[i], ctx.get());
        d4_wire[i] = b.pk.SerializeCiphertext(d4[i]);
      }
      return absl::OkStatus();
    });
    if (absl::Status s = enc->Wait(); !s.ok()) return s;
    if (absl::Status s = host.Send(Frame(kResidual, d4_wire)); !s.ok()) return s;
    return GradientViaArbiter(b.pk, b.fp, d4, x, b.rows, /*with_bias=*/true, arbiter, workers);
  };
  return TrainParty(o, x, host, arbiter, workers, /*with_bias=*/true, stats, step);
}

absl::StatusOr<LrWeights> RunHeteroLrHost(const HeteroLrOptions& o, const Matrix& x, Link& guest,
                                          Link& arbiter, WorkerPool& workers,
                                          HeteroLrStats* stats) {
  if (absl::Status s = CheckOptions(o, x); !s.ok()) return s;
  auto step = [&](const BatchContext& b) -> absl::StatusOr<std::vector<double>> {
    const size_t nb = b.rows.size();
    std::vector<int64_t> ub(nb);
    for (size_t i = 0; i < nb; ++i) {
      double u = 0;
      const double* r = x.row(b.rows[i]);
      for (size_t j = 0; j < x.cols; ++j) u += b.model.w[j] * r[j];
      auto e = b.fp.Encode(u);
      if (!e.ok()) return e.status();
      ub[i] = *e;
    }
    auto wire = EncryptAll(b.pk, ub, b.pool, workers);
    if (!wire.ok()) return wire.status();
    if (absl::Status s = guest.Send(Frame(kForward, *wire)); !s.ok()) return s;
    auto d4 = RecvCiphertexts(guest, b.pk, kResidual, nb, workers, "residual [[4d]]");
    if (!d4.ok()) return d4.status();
    return GradientViaArbiter(b.pk, b.fp, *d4, x, b.rows, /*with_bias=*/false, arbiter, workers);
  };
  return TrainParty(o, x, guest, arbiter, workers, /*with_bias=*/false, stats, step);
}

absl::Status RunHeteroLrArbiter(const PaillierPrivateKey& key, Link& guest, Link& host,
                                WorkerPool& workers) {
  const PaillierPublicKey& pk = key.public_key();
  const std::string pk_msg = std::string(1, static_cast<char>(kPublicKey)) + pk.Serialize();
  for (Link* l : {&guest, &host}) {
    if (absl::Status s = l->Send(pk_msg); !s.ok()) return s;
  }
  // One server per party, so neither party's pace blocks the other's.
  auto serve = [&](Link& link, const char* who) -> absl::Status {
    for (;;) {
      auto m = link.Recv();
      if (!m.ok()) return m.status();
      if (m->size() == 1 && static_cast<uint8_t>((*m)[0]) == kFinish) return absl::OkStatus();
      if (m->size() < 5) {
        return absl::InvalidArgumentError(
            absl::StrCat("hetero-lr arbiter: short message from ", who));
      }
      const uint32_t count = DecodeFixed32BE(m->data() + 1);
      if (count == 0 || count > kMaxGradientTerms) {
        return absl::InvalidArgumentError(
            absl::StrCat("hetero-lr arbiter: ", who, " sent ", count, " gradient terms"));
      }
      auto body = Unframe(*m, kMasked, count, pk.ciphertext_bytes(), "masked gradient");
      if (!body.ok()) return body.status();
      auto cts = ParseCiphertexts(pk, *body, count, workers, "masked gradient");
      if (!cts.ok()) return cts.status();
      std::vector<std::string> plain(count);
      auto dec = Batch::Start(workers, count, count, 1, [&](size_t b, size_t e) {
        BnCtx ctx = NewBnCtx();
        for (size_t i = b; i < e; ++i) {
          plain[i] = pk.SerializePlaintext(key.Decrypt((*cts)[i], ctx.get()).get());
        }
        return absl::OkStatus();
      });
      if (absl::Status s = dec->Wait(); !s.ok()) return s;
      if (absl::Status s = link.Send(Frame(kDecrypted, plain)); !s.ok()) return s;
    }
  };
  absl::Status host_status;
  std::thread host_thread([&] {
    host_status = serve(host, "host");
    if (!host_status.ok()) guest.Close();  // unblock the other server
  });
  absl::Status guest_status = serve(guest, "guest");
  if (!guest_status.ok()) host.Close();
  host_thread.join();
  return guest_status.ok() ? host_status : guest_status;
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
