#pragma once
// SHA-256 through OpenSSL.

#include <string_view>

#include "common/bytes.h"

namespace tds {

Hash Sha256(std::string_view data);

// Incremental hashing; Finish() may be called once.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  Sha256Hasher& Update(std::string_view data);
  Hash Finish();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay out of ours.
};

}  // namespace tds
