#include "sdk/cli/progress.h"

#include <unistd.h>

#include <utility>

namespace tds::cli {
namespace {

constexpr auto kTtyInterval = std::chrono::milliseconds(100);
constexpr auto kLogInterval = std::chrono::seconds(5);

}  // namespace

ProgressLine::ProgressLine(std::ostream& out, std::string label, bool tty, Clock clock)
    : out_(out),
      label_(std::move(label)),
      tty_(tty),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

bool ProgressLine::StderrIsTty() { return isatty(STDERR_FILENO) == 1; }

std::string ProgressLine::Format(std::string_view phase, uint64_t done, uint64_t total) const {
  std::string line = label_ + ": " + std::string(phase);
  if (total > 0) {
    const uint64_t percent = done >= total ? 100 : done * 100 / total;
    line += " " + std::to_string(percent) + "% (" + std::to_string(done) + " of " +
            std::to_string(total) + ")";
  }
  return line;
}

void ProgressLine::Update(std::string_view phase, uint64_t done, uint64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  const auto now = clock_();
  const bool new_phase = phase != phase_;
  if (!new_phase && now - last_ < (tty_ ? std::chrono::steady_clock::duration(kTtyInterval)
                                        : std::chrono::steady_clock::duration(kLogInterval))) {
    return;
  }
  phase_ = std::string(phase);
  last_ = now;
  std::string line = Format(phase, done, total);
  if (tty_) {
    const size_t width = line.size();
    if (width < shown_width_) line.append(shown_width_ - width, ' ');
    shown_width_ = width;
    out_ << "\r" << line << std::flush;
  } else {
    out_ << line << "\n" << std::flush;
  }
}

void ProgressLine::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (tty_ && shown_width_ > 0)
    out_ << "\r" << std::string(shown_width_, ' ') << "\r" << std::flush;
}

}  // namespace tds::cli
