#include "compute/psi/base_ot.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "compute/psi/x25519.h"
#include "compute/worker_pool.h"

namespace tds::compute::psi {
namespace {

constexpr char kKdfDomain[] = "tds-base-ot-v1";  // hashed with its terminating 0x00

void Kdf(uint32_t j, const unsigned char* a_point, const unsigned char* b_point,
         const unsigned char* shared, OtSeed& out) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(kKdfDomain),
                            sizeof(kKdfDomain));
  unsigned char index[4];
  for (int i = 0; i < 4; ++i) index[i] = static_cast<unsigned char>(j >> (8 * i));
  crypto_hash_sha256_update(&st, index, 4);
  crypto_hash_sha256_update(&st, a_point, kOtPointBytes);
  crypto_hash_sha256_update(&st, b_point, kOtPointBytes);
  crypto_hash_sha256_update(&st, shared, kOtPointBytes);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, digest);
  std::memcpy(out.bytes, digest, kOtSeedBytes);
  sodium_memzero(digest, sizeof(digest));
  sodium_memzero(&st, sizeof(st));
}

// A valid, canonical ristretto255 encoding other than the identity (all zeros).
bool UsablePoint(const unsigned char* p) {
  return crypto_core_ristretto255_is_valid_point(p) == 1 && !sodium_is_zero(p, kOtPointBytes);
}

// Runs fn(begin, end) over [0, n), on the pool when there is one.
absl::Status ForRange(WorkerPool* pool, size_t n,
                      const std::function<absl::Status(size_t, size_t)>& fn) {
  if (pool == nullptr || n < 16) return fn(0, n);
  auto batch = Batch::Start(*pool, n, static_cast<size_t>(pool->size()) * 2, 8, fn);
  return batch->Wait();
}

}  // namespace

void WipeSeeds(std::vector<OtSeed>& seeds) {
  if (!seeds.empty()) sodium_memzero(seeds.data(), seeds.size() * sizeof(OtSeed));
}

BaseOtSender::BaseOtSender() {
  EnsureSodium();
  crypto_core_ristretto255_scalar_random(a_);
  crypto_scalarmult_ristretto255_base(a_point_, a_);
}

BaseOtSender::~BaseOtSender() { sodium_memzero(a_, sizeof(a_)); }

absl::Status BaseOtSender::Finish(std::string_view reply, size_t count, std::vector<OtSeed>& k0,
                                  std::vector<OtSeed>& k1, WorkerPool* pool) const {
  if (reply.size() != count * kOtPointBytes) {
    return absl::DataLossError(absl::StrCat("base OT reply of ", reply.size(), " bytes, expected ",
                                            count, " points of ", kOtPointBytes,
                                            " bytes = ", count * kOtPointBytes));
  }
  k0.assign(count, OtSeed{});
  k1.assign(count, OtSeed{});
  const auto* points = reinterpret_cast<const unsigned char*>(reply.data());
  return ForRange(pool, count, [&](size_t begin, size_t end) -> absl::Status {
    unsigned char diff[kOtPointBytes], shared[kOtPointBytes];
    absl::Status status;
    for (size_t j = begin; j < end && status.ok(); ++j) {
      const unsigned char* b = points + j * kOtPointBytes;
      if (!UsablePoint(b)) {
        status = absl::InvalidArgumentError(absl::StrCat(
            "base OT reply point ", j, " is not a valid ristretto255 encoding or is the identity"));
        break;
      }
      if (crypto_scalarmult_ristretto255(shared, a_, b) != 0) {
        status = absl::InvalidArgumentError(
            absl::StrCat("base OT reply point ", j, " gives the identity"));
        break;
      }
      Kdf(static_cast<uint32_t>(j), a_point_, b, shared, k0[j]);
      if (crypto_core_ristretto255_sub(diff, b, a_point_) != 0 ||
          crypto_scalarmult_ristretto255(shared, a_, diff) != 0) {
        status = absl::InvalidArgumentError(
            absl::StrCat("base OT reply point ", j, " equals the sender's point"));
        break;
      }
      Kdf(static_cast<uint32_t>(j), a_point_, b, shared, k1[j]);
    }
    sodium_memzero(shared, sizeof(shared));
    return status;
  });
}

absl::Status BaseOtReceive(std::string_view first_message, const std::vector<uint8_t>& choices,
                           std::string& reply, std::vector<OtSeed>& seeds, WorkerPool* pool) {
  EnsureSodium();
  if (first_message.size() != kOtPointBytes) {
    return absl::DataLossError(absl::StrCat("base OT first message of ", first_message.size(),
                                            " bytes, expected ", kOtPointBytes));
  }
  const auto* a_point = reinterpret_cast<const unsigned char*>(first_message.data());
  if (!UsablePoint(a_point)) {
    return absl::InvalidArgumentError(
        "base OT first message is not a valid ristretto255 encoding or is the identity");
  }
  const size_t count = choices.size();
  reply.assign(count * kOtPointBytes, '\0');
  seeds.assign(count, OtSeed{});
  auto* out = reinterpret_cast<unsigned char*>(reply.data());
  return ForRange(pool, count, [&](size_t begin, size_t end) -> absl::Status {
    unsigned char b[32], plain[kOtPointBytes], shifted[kOtPointBytes], shared[kOtPointBytes];
    absl::Status status;
    for (size_t j = begin; j < end; ++j) {
      crypto_core_ristretto255_scalar_random(b);
      crypto_scalarmult_ristretto255_base(plain, b);
      crypto_core_ristretto255_add(shifted, plain, a_point);
      // Constant-time select of b·G (choice 0) or b·G + A (choice 1).
      const unsigned char mask = static_cast<unsigned char>(-(choices[j] & 1));
      unsigned char* b_point = out + j * kOtPointBytes;
      for (size_t i = 0; i < kOtPointBytes; ++i) {
        b_point[i] = static_cast<unsigned char>((plain[i] & ~mask) | (shifted[i] & mask));
      }
      if (crypto_scalarmult_ristretto255(shared, b, a_point) != 0) {
        status = absl::InternalError("base OT: b·A is the identity");
        break;
      }
      Kdf(static_cast<uint32_t>(j), a_point, b_point, shared, seeds[j]);
    }
    sodium_memzero(b, sizeof(b));
    sodium_memzero(shared, sizeof(shared));
    return status;
  });
}

}  // namespace tds::compute::psi
