#include "cma/app/progress.h"

#include <unistd.h>

#include <cstdio>

namespace cma::app {

Progress::Progress(std::string label)
    : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(int64_t done, int64_t total) {
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  // A bar redraws a few times a second; a log gets a line every 10 s (and at the end).
  if (done != total && since_last < (tty_ ? 0.2 : 10.0)) return;
  last_ = now;
  last_done_ = done;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double eta = rate > 0 ? (total - done) / rate : 0;
  const int width = 30, filled = total > 0 ? static_cast<int>(width * done / total) : width;
  if (tty_) {
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld %.1f/s ETA %ds ", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<long long>(done), static_cast<long long>(total),
                 rate, static_cast<int>(eta));
  } else {
    std::fprintf(stderr, "%s %lld/%lld (%.1f/s, ETA %ds)\n", label_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), rate, static_cast<int>(eta));
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_ && last_done_ >= 0) std::fprintf(stderr, "\n");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string grouped(int64_t n) {  // 151277313 -> "151,277,313"
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace cma::app
