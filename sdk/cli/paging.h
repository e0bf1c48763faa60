#pragma once
// Listings read page by page (every `--limit/--cursor` command): one loop, one "more" line.

#include <cstdint>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tds::cli {

// Reads a listing into `take`: `request`'s page is set to `limit` rows from `cursor` (one page),
// or with limit 0 to every page from `cursor`, `page_size` rows at a time. `fetch(request)`
// answers one page (absl::StatusOr<Response>, Response with next_cursor()); `take(response)`
// consumes its rows, and an error it returns stops the listing. Returns where the listing
// stopped before its end ("" when it reached the end).
template <typename Request, typename Fetch, typename Take>
absl::StatusOr<std::string> ReadPages(Request& request, uint32_t limit, const std::string& cursor,
                                      uint32_t page_size, Fetch&& fetch, Take&& take) {
  request.mutable_page()->set_limit(limit == 0 ? page_size : limit);
  request.mutable_page()->set_cursor(cursor);
  for (;;) {
    auto page = fetch(request);
    if (!page.ok()) return page.status();
    if (absl::Status s = take(*page); !s.ok()) return s;
    if (limit != 0 || page->next_cursor().empty()) return page->next_cursor();
    request.mutable_page()->set_cursor(page->next_cursor());
  }
}

// Where a listing that stopped before its end goes on, on stderr.
inline void PrintMore(const std::string& next) {
  if (!next.empty()) std::cerr << "more: --cursor " << next << "\n";
}

}  // namespace tds::cli
