#include "common/keys.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "common/bytes.h"
#include "common/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tds {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// A fresh directory under $TMPDIR, removed with its contents at scope end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tds-keys-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Unhex(std::string_view hex) {
  auto raw = HexDecode(hex);
  EXPECT_TRUE(raw.ok()) << raw.status();
  return raw.ok() ? *raw : std::string();
}

// RFC 8032 §7.1, TEST 1.
constexpr char kRfcSeed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr char kRfcPublic[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr char kRfcSignature[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
    "b46bd25bf5f0595bbe24655141438e7a100b";

std::unique_ptr<SigningKey> SeededKey(char fill) {
  auto key = SigningKey::FromSeed(std::string(32, fill));
  EXPECT_TRUE(key.ok());
  return std::move(*key);
}

// `s` with the character at `pos` replaced.
std::string With(std::string s, size_t pos, char c) {
  s[pos] = c;
  return s;
}

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

TEST(SigningKey, GeneratedKeySignsAndItsPublicKeyVerifies) {
  auto key = SigningKey::Generate();
  const std::string sig = key->Sign("hello");
  EXPECT_EQ(sig.size(), kSignatureBytes);
  EXPECT_TRUE(key->public_key().Verify("hello", sig));
}

TEST(SigningKey, TwoGeneratedKeysDiffer) {
  EXPECT_FALSE(SigningKey::Generate()->public_key() == SigningKey::Generate()->public_key());
}

TEST(SigningKey, MatchesRfc8032TestVector) {
  auto key = SigningKey::FromSeed(Unhex(kRfcSeed));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ((*key)->public_key().hex(), kRfcPublic);
  EXPECT_EQ(HexEncode((*key)->Sign("")), kRfcSignature);
}

TEST(SigningKey, FromSeedIsDeterministic) {
  EXPECT_EQ(SeededKey(7)->public_key(), SeededKey(7)->public_key());
  EXPECT_EQ(SeededKey(7)->Sign("m"), SeededKey(7)->Sign("m"));
  EXPECT_FALSE(SeededKey(7)->public_key() == SeededKey(8)->public_key());
}

TEST(SigningKey, FromSeedRefusesWrongLength) {
  auto key = SigningKey::FromSeed(std::string(31, 'x'));
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(Message(key.status()), HasSubstr("expected 32 bytes, got 31"));
}

TEST(PublicKey, VerifyRefusesOtherMessage) {
  auto key = SeededKey(1);
  EXPECT_FALSE(key->public_key().Verify("hellp", key->Sign("hello")));
}

TEST(PublicKey, VerifyRefusesAnyFlippedSignatureBit) {
  auto key = SeededKey(1);
  const std::string sig = key->Sign("hello");
  for (size_t i = 0; i < sig.size(); ++i) {
    std::string bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(key->public_key().Verify("hello", bad)) << "byte " << i;
  }
}

TEST(PublicKey, VerifyRefusesWrongLengthSignature) {
  auto key = SeededKey(1);
  const std::string sig = key->Sign("hello");
  EXPECT_FALSE(key->public_key().Verify("hello", sig.substr(0, 63)));
  EXPECT_FALSE(key->public_key().Verify("hello", sig + "x"));
  EXPECT_FALSE(key->public_key().Verify("hello", ""));
}

TEST(PublicKey, VerifyRefusesOtherKeysSignature) {
  EXPECT_FALSE(SeededKey(1)->public_key().Verify("m", SeededKey(2)->Sign("m")));
}

TEST(PublicKey, HexRoundTrips) {
  auto key = SeededKey(3);
  const PublicKey& pk = key->public_key();
  auto back = PublicKey::FromHex(pk.hex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pk);
  auto upper = PublicKey::FromHex(With(kRfcPublic, 0, 'D'));
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->hex(), kRfcPublic);
}

TEST(PublicKey, InvalidHexRefused) {
  auto odd = PublicKey::FromHex(std::string(kRfcPublic).substr(1));
  ASSERT_FALSE(odd.ok());
  EXPECT_THAT(Message(odd.status()), HasSubstr("public key: hex: odd length"));
  auto bad_char = PublicKey::FromHex(With(kRfcPublic, 10, 'x'));
  ASSERT_FALSE(bad_char.ok());
  EXPECT_THAT(Message(bad_char.status()), HasSubstr("invalid character at position 10"));
  auto short_key = PublicKey::FromHex(std::string(kRfcPublic).substr(2));
  ASSERT_FALSE(short_key.ok());
  EXPECT_THAT(Message(short_key.status()), HasSubstr("expected 32 bytes, got 31"));
}

TEST(PublicKey, SmallOrderPointsRefused) {
  // The identity (y = 1) and the order-4 point with y = 0: any signature "verifies" for them.
  for (const std::string hex :
       {"0100000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"}) {
    auto pk = PublicKey::FromHex(hex);
    ASSERT_FALSE(pk.ok()) << hex;
    EXPECT_THAT(Message(pk.status()), HasSubstr("not a valid Ed25519 point"));
  }
}

TEST(PublicKey, NonCanonicalEncodingRefused) {
  // y = p (2^255 - 19) encodes 0 non-canonically.
  auto pk = PublicKey::FromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  EXPECT_FALSE(pk.ok());
}

TEST(KeyFile, WriteThenLoadRoundTrips) {
  TempDir dir;
  const std::string path = dir.File("member.key");
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key->WriteToFile(path).ok());
  auto loaded = SigningKey::LoadFromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->public_key(), key->public_key());
  EXPECT_EQ((*loaded)->Sign("m"), key->Sign("m"));  // Ed25519 signing is deterministic
}

TEST(KeyFile, WrittenWithMode0600AndDocumentedFormat) {
  TempDir dir;
  const std::string path = dir.File("member.key");
  auto key = SigningKey::FromSeed(Unhex(kRfcSeed));
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE((*key)->WriteToFile(path).ok());
  EXPECT_EQ(FileMode(path), 0600);
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, std::string("tds-ed25519-secret-v1\nseed ") + kRfcSeed + "\npublic " +
                       kRfcPublic + "\n");
  // Only the key file: the temporary it was written through is gone.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(KeyFile, ExistingFileIsNotOverwritten) {
  TempDir dir;
  const std::string path = dir.File("member.key");
  ASSERT_TRUE(WriteFileAtomic(path, "precious", 0600).ok());
  absl::Status s = SeededKey(1)->WriteToFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(Message(s), HasSubstr(path));
  EXPECT_THAT(Message(s), HasSubstr("already exists"));
  EXPECT_EQ(*ReadFile(path), "precious");
}

TEST(KeyFile, WriteIntoMissingDirectoryFailsNamingPath) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/member.key");
  absl::Status s = SeededKey(1)->WriteToFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Message(s), HasSubstr(path));
}

TEST(KeyFile, GroupReadableFileRefusedWithChmodHint) {
  TempDir dir;
  const std::string path = dir.File("member.key");
  ASSERT_TRUE(SeededKey(1)->WriteToFile(path).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto loaded = SigningKey::LoadFromFile(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(loaded.status()), HasSubstr("key file " + path));
  EXPECT_THAT(Message(loaded.status()), HasSubstr("(mode 0644)"));
  EXPECT_THAT(Message(loaded.status()), HasSubstr("run chmod 600 " + path));
}

TEST(KeyFile, AnyGroupOrOtherPermissionRefused) {
  TempDir dir;
  const std::string path = dir.File("member.key");
  ASSERT_TRUE(SeededKey(1)->WriteToFile(path).ok());
  for (int mode : {0640, 0620, 0604, 0602, 0601, 0610}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    EXPECT_FALSE(SigningKey::LoadFromFile(path).ok()) << std::oct << mode;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);  // owner read-only is fine
  EXPECT_TRUE(SigningKey::LoadFromFile(path).ok());
}

TEST(KeyFile, MissingFileRefusedNamingPath) {
  TempDir dir;
  const std::string path = dir.File("absent.key");
  auto loaded = SigningKey::LoadFromFile(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(loaded.status()), HasSubstr(path));
}

// Writes `content` as a 0600 file and returns LoadFromFile's error text ("" if it loaded).
std::string LoadError(const TempDir& dir, const std::string& content) {
  const std::string path = dir.File("corrupt.key");
  std::filesystem::remove(path);
  EXPECT_TRUE(WriteFileAtomic(path, content, 0600).ok());
  auto loaded = SigningKey::LoadFromFile(path);
  if (loaded.ok()) return "";
  const std::string msg = Message(loaded.status());
  EXPECT_THAT(msg, HasSubstr("key file " + path));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  return msg;
}

TEST(KeyFile, CorruptFilesRefusedNamingTheCheck) {
  TempDir dir;
  const std::string seed = std::string("seed ") + kRfcSeed + "\n";
  const std::string pub = std::string("public ") + kRfcPublic + "\n";
  const std::string magic = "tds-ed25519-secret-v1\n";
  ASSERT_EQ(LoadError(dir, magic + seed + pub), "");  // the well-formed baseline loads
  ASSERT_EQ(LoadError(dir, magic + seed + pub.substr(0, pub.size() - 1)), "");  // final LF optional

  EXPECT_THAT(LoadError(dir, ""), HasSubstr("not a tds key file"));
  EXPECT_THAT(LoadError(dir, "tds-ed25519-secret-v2\n" + seed + pub),
              HasSubstr("not a tds key file"));
  EXPECT_THAT(LoadError(dir, magic), HasSubstr("line 2 is not 'seed <64 hex digits>'"));
  EXPECT_THAT(LoadError(dir, magic + seed.substr(2) + pub), HasSubstr("line 2"));
  EXPECT_THAT(LoadError(dir, magic + "seed " + std::string(kRfcSeed).substr(2) + "\n" + pub),
              HasSubstr("line 2"));
  EXPECT_THAT(LoadError(dir, magic + "seed " + With(kRfcSeed, 5, 'q') + "\n" + pub),
              HasSubstr("line 2"));
  EXPECT_THAT(LoadError(dir, magic + seed), HasSubstr("line 3 is not 'public <64 hex digits>'"));
  EXPECT_THAT(LoadError(dir, magic + seed + "public zz\n"), HasSubstr("line 3: public key"));
  EXPECT_THAT(LoadError(dir, magic + seed + pub + "extra\n"), HasSubstr("after line 3"));
  EXPECT_THAT(LoadError(dir, magic + seed + "public " + SeededKey(9)->public_key().hex() + "\n"),
              HasSubstr("does not match the secret seed"));
  EXPECT_THAT(LoadError(dir, std::string(100000, 'a')), HasSubstr("too large"));
}

TEST(KeyFile, ErrorsNeverEchoTheSecret) {
  TempDir dir;
  const std::string bad_seed = With(kRfcSeed, 63, 'Z');
  const std::string msg =
      LoadError(dir, "tds-ed25519-secret-v1\nseed " + bad_seed + "\npublic " + kRfcPublic + "\n");
  ASSERT_NE(msg, "");
  EXPECT_THAT(msg, Not(HasSubstr(std::string(kRfcSeed).substr(0, 16))));
}

TEST(KeyFile, DirectoryRefused) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0700), 0);
  auto loaded = SigningKey::LoadFromFile(dir.path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(Message(loaded.status()), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace tds
