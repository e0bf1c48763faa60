#pragma once
// Progress of a long `tds` run, on stderr, so stdout stays the result.
//
// On a terminal, one line rewritten in place ("\r" + the line, padded over the previous one),
// at most every 100 ms:            psi: match 45% (450000 of 1000000)
// Otherwise (a log, a pipe), whole lines: one at each phase change and at most one every 5 s
// within a phase, so a long run logs its pace without flooding.
// Finish() ends the display (clears the in-place line) before the summary is printed.
//
// Thread-safe: Update is called from the protocol's thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

namespace tds::cli {

class ProgressLine {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `label` prefixes every line ("psi"). `tty`: rewrite in place. `clock` empty = steady clock.
  ProgressLine(std::ostream& out, std::string label, bool tty, Clock clock = nullptr);
  // Whether stderr is a terminal.
  static bool StderrIsTty();

  void Update(std::string_view phase, uint64_t done, uint64_t total);
  void Finish();

 private:
  std::string Format(std::string_view phase, uint64_t done, uint64_t total) const;

  std::ostream& out_;
  const std::string label_;
  const bool tty_;
  const Clock clock_;
  std::mutex mu_;
  std::string phase_;                             // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_{};  // GUARDED_BY(mu_)
  size_t shown_width_ = 0;                        // GUARDED_BY(mu_): in-place line width
  bool finished_ = false;                         // GUARDED_BY(mu_)
};

}  // namespace tds::cli
