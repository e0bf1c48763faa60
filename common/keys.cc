// Ed25519 keys over libsodium.
//
// Key file format (text, ASCII, written with mode 0600):
//
//   keyfile := "tds-ed25519-secret-v1" LF
//              "seed " hex64 LF       ; the 32-byte Ed25519 seed (RFC 8032 secret key)
//              "public " hex64 LF     ; the public key derived from the seed
//   hex64   := 64 hex digits (written lowercase; either case accepted on read)
//
// The final LF may be missing; nothing else may follow. The public line is redundant by
// design: a load re-derives it from the seed and refuses the file if the two differ, which
// catches corruption and hand edits. Errors never echo file content (it holds the secret).

#include "common/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/ed25519.h"
#include "common/fd.h"
#include "common/file.h"

namespace tds {
namespace {

constexpr std::string_view kKeyFileMagic = "tds-ed25519-secret-v1";
constexpr std::string_view kSeedPrefix = "seed ";
constexpr std::string_view kPublicPrefix = "public ";
constexpr size_t kSeedBytes = crypto_sign_SEEDBYTES;         // 32
constexpr size_t kSecretBytes = crypto_sign_SECRETKEYBYTES;  // 64: seed || public key
// A valid file is ~170 bytes; anything near this is not a key file.
constexpr size_t kMaxKeyFileBytes = 512;

static_assert(crypto_sign_PUBLICKEYBYTES == kPublicKeyBytes);
static_assert(crypto_sign_BYTES == kSignatureBytes);

// sodium_init() is idempotent and thread-safe, but a function-local static also makes every
// entry point pay for it only once.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) {
    std::fprintf(stderr, "tds: sodium_init() failed\n");
    std::abort();
  }
}

// Wipes a buffer holding secret material when the scope ends, on every path.
class Wiper {
 public:
  Wiper(void* p, size_t n) : p_(p), n_(n) {}
  ~Wiper() { sodium_memzero(p_, n_); }
  Wiper(const Wiper&) = delete;
  Wiper& operator=(const Wiper&) = delete;

 private:
  void* p_;
  size_t n_;
};

absl::Status OsError(int err, const std::string& what) { return absl::ErrnoToStatus(err, what); }

std::string OctalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes exactly 2*n hex digits into out[0..n). Written here rather than using HexDecode so
// the secret never lands in a std::string that could be copied or reallocated unwiped.
bool DecodeHexInto(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = HexNibble(hex[2 * i]);
    const int lo = HexNibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

void AppendHex(std::string* out, const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out->push_back(kDigits[p[i] >> 4]);
    out->push_back(kDigits[p[i] & 0xf]);
  }
}

// Allocates the guarded secret buffer; null only if the OS refuses the mapping.
uint8_t* AllocSecret() { return static_cast<uint8_t*>(sodium_malloc(kSecretBytes)); }

// Wraps a public key libsodium just derived; such a key is always a valid prime-order point.
PublicKey DerivedPublicKey(const uint8_t (&pk)[kPublicKeyBytes]) {
  auto key = PublicKey::FromBytes(std::string_view(reinterpret_cast<const char*>(pk), sizeof pk));
  if (!key.ok()) {
    std::fprintf(stderr, "tds: libsodium derived an invalid public key\n");
    std::abort();
  }
  return *key;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// PublicKey

absl::StatusOr<PublicKey> PublicKey::FromBytes(std::string_view raw) {
  EnsureSodium();
  if (raw.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key: expected ", kPublicKeyBytes, " bytes, got ", raw.size()));
  }
  PublicKey pk;
  std::memcpy(pk.key_.data(), raw.data(), kPublicKeyBytes);
  // Rejects non-canonical encodings, points off the curve, small-order points and points
  // outside the prime-order subgroup: such keys admit signatures that verify for many messages.
  if (crypto_core_ed25519_is_valid_point(pk.key_.data()) != 1) {
    return absl::InvalidArgumentError(
        "public key: not a valid Ed25519 point (non-canonical, off the curve or small order)");
  }
  return pk;
}

absl::StatusOr<PublicKey> PublicKey::FromHex(std::string_view hex) {
  auto raw = HexDecode(hex);
  if (!raw.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key: ", std::string(raw.status().message())));
  }
  return FromBytes(*raw);
}

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
  // The consensus predicate of common/ed25519.h (cofactored, canonical), through the cache of
  // known-valid signatures, so a signature checked at admission is free when its block is.
  return ed25519::VerifyCached({bytes(), message, signature});
}

std::string PublicKey::hex() const { return HexEncode(bytes()); }

// ---------------------------------------------------------------------------------------------
// SigningKey

std::unique_ptr<SigningKey> SigningKey::Generate() {
  EnsureSodium();
  std::unique_ptr<SigningKey> key(new SigningKey());
  key->secret_ = AllocSecret();
  if (key->secret_ == nullptr) {
    std::fprintf(stderr, "tds: sodium_malloc failed for a signing key\n");
    std::abort();  // like operator new: out of memory is not a recoverable condition here
  }
  uint8_t pk[kPublicKeyBytes];
  crypto_sign_keypair(pk, key->secret_);
  key->public_key_ = DerivedPublicKey(pk);
  sodium_mprotect_readonly(key->secret_);  // only read from here on; sodium_free undoes it
  return key;
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromSeed(std::string_view seed32) {
  EnsureSodium();
  if (seed32.size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing key seed: expected ", kSeedBytes, " bytes, got ", seed32.size()));
  }
  std::unique_ptr<SigningKey> key(new SigningKey());
  key->secret_ = AllocSecret();
  if (key->secret_ == nullptr) {
    return absl::ResourceExhaustedError("signing key: sodium_malloc failed");
  }
  uint8_t pk[kPublicKeyBytes];
  crypto_sign_seed_keypair(pk, key->secret_, reinterpret_cast<const unsigned char*>(seed32.data()));
  key->public_key_ = DerivedPublicKey(pk);
  sodium_mprotect_readonly(key->secret_);  // only read from here on; sodium_free undoes it
  return key;
}

SigningKey::~SigningKey() {
  if (secret_ != nullptr) sodium_free(secret_);  // wipes before unmapping
}

std::string SigningKey::Sign(std::string_view message) const {
  std::string sig(kSignatureBytes, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_);
  return sig;
}

absl::Status SigningKey::WriteToFile(const std::string& path) const {
  // Fail early (before any secret touches the disk) if the target exists; link() below
  // re-checks atomically.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("key file ", path, " already exists; refusing to overwrite it"));
  }

  // Content is built in one reserved buffer (no reallocation, so no stray copies) and wiped.
  std::string content;
  content.reserve(kMaxKeyFileBytes);
  Wiper wipe_content(content.data(), content.capacity());
  content.append(kKeyFileMagic).push_back('\n');
  content.append(kSeedPrefix);
  AppendHex(&content, secret_, kSeedBytes);  // libsodium's secret key is seed || public key
  content.push_back('\n');
  content.append(kPublicPrefix).append(public_key_.hex()).push_back('\n');

  absl::Status s = WriteFileExclusive(path, content, 0600);
  if (s.ok() || s.code() == absl::StatusCode::kAlreadyExists) return s;
  return absl::Status(s.code(), absl::StrCat("key file ", path, ": ", std::string(s.message())));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::LoadFromFile(const std::string& path) {
  EnsureSodium();
  auto fail = [&path](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("key file ", path, ": ", std::string(what)));
  };

  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return OsError(errno, absl::StrCat("key file ", path, ": open"));
  // Checks the opened file itself (fstat, not stat) so a swap between check and read is moot.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return OsError(errno, absl::StrCat("key file ", path, ": stat"));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("key file ", path, " is readable or writable by group or others (mode ",
                     OctalMode(st.st_mode), "); run chmod 600 ", path));
  }

  // Read into a fixed stack buffer, wiped on every return path.
  char buf[kMaxKeyFileBytes];
  Wiper wipe_buf(buf, sizeof buf);
  size_t len = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf + len, sizeof buf - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, absl::StrCat("key file ", path, ": read"));
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (len == sizeof buf) return fail("too large to be a tds-ed25519-secret-v1 key file");
  }

  std::string_view text(buf, len);
  auto next_line = [&text]() {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    return line;
  };
  if (next_line() != kKeyFileMagic) {
    return fail(
        absl::StrCat("not a tds key file (line 1 is not '", std::string(kKeyFileMagic), "')"));
  }
  const std::string_view seed_line = next_line();
  const std::string_view public_line = next_line();
  if (!text.empty()) return fail("unexpected content after line 3");

  uint8_t seed[kSeedBytes];
  Wiper wipe_seed(seed, sizeof seed);
  if (seed_line.substr(0, kSeedPrefix.size()) != kSeedPrefix ||
      !DecodeHexInto(seed_line.substr(kSeedPrefix.size()), seed, kSeedBytes)) {
    return fail("line 2 is not 'seed <64 hex digits>'");
  }
  if (public_line.substr(0, kPublicPrefix.size()) != kPublicPrefix) {
    return fail("line 3 is not 'public <64 hex digits>'");
  }
  auto stored_public = PublicKey::FromHex(public_line.substr(kPublicPrefix.size()));
  if (!stored_public.ok()) {
    return fail(absl::StrCat("line 3: ", std::string(stored_public.status().message())));
  }

  auto key = FromSeed(std::string_view(reinterpret_cast<const char*>(seed), sizeof seed));
  if (!key.ok()) return key.status();
  if (!((*key)->public_key() == *stored_public)) {
    return fail("public key does not match the secret seed (file corrupt or edited)");
  }
  return key;
}

}  // namespace tds
