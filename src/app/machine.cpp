#include "cma/app/machine.h"

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace cma::app {

std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && model.empty()) model = value;
    if (key == "flags" && flags.empty()) {
      std::istringstream words(value);
      for (std::string w; words >> w;) flags.insert(w);
    }
  }
  std::string isa = flags.count("avx512f") ? "AVX-512" : flags.count("avx2") ? "AVX2 (no AVX-512)" : "no AVX2";
  if (flags.count("avx512_bf16")) isa += " with AVX512-BF16";
  if (flags.count("amx_bf16")) isa += " and AMX-BF16";
  return (model.empty() ? std::string("unknown CPU") : model) + ", " +
         std::to_string(std::thread::hardware_concurrency()) + " logical CPUs, " + isa;
}

}  // namespace cma::app
