#pragma once
// Sealed streams: a provider's input, encrypted to the enclave's ephemeral X25519 key, in
// numbered, authenticated chunks. The host relays the bytes and learns only their sizes.
//
// Format (README.md "Sealed streams"):
//   header := "TDSS" version:u8=1 sender_x25519:fixed32     (the sender's fresh ephemeral key)
//   key    := BLAKE2b-256("tds-sealed-stream-v1" 0x00 || X25519(sender_sk, enclave_pk) ||
//                         sender_pk || enclave_pk || label_length:u32 || label)
//   chunk  := index:u64 final:u8 XChaCha20-Poly1305(key, nonce = 0^16 || index:u64,
//                                                   ad = index:u64 final:u8, plaintext)
// Chunks are numbered from 0; exactly the last one has final = 1. The key is unique per stream
// (fresh sender key), so the counter nonce never repeats under a key. The label (the input's
// name in the job) is bound into the key: a stream sealed for input "a" does not open as "b".
// The reader refuses a chunk whose index is not the next one (dropped, reordered, replayed),
// one that fails authentication (tampered, or from another stream), anything after the final
// chunk, and — at Finish — a stream that ended without its final chunk (truncated).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/enclave/attestation.h"

namespace tds::compute::enclave {

inline constexpr size_t kSealedHeaderBytes = 37;
inline constexpr size_t kSealedChunkOverhead = 9 + 16;
// Largest plaintext per chunk (bounds what the enclave holds per chunk).
inline constexpr size_t kMaxChunkPlaintext = 256 << 10;

// The enclave's ephemeral sealing key pair. The secret is wiped on destruction and has no
// accessor; only SealedReader uses it.
class SealingKeyPair {
 public:
  SealingKeyPair();
  ~SealingKeyPair();
  SealingKeyPair(const SealingKeyPair&) = delete;
  SealingKeyPair& operator=(const SealingKeyPair&) = delete;
  const X25519PublicKey& public_key() const { return public_; }

 private:
  friend class SealedReader;
  unsigned char secret_[32];
  X25519PublicKey public_{};
};

class SealedWriter {
 public:
  // Fails when `enclave` is a low-order point (the shared secret would be all zeros).
  static absl::StatusOr<std::unique_ptr<SealedWriter>> Create(const X25519PublicKey& enclave,
                                                              std::string_view label);
  ~SealedWriter();
  SealedWriter(const SealedWriter&) = delete;
  SealedWriter& operator=(const SealedWriter&) = delete;

  const std::string& header() const { return header_; }
  // The next chunk. Fails after the final chunk or above kMaxChunkPlaintext.
  absl::StatusOr<std::string> Seal(std::string_view plaintext, bool final);

 private:
  SealedWriter() = default;
  unsigned char key_[32];
  std::string header_;
  uint64_t next_ = 0;
  bool finished_ = false;
};

class SealedReader {
 public:
  // DataLoss on a malformed header; `keys` must outlive nothing (the stream key is derived).
  static absl::StatusOr<std::unique_ptr<SealedReader>> Open(const SealingKeyPair& keys,
                                                            std::string_view label,
                                                            std::string_view header);
  ~SealedReader();
  SealedReader(const SealedReader&) = delete;
  SealedReader& operator=(const SealedReader&) = delete;

  // Authenticates the next chunk and writes its plaintext to `*plaintext` (replacing it).
  absl::Status Next(std::string_view chunk, std::string* plaintext);
  bool finished() const { return finished_; }
  // DataLoss unless the final chunk arrived.
  absl::Status Finish() const;
  uint64_t chunks() const { return next_; }

 private:
  SealedReader() = default;
  std::string label_;
  unsigned char key_[32];
  uint64_t next_ = 0;
  bool finished_ = false;
};

}  // namespace tds::compute::enclave
