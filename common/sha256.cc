#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace tds {
namespace {

// Fetched once: passing EVP_sha256() makes OpenSSL 3 look the implementation up again on
// every EVP_DigestInit_ex (a locked provider query that cost more than hashing a transaction).
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) std::abort();
    return m;
  }();
  return md;
}

}  // namespace

Hash Sha256(std::string_view data) {
  // One context per thread: EVP_Digest would allocate and free a context per call, which costs
  // more than hashing a Merkle node.
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx t;
  Hash out;
  unsigned int len = 0;
  if (t.ctx == nullptr || EVP_DigestInit_ex(t.ctx, Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(t.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(t.ctx, out.data(), &len) != 1) {
    std::abort();  // only on allocation failure inside OpenSSL
  }
  return out;
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr ||
      EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), Sha256Md(), nullptr) != 1) {
    std::abort();
  }
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Sha256Hasher& Sha256Hasher::Update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
  return *this;
}

Hash Sha256Hasher::Finish() {
  Hash out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  return out;
}

}  // namespace tds
