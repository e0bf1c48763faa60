#pragma once
// OT extension for the OPRF of OT-extension PSI (kkrt_psi.h): IKNP generalised to
// 1-out-of-N with a pseudorandom code, as in
//
// [IKNP03] Y. Ishai, J. Kilian, K. Nissim, E. Petrank. Extending Oblivious Transfers
//          Efficiently. CRYPTO 2003.
// [KKRT16] V. Kolesnikov, R. Kumaresan, M. Rosulek, N. Trieu. Efficient Batched Oblivious PRF
//          with Applications to Private Set Intersection. CCS 2016.
//
// Width k = 512 bits (kCodeBits). After k base OTs in which the OPRF *receiver* is the OT
// sender (seeds k0_j, k1_j) and the OPRF *sender* the OT receiver (choice bits s, seeds
// k{s_j}_j), the receiver encodes its input of instance i as the row c_i = C(x_i) and, column
// by column,
//   t0_j = G(k0_j),  t1_j = G(k1_j),  u_j = t0_j ⊕ t1_j ⊕ c^j        (u is sent)
//   q_j  = G(k{s_j}_j) ⊕ s_j·u_j  =  t0_j ⊕ s_j·c^j                  (sender)
// so that row-wise q_i = t0_i ⊕ (c_i ∧ s). The OPRF is F_i(y) = H(i, q_i ⊕ (C(y) ∧ s)): the
// receiver's output is H(i, t0_i) = F_i(x_i); for y ≠ x_i the code rows differ in ≥ 128
// positions (w.h.p., see README) and F_i(y) is pseudorandom to the receiver.
//
// Primitives:
//   G  — AES-128-CTR keyed by the base-OT seed (a stream per column, continued across slabs
//        and buckets; OpenSSL EVP, AES-NI).
//   C  — the pseudorandom code: C(x) = AES_{c0}(x) ‖ AES_{c1}(x) ‖ AES_{c2}(x) ‖ AES_{c3}(x)
//        for a 16-byte input x, with four AES-128 keys from the session's public seed.
//   H  — SHA-256(i:u64le ‖ row) truncated, i the session-wide instance index (the random
//        oracle of [KKRT16]; OpenSSL's SHA-NI code makes this ~90 ns per row here).
//
// Bit layout. A row is 512 bits in 8 little-endian uint64 words (bit j = word j/64, bit j%64).
// A column of a slab of R rows (R a multiple of 64) is R bits in R/64 words (bit r = word
// r/64, bit r%64). A slab's columns are stored column after column (512 × R/64 words).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "compute/psi/base_ot.h"

namespace tds::compute {
class WorkerPool;
}

namespace tds::compute::psi {

inline constexpr size_t kCodeBits = 512;
inline constexpr size_t kCodeWords = kCodeBits / 64;  // uint64 words per row
inline constexpr size_t kCodeBytes = kCodeBits / 8;
inline constexpr size_t kPrcKeyBytes = 64;  // four AES-128 keys

// Transposes the 64×64 bit matrix a (a[r] bit c = element (r, c)) in place.
void Transpose64(uint64_t a[64]);
// rows (n_rows × kCodeWords words) → columns (kCodeBits × n_rows/64 words), for the 64-row
// blocks [block_begin, block_end). REQUIRES: n_rows % 64 == 0.
void RowsToColumns(const uint64_t* rows, size_t n_rows, uint64_t* cols, size_t block_begin,
                   size_t block_end);
// The inverse: columns → rows, for the 64-row blocks [block_begin, block_end).
void ColumnsToRows(const uint64_t* cols, size_t n_rows, uint64_t* rows, size_t block_begin,
                   size_t block_end);

// G: an AES-128-CTR keystream from a 16-byte seed (IV 0), read in order.
class ColumnPrg {
 public:
  explicit ColumnPrg(const OtSeed& seed);
  ~ColumnPrg();
  ColumnPrg(ColumnPrg&& other) noexcept;
  ColumnPrg& operator=(ColumnPrg&&) = delete;
  ColumnPrg(const ColumnPrg&) = delete;
  ColumnPrg& operator=(const ColumnPrg&) = delete;

  // Writes the next `bytes` bytes of the stream.
  void Next(uint8_t* out, size_t bytes);

 private:
  void* ctx_;  // EVP_CIPHER_CTX
};

// C: the pseudorandom code. Thread-safe (each call uses its own cipher contexts).
class PseudorandomCode {
 public:
  explicit PseudorandomCode(const uint8_t keys[kPrcKeyBytes]);
  // rows[i] = C(inputs[i]) for `count` 16-byte inputs; rows are kCodeWords words each.
  void Encode(const uint8_t* inputs, size_t count, uint64_t* rows) const;

 private:
  uint8_t keys_[kPrcKeyBytes];
};

// H: writes the first `out_bytes` (≤ 32) bytes of SHA-256(instance:u64le ‖ row).
// One hasher per thread.
class RowHasher {
 public:
  RowHasher();
  ~RowHasher();
  RowHasher(const RowHasher&) = delete;
  RowHasher& operator=(const RowHasher&) = delete;
  void Hash(uint64_t instance, const uint64_t row[kCodeWords], uint8_t* out, size_t out_bytes);
  // out = SHA-256(a ‖ b), with the same context (used for item digests).
  void Sha256(const void* a, size_t a_len, const void* b, size_t b_len, uint8_t out[32]);

 private:
  void* ctx_;  // EVP_MD_CTX
};

// The OPRF receiver's side of the extension (the OT sender of the base OTs).
class OprfReceiver {
 public:
  // REQUIRES: k0.size() == k1.size() == kCodeBits.
  OprfReceiver(const std::vector<OtSeed>& k0, const std::vector<OtSeed>& k1);

  // One slab of `n_rows` instances (a multiple of 64): from the code rows (n_rows ×
  // kCodeWords) writes u's columns (kCodeBits × n_rows/64 words, to be sent) and t0's rows
  // (n_rows × kCodeWords). Consumes the next n_rows/8 bytes of every column stream. Splits
  // the work over `pool`.
  void Extend(const uint64_t* code_rows, size_t n_rows, uint64_t* u_cols, uint64_t* t0_rows,
              WorkerPool& pool);

 private:
  std::vector<ColumnPrg> g0_, g1_;
  std::vector<uint64_t> cols_;  // scratch: code columns, then t0 columns
};

// The OPRF sender's side (the OT receiver of the base OTs, with choice bits s).
class OprfSender {
 public:
  // REQUIRES: seeds.size() == choices.size() == kCodeBits, choices[j] in {0, 1}.
  OprfSender(const std::vector<OtSeed>& seeds, const std::vector<uint8_t>& choices);
  ~OprfSender();  // wipes s

  // One slab: from u's columns writes q's rows (n_rows × kCodeWords).
  void Extend(const uint64_t* u_cols, size_t n_rows, uint64_t* q_rows, WorkerPool& pool);

  // F: writes H(instance, q_row ⊕ (code ∧ s)) truncated to out_bytes.
  void Evaluate(uint64_t instance, const uint64_t q_row[kCodeWords],
                const uint64_t code[kCodeWords], RowHasher& hasher, uint8_t* out,
                size_t out_bytes) const;

 private:
  std::vector<ColumnPrg> g_;
  uint64_t s_[kCodeWords];
  uint8_t choices_[kCodeBits];
  std::vector<uint64_t> cols_;  // scratch: q columns
};

// Runs fn(begin, end) over [0, n) in slices of at least `min_slice` on `pool`, waiting for
// all of them.
void ParallelFor(WorkerPool& pool, size_t n, size_t min_slice,
                 const std::function<void(size_t, size_t)>& fn);

}  // namespace tds::compute::psi
