#include "compute/query/oprf.h"

#include <sodium.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace tds::compute::query {
namespace {

static_assert(crypto_core_ristretto255_BYTES == kPointBytes);
static_assert(crypto_core_ristretto255_SCALARBYTES == kScalarBytes);
static_assert(crypto_core_ristretto255_HASHBYTES == 64);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kRowKeyBytes);

// Domain strings; sizeof() includes the terminating 0x00, which is the separator.
constexpr char kH2Domain[] = "tds-query-h2-v1";
constexpr char kBucketDomain[] = "tds-query-bucket-v1";
constexpr char kKeyDomain[] = "tds-query-key-v1";
constexpr char kFingerprintDomain[] = "tds-query-fingerprint-v1";
constexpr char kTagDomain[] = "tds-query-tag-v1";
constexpr char kRowKeyDomain[] = "tds-query-row-key-v1";

const unsigned char* Bytes(const char* p) { return reinterpret_cast<const unsigned char*>(p); }

const crypto_hash_sha512_state& H2Prefix() {
  static const crypto_hash_sha512_state state = [] {
    crypto_hash_sha512_state s;
    crypto_hash_sha512_init(&s);
    crypto_hash_sha512_update(&s, Bytes(kH2Domain), sizeof(kH2Domain));
    return s;
  }();
  return state;
}

const crypto_hash_sha256_state& BucketPrefix() {
  static const crypto_hash_sha256_state state = [] {
    crypto_hash_sha256_state s;
    crypto_hash_sha256_init(&s);
    crypto_hash_sha256_update(&s, Bytes(kBucketDomain), sizeof(kBucketDomain));
    return s;
  }();
  return state;
}

// BLAKE2b over domain || salt || u32(len id) || id || y, `out_len` bytes.
void RowHash(const char* domain, size_t domain_size, const uint8_t salt[kSaltBytes],
             std::string_view id, const uint8_t y[kPointBytes], uint8_t* out, size_t out_len) {
  crypto_generichash_state s;
  crypto_generichash_init(&s, nullptr, 0, out_len);
  crypto_generichash_update(&s, Bytes(domain), domain_size);
  crypto_generichash_update(&s, salt, kSaltBytes);
  const uint32_t n = static_cast<uint32_t>(id.size());
  const unsigned char len[4] = {static_cast<unsigned char>(n >> 24),
                                static_cast<unsigned char>(n >> 16),
                                static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  crypto_generichash_update(&s, len, sizeof(len));
  crypto_generichash_update(&s, Bytes(id.data()), id.size());
  crypto_generichash_update(&s, y, kPointBytes);
  crypto_generichash_final(&s, out, out_len);
  sodium_memzero(&s, sizeof(s));
}

}  // namespace

void HashToGroup(std::string_view id, uint8_t out[kPointBytes]) {
  crypto_hash_sha512_state s = H2Prefix();
  crypto_hash_sha512_update(&s, Bytes(id.data()), id.size());
  unsigned char h[crypto_hash_sha512_BYTES];
  crypto_hash_sha512_final(&s, h);
  crypto_core_ristretto255_from_hash(out, h);
}

bool IsUsablePoint(const uint8_t p[kPointBytes]) {
  return crypto_core_ristretto255_is_valid_point(p) == 1 && !sodium_is_zero(p, kPointBytes);
}

uint64_t BucketHash(std::string_view id) {
  crypto_hash_sha256_state s = BucketPrefix();
  crypto_hash_sha256_update(&s, Bytes(id.data()), id.size());
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&s, h);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
  return v;
}

absl::StatusOr<ProviderKey> ProviderKey::Derive(std::string_view master_secret,
                                                std::string_view contract_id) {
  EnsureSodium();
  if (master_secret.size() != kMasterSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("query provider key: the master secret has ",
                                                   master_secret.size(), " bytes, expected ",
                                                   kMasterSecretBytes));
  }
  if (contract_id.empty()) {
    return absl::InvalidArgumentError("query provider key: empty contract id");
  }
  ProviderKey key;
  unsigned char wide[crypto_generichash_BYTES_MAX];  // 64 bytes, reduced mod ℓ without bias
  static_assert(sizeof(wide) == crypto_core_ristretto255_NONREDUCEDSCALARBYTES);
  crypto_generichash_state s;
  crypto_generichash_init(&s, Bytes(master_secret.data()), master_secret.size(), sizeof(wide));
  crypto_generichash_update(&s, Bytes(kKeyDomain), sizeof(kKeyDomain));
  crypto_generichash_update(&s, Bytes(contract_id.data()), contract_id.size());
  crypto_generichash_final(&s, wide, sizeof(wide));
  sodium_memzero(&s, sizeof(s));
  crypto_core_ristretto255_scalar_reduce(key.scalar_, wide);
  sodium_memzero(wide, sizeof(wide));
  unsigned char public_key[kPointBytes];
  // Fails only for the zero scalar (probability 2^-252).
  if (crypto_scalarmult_ristretto255_base(public_key, key.scalar_) != 0) {
    return absl::InternalError("query provider key: the derived scalar is zero");
  }
  crypto_generichash_init(&s, nullptr, 0, kFingerprintBytes);
  crypto_generichash_update(&s, Bytes(kFingerprintDomain), sizeof(kFingerprintDomain));
  crypto_generichash_update(&s, public_key, sizeof(public_key));
  crypto_generichash_final(&s, key.fingerprint_.data(), kFingerprintBytes);
  return key;
}

ProviderKey::~ProviderKey() { sodium_memzero(scalar_, sizeof(scalar_)); }

ProviderKey::ProviderKey(ProviderKey&& other) noexcept : fingerprint_(other.fingerprint_) {
  std::memcpy(scalar_, other.scalar_, sizeof(scalar_));
  sodium_memzero(other.scalar_, sizeof(other.scalar_));
}

bool ProviderKey::Evaluate(const uint8_t p[kPointBytes], uint8_t out[kPointBytes]) const {
  if (!IsUsablePoint(p)) return false;
  // Also fails when the product is the identity (impossible for k != 0 in a prime-order group).
  return crypto_scalarmult_ristretto255(out, scalar_, p) == 0;
}

Blinding::~Blinding() { sodium_memzero(inverse_, sizeof(inverse_)); }

Blinding::Blinding(Blinding&& other) noexcept {
  std::memcpy(inverse_, other.inverse_, sizeof(inverse_));
  sodium_memzero(other.inverse_, sizeof(other.inverse_));
}

bool Blinding::Blind(std::string_view id, uint8_t blinded[kPointBytes]) {
  unsigned char r[kScalarBytes];
  unsigned char p[kPointBytes];
  crypto_core_ristretto255_scalar_random(r);  // uniform in [1, ℓ)
  HashToGroup(id, p);
  const bool ok = crypto_core_ristretto255_scalar_invert(inverse_, r) == 0 &&
                  crypto_scalarmult_ristretto255(blinded, r, p) == 0;
  sodium_memzero(r, sizeof(r));
  sodium_memzero(p, sizeof(p));
  return ok;
}

bool Blinding::Unblind(const uint8_t evaluated[kPointBytes], uint8_t out[kPointBytes]) const {
  if (!IsUsablePoint(evaluated)) return false;
  return crypto_scalarmult_ristretto255(out, inverse_, evaluated) == 0;
}

void DeriveRowSecrets(const uint8_t salt[kSaltBytes], std::string_view id,
                      const uint8_t oprf_output[kPointBytes], uint8_t tag[kTagBytes],
                      uint8_t key[kRowKeyBytes]) {
  RowHash(kTagDomain, sizeof(kTagDomain), salt, id, oprf_output, tag, kTagBytes);
  RowHash(kRowKeyDomain, sizeof(kRowKeyDomain), salt, id, oprf_output, key, kRowKeyBytes);
}

}  // namespace tds::compute::query
