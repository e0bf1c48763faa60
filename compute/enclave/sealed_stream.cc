#include "compute/enclave/sealed_stream.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "compute/sodium_init.h"

namespace tds::compute::enclave {
namespace {

constexpr std::string_view kMagic = "TDSS";
constexpr uint8_t kVersion = 1;
constexpr std::string_view kKeyContext{"tds-sealed-stream-v1\0", 21};

// The stream key from the X25519 shared secret; false for a low-order peer key.
bool DeriveKey(const unsigned char* secret, const uint8_t* peer_pk, const uint8_t* sender_pk,
               const uint8_t* enclave_pk, std::string_view label, unsigned char key[32]) {
  unsigned char shared[32];
  if (crypto_scalarmult(shared, secret, peer_pk) != 0) {
    sodium_memzero(shared, sizeof(shared));
    return false;
  }
  std::string label_len;
  PutFixed32BE(&label_len, static_cast<uint32_t>(label.size()));
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  auto update = [&](const void* p, size_t n) {
    crypto_generichash_update(&st, static_cast<const unsigned char*>(p), n);
  };
  update(kKeyContext.data(), kKeyContext.size());
  update(shared, 32);
  update(sender_pk, 32);
  update(enclave_pk, 32);
  update(label_len.data(), label_len.size());
  update(label.data(), label.size());
  crypto_generichash_final(&st, key, 32);
  sodium_memzero(shared, sizeof(shared));
  sodium_memzero(&st, sizeof(st));
  return true;
}

void ChunkNonce(uint64_t index, unsigned char nonce[24]) {
  std::memset(nonce, 0, 16);
  std::string be;
  PutFixed64BE(&be, index);
  std::memcpy(nonce + 16, be.data(), 8);
}

}  // namespace

SealingKeyPair::SealingKeyPair() {
  EnsureSodium();
  crypto_box_keypair(public_.data(), secret_);
}
SealingKeyPair::~SealingKeyPair() { sodium_memzero(secret_, sizeof(secret_)); }

absl::StatusOr<std::unique_ptr<SealedWriter>> SealedWriter::Create(const X25519PublicKey& enclave,
                                                                   std::string_view label) {
  EnsureSodium();
  std::unique_ptr<SealedWriter> w(new SealedWriter());
  unsigned char sender_sk[32];
  uint8_t sender_pk[32];
  crypto_box_keypair(sender_pk, sender_sk);
  const bool ok = DeriveKey(sender_sk, enclave.data(), sender_pk, enclave.data(), label, w->key_);
  sodium_memzero(sender_sk, sizeof(sender_sk));
  if (!ok) {
    return absl::InvalidArgumentError(
        "sealed stream: the enclave's X25519 key is a low-order point");
  }
  w->header_ = std::string(kMagic);
  w->header_.push_back(static_cast<char>(kVersion));
  w->header_.append(reinterpret_cast<const char*>(sender_pk), 32);
  return w;
}

SealedWriter::~SealedWriter() { sodium_memzero(key_, sizeof(key_)); }

absl::StatusOr<std::string> SealedWriter::Seal(std::string_view plaintext, bool final) {
  if (finished_) return absl::FailedPreconditionError("sealed stream: already finished");
  if (plaintext.size() > kMaxChunkPlaintext) {
    return absl::InvalidArgumentError(absl::StrCat("sealed stream: chunk of ", plaintext.size(),
                                                   " bytes exceeds ", kMaxChunkPlaintext));
  }
  std::string out;
  PutFixed64BE(&out, next_);
  out.push_back(final ? 1 : 0);
  out.resize(9 + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned char nonce[24];
  ChunkNonce(next_, nonce);
  unsigned char* dst = reinterpret_cast<unsigned char*>(out.data());
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      dst + 9, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      dst, 9, nullptr, nonce, key_);
  ++next_;
  finished_ = final;
  return out;
}

absl::StatusOr<std::unique_ptr<SealedReader>> SealedReader::Open(const SealingKeyPair& keys,
                                                                 std::string_view label,
                                                                 std::string_view header) {
  EnsureSodium();
  if (header.size() != kSealedHeaderBytes || header.substr(0, 4) != kMagic) {
    return absl::DataLossError(
        absl::StrCat("sealed stream '", std::string(label), "': malformed header (", header.size(),
                     " bytes, expected TDSS v1 and ", kSealedHeaderBytes, ")"));
  }
  if (static_cast<uint8_t>(header[4]) != kVersion) {
    return absl::DataLossError(absl::StrCat("sealed stream '", std::string(label),
                                            "': unsupported version ",
                                            static_cast<uint8_t>(header[4])));
  }
  const uint8_t* sender_pk = reinterpret_cast<const uint8_t*>(header.data() + 5);
  std::unique_ptr<SealedReader> r(new SealedReader());
  r->label_ = std::string(label);
  if (!DeriveKey(keys.secret_, sender_pk, sender_pk, keys.public_key().data(), label, r->key_)) {
    return absl::DataLossError(absl::StrCat("sealed stream '", std::string(label),
                                            "': the sender key is a low-order point"));
  }
  return r;
}

SealedReader::~SealedReader() { sodium_memzero(key_, sizeof(key_)); }

absl::Status SealedReader::Next(std::string_view chunk, std::string* plaintext) {
  const std::string where = absl::StrCat("sealed stream '", label_, "': ");
  if (finished_) {
    return absl::DataLossError(
        absl::StrCat(where, "a chunk after the final chunk (replayed or appended)"));
  }
  if (chunk.size() < kSealedChunkOverhead) {
    return absl::DataLossError(absl::StrCat(where, "chunk of ", chunk.size(),
                                            " bytes is shorter than its ", kSealedChunkOverhead,
                                            "-byte overhead"));
  }
  const uint64_t index = DecodeFixed64BE(chunk.data());
  const uint8_t final = static_cast<uint8_t>(chunk[8]);
  if (index < next_) {
    return absl::DataLossError(
        absl::StrCat(where, "chunk ", index, " arrived again (replayed); expected ", next_));
  }
  if (index > next_) {
    return absl::DataLossError(absl::StrCat(where, "chunk ", index, " arrived while chunk ", next_,
                                            " was expected (dropped or reordered)"));
  }
  if (final > 1) {
    return absl::DataLossError(absl::StrCat(where, "chunk ", index, " has final flag ", final));
  }
  const size_t plen = chunk.size() - kSealedChunkOverhead;
  if (plen > kMaxChunkPlaintext) {
    return absl::DataLossError(absl::StrCat(where, "chunk ", index, " of ", plen,
                                            " plaintext bytes exceeds ", kMaxChunkPlaintext));
  }
  plaintext->resize(plen);
  unsigned char nonce[24];
  ChunkNonce(index, nonce);
  const unsigned char* src = reinterpret_cast<const unsigned char*>(chunk.data());
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext->data()), &mlen, nullptr, src + 9,
          chunk.size() - 9, src, 9, nonce, key_) != 0) {
    plaintext->clear();
    return absl::DataLossError(
        absl::StrCat(where, "chunk ", index,
                     " fails authentication (tampered, or sealed for another stream or enclave)"));
  }
  ++next_;
  finished_ = final == 1;
  return absl::OkStatus();
}

absl::Status SealedReader::Finish() const {
  if (finished_) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("sealed stream '", label_, "': ended after ", next_,
                                          " chunks without its final chunk (truncated)"));
}

}  // namespace tds::compute::enclave
