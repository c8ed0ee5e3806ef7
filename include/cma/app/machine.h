// What machine a figure was measured on, for reports and benchmarks: figures from different CPUs
// are not comparable (oneDNN's AVX-512 and bf16 paths far outrun AVX2 ones).
#pragma once
#include <string>

namespace cma::app {

// "AMD EPYC 7B13, 2 logical CPUs, AVX2 (no AVX-512)" from /proc/cpuinfo; "unknown CPU" without it.
std::string cpu_description();

}  // namespace cma::app
