#include "compute/mpc/products.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tds::compute::mpc {

absl::Status RunProducts(ProductShares& source, const ProductShape& shape, size_t width, Link& peer,
                         const char* peer_name,
                         const std::function<void(uint64_t, size_t, uint64_t*)>& fill,
                         uint64_t* shares) {
  // Chunk k's plain vectors, from its Send to the end of its Receive.
  std::vector<uint64_t> plain[2] = {std::vector<uint64_t>(width * shape.chunk_rows),
                                    std::vector<uint64_t>(width * shape.chunk_rows)};
  Sender sender(peer);
  auto send = [&](uint64_t k) {
    uint64_t* v = plain[k % 2].data();
    fill(k * shape.chunk_rows, shape.chunk_size(k), v);
    return source.Send(k, shape.chunk_size(k), v, sender);
  };
  const uint64_t chunks = shape.chunks();
  if (chunks > 0) {
    if (absl::Status s = send(0); !s.ok()) return s;
  }
  for (uint64_t k = 0; k < chunks; ++k) {
    if (k + 1 < chunks) {
      if (absl::Status s = send(k + 1); !s.ok()) return s;
    }
    if (absl::Status s =
            source.Receive(k, shape.chunk_size(k), plain[k % 2].data(), sender, shares);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = sender.Finish(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("sending chunks to the ", peer_name, ": ",
                                               std::string(s.message())));
  }
  return absl::OkStatus();
}

}  // namespace tds::compute::mpc
