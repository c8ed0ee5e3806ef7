// Where tests find their fixtures: the project's own tests/data/ first, then ../shared beside
// the checkout (or $CMA_SHARED_DIR). A missing fixture is a test failure that names the paths tried.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace cma::testing {

inline std::string shared_dir() {
  if (const char* env = std::getenv("CMA_SHARED_DIR")) return env;
  return std::string(CMA_SOURCE_DIR) + "/../shared";
}

// Finds `relative` (for example "parity/tinyA.safetensors") under tests/data or the shared folder.
// Returns "" when neither has it; callers turn that into a failure naming `relative`.
inline std::string fixture(const std::string& relative) {
  const std::vector<std::string> roots = {std::string(CMA_SOURCE_DIR) + "/tests/data", shared_dir()};
  for (const auto& root : roots) {
    const std::string p = root + "/" + relative;
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

// Splits a colon-separated environment variable into paths (empty when unset).
inline std::vector<std::string> env_paths(const char* name) {
  std::vector<std::string> out;
  const char* v = std::getenv(name);
  if (!v) return out;
  std::string s(v), cur;
  for (char c : s) {
    if (c == ':') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace cma::testing
