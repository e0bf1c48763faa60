#include "compute/psi/ot_extension.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but they reach the
// same SHA-NI code without EVP's per-call dispatch: ~90 ns instead of ~120 ns for a 72-byte
// row, and H runs ~4 times per item. Without the deprecated API (OPENSSL_NO_DEPRECATED_3_0)
// RowHasher falls back to EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "compute/worker_pool.h"

namespace tds::compute::psi {
namespace {

[[noreturn]] void Fatal(const char* what) {
  // OpenSSL failing to set up AES or SHA-256 is an environment fault, not a protocol error.
  std::fprintf(stderr, "ot_extension: %s\n", what);
  std::abort();
}

EVP_CIPHER_CTX* NewCipher(const EVP_CIPHER* cipher, const uint8_t key[16]) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  static const uint8_t kZeroIv[16] = {};
  if (ctx == nullptr || EVP_EncryptInit_ex(ctx, cipher, nullptr, key, kZeroIv) != 1) {
    Fatal("cannot initialise AES-128");
  }
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  return ctx;
}

void Encrypt(EVP_CIPHER_CTX* ctx, const uint8_t* in, uint8_t* out, size_t bytes) {
  int len = 0;
  if (EVP_EncryptUpdate(ctx, out, &len, in, static_cast<int>(bytes)) != 1 ||
      static_cast<size_t>(len) != bytes) {
    Fatal("AES encryption failed");
  }
}

#ifdef OPENSSL_NO_DEPRECATED_3_0
// Fetched once: EVP_sha256() would make every EVP_DigestInit_ex2 fetch it again.
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Fatal("cannot fetch SHA-256");
    return m;
  }();
  return md;
}
#endif

}  // namespace

void Transpose64(uint64_t a[64]) {
  // Recursive block swap: at step j the off-diagonal j×j sub-blocks of every 2j×2j block are
  // exchanged (row k's high j bits with row k+j's low j bits).
  uint64_t m = 0x00000000ffffffffULL;
  for (int j = 32; j != 0; j >>= 1, m ^= (m << j)) {
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
  }
}

void RowsToColumns(const uint64_t* rows, size_t n_rows, uint64_t* cols, size_t block_begin,
                   size_t block_end) {
  const size_t stride = n_rows / 64;  // words per column
  alignas(64) uint64_t a[64];
  for (size_t rb = block_begin; rb < block_end; ++rb) {
    const uint64_t* base = rows + rb * 64 * kCodeWords;
    for (size_t w = 0; w < kCodeWords; ++w) {
      for (size_t i = 0; i < 64; ++i) a[i] = base[i * kCodeWords + w];
      Transpose64(a);
      uint64_t* out = cols + (w * 64) * stride + rb;
      for (size_t j = 0; j < 64; ++j) out[j * stride] = a[j];
    }
  }
}

void ColumnsToRows(const uint64_t* cols, size_t n_rows, uint64_t* rows, size_t block_begin,
                   size_t block_end) {
  const size_t stride = n_rows / 64;
  alignas(64) uint64_t a[64];
  for (size_t rb = block_begin; rb < block_end; ++rb) {
    uint64_t* base = rows + rb * 64 * kCodeWords;
    for (size_t w = 0; w < kCodeWords; ++w) {
      const uint64_t* in = cols + (w * 64) * stride + rb;
      for (size_t j = 0; j < 64; ++j) a[j] = in[j * stride];
      Transpose64(a);
      for (size_t i = 0; i < 64; ++i) base[i * kCodeWords + w] = a[i];
    }
  }
}

void ParallelFor(WorkerPool& pool, size_t n, size_t min_slice,
                 const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  const size_t slices = static_cast<size_t>(pool.size()) * 2;
  if (pool.size() <= 1 || n < 2 * min_slice) {
    fn(0, n);
    return;
  }
  auto batch = Batch::Start(pool, n, slices, min_slice, [&fn](size_t begin, size_t end) {
    fn(begin, end);
    return absl::OkStatus();
  });
  batch->Wait().IgnoreError();
}

ColumnPrg::ColumnPrg(const OtSeed& seed) : ctx_(NewCipher(EVP_aes_128_ctr(), seed.bytes)) {}

ColumnPrg::~ColumnPrg() {
  if (ctx_ != nullptr) EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_));
}

ColumnPrg::ColumnPrg(ColumnPrg&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }

void ColumnPrg::Next(uint8_t* out, size_t bytes) {
  std::memset(out, 0, bytes);
  Encrypt(static_cast<EVP_CIPHER_CTX*>(ctx_), out, out, bytes);
}

PseudorandomCode::PseudorandomCode(const uint8_t keys[kPrcKeyBytes]) {
  std::memcpy(keys_, keys, kPrcKeyBytes);
}

void PseudorandomCode::Encode(const uint8_t* inputs, size_t count, uint64_t* rows) const {
  constexpr size_t kBatch = 512;
  alignas(64) uint8_t out[kBatch * 16];
  EVP_CIPHER_CTX* ctx[4];
  for (int k = 0; k < 4; ++k) ctx[k] = NewCipher(EVP_aes_128_ecb(), keys_ + 16 * k);
  for (size_t first = 0; first < count; first += kBatch) {
    const size_t n = std::min(kBatch, count - first);
    for (int k = 0; k < 4; ++k) {
      Encrypt(ctx[k], inputs + first * 16, out, n * 16);
      for (size_t i = 0; i < n; ++i) {
        std::memcpy(rows + (first + i) * kCodeWords + 2 * k, out + i * 16, 16);
      }
    }
  }
  for (int k = 0; k < 4; ++k) EVP_CIPHER_CTX_free(ctx[k]);
}

RowHasher::RowHasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) Fatal("cannot allocate a SHA-256 context");
}

RowHasher::~RowHasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void RowHasher::Hash(uint64_t instance, const uint64_t row[kCodeWords], uint8_t* out,
                     size_t out_bytes) {
  uint8_t prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<uint8_t>(instance >> (8 * i));
  uint8_t digest[32];
  // The row's words are little-endian in memory on x86-64, so the bytes hashed are the row's
  // bits in order.
  Sha256(prefix, sizeof(prefix), row, kCodeBytes, digest);
  std::memcpy(out, digest, out_bytes);
}

void RowHasher::Sha256(const void* a, size_t a_len, const void* b, size_t b_len, uint8_t out[32]) {
#ifndef OPENSSL_NO_DEPRECATED_3_0
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, a, a_len);
  SHA256_Update(&c, b, b_len);
  SHA256_Final(out, &c);
#else
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  if (EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) != 1 || EVP_DigestUpdate(ctx, a, a_len) != 1 ||
      EVP_DigestUpdate(ctx, b, b_len) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1) {
    Fatal("SHA-256 failed");
  }
#endif
}

OprfReceiver::OprfReceiver(const std::vector<OtSeed>& k0, const std::vector<OtSeed>& k1) {
  g0_.reserve(kCodeBits);
  g1_.reserve(kCodeBits);
  for (size_t j = 0; j < kCodeBits; ++j) {
    g0_.emplace_back(k0[j]);
    g1_.emplace_back(k1[j]);
  }
}

void OprfReceiver::Extend(const uint64_t* code_rows, size_t n_rows, uint64_t* u_cols,
                          uint64_t* t0_rows, WorkerPool& pool) {
  const size_t stride = n_rows / 64;
  const size_t blocks = n_rows / 64;
  cols_.resize(kCodeBits * stride);
  uint64_t* cols = cols_.data();
  ParallelFor(pool, blocks, 8, [&](size_t begin, size_t end) {
    RowsToColumns(code_rows, n_rows, cols, begin, end);
  });
  ParallelFor(pool, kCodeBits, 16, [&](size_t begin, size_t end) {
    std::vector<uint64_t> t1(stride);
    std::vector<uint64_t> t0(stride);
    for (size_t j = begin; j < end; ++j) {
      g0_[j].Next(reinterpret_cast<uint8_t*>(t0.data()), stride * 8);
      g1_[j].Next(reinterpret_cast<uint8_t*>(t1.data()), stride * 8);
      uint64_t* c = cols + j * stride;
      uint64_t* u = u_cols + j * stride;
      for (size_t w = 0; w < stride; ++w) {
        u[w] = t0[w] ^ t1[w] ^ c[w];
        c[w] = t0[w];
      }
    }
  });
  ParallelFor(pool, blocks, 8,
              [&](size_t begin, size_t end) { ColumnsToRows(cols, n_rows, t0_rows, begin, end); });
}

OprfSender::OprfSender(const std::vector<OtSeed>& seeds, const std::vector<uint8_t>& choices) {
  g_.reserve(kCodeBits);
  std::memset(s_, 0, sizeof(s_));
  for (size_t j = 0; j < kCodeBits; ++j) {
    g_.emplace_back(seeds[j]);
    choices_[j] = choices[j] & 1;
    s_[j / 64] |= uint64_t{choices_[j]} << (j % 64);
  }
}

OprfSender::~OprfSender() {
  sodium_memzero(s_, sizeof(s_));
  sodium_memzero(choices_, sizeof(choices_));
}

void OprfSender::Extend(const uint64_t* u_cols, size_t n_rows, uint64_t* q_rows, WorkerPool& pool) {
  const size_t stride = n_rows / 64;
  cols_.resize(kCodeBits * stride);
  uint64_t* cols = cols_.data();
  ParallelFor(pool, kCodeBits, 16, [&](size_t begin, size_t end) {
    for (size_t j = begin; j < end; ++j) {
      uint64_t* q = cols + j * stride;
      g_[j].Next(reinterpret_cast<uint8_t*>(q), stride * 8);
      const uint64_t mask = 0 - uint64_t{choices_[j]};
      const uint64_t* u = u_cols + j * stride;
      for (size_t w = 0; w < stride; ++w) q[w] ^= u[w] & mask;
    }
  });
  ParallelFor(pool, n_rows / 64, 8,
              [&](size_t begin, size_t end) { ColumnsToRows(cols, n_rows, q_rows, begin, end); });
}

void OprfSender::Evaluate(uint64_t instance, const uint64_t q_row[kCodeWords],
                          const uint64_t code[kCodeWords], RowHasher& hasher, uint8_t* out,
                          size_t out_bytes) const {
  uint64_t v[kCodeWords];
  for (size_t w = 0; w < kCodeWords; ++w) v[w] = q_row[w] ^ (code[w] & s_[w]);
  hasher.Hash(instance, v, out, out_bytes);
}

}  // namespace tds::compute::psi
