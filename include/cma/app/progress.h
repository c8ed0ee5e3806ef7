// A terminal progress bar for long work (cma prepare, benchmarks); plain periodic lines when
// stderr is not a terminal.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace cma::app {

class Progress {
 public:
  explicit Progress(std::string label);
  void update(int64_t done, int64_t total);
  void finish();

 private:
  std::string label_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  int64_t last_done_ = -1;
};

// Seconds since `t0` on the steady clock, for the timings commands print.
double seconds_since(std::chrono::steady_clock::time_point t0);

// A count with thousands separators, as the commands print parameter and byte counts:
// 151277313 -> "151,277,313".
std::string grouped(int64_t n);

}  // namespace cma::app
