// Helpers shared by the libFuzzer targets in tests/fuzz/ (built by scripts/fuzz.sh, not by CMake).
//
// The readers under test take paths, so a target writes each input to a file in a private folder
// (one mkdtemp under $TMPDIR per process, removed at exit) and calls the reader on it. cma::Error
// is the readers' documented answer to a bad file and is caught; anything else escapes, and
// libFuzzer reports it as a crash (an uncaught exception aborts), as it does sanitizer reports,
// timeouts and allocations above -malloc_limit_mb.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "cma/core/log.h"

namespace cma::fuzz {

// Aborts with a message when an invariant of a reader's result does not hold: a finding.
#define CMA_FUZZ_CHECK(cond)                                                              \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

// The process's private temporary folder, created on first use. The string is never freed: the
// exit handler that removes the folder runs after static objects are destroyed.
inline const std::string& temp_dir() {
  static const std::string* const dir = [] {
    const char* base = std::getenv("TMPDIR");
    auto* templ = new std::string(std::string(base && *base ? base : "/tmp") + "/cma-fuzz-XXXXXX");
    if (::mkdtemp(templ->data()) == nullptr) {
      std::perror("cma fuzz: mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*dir, ec);
    });
    return templ;
  }();
  return *dir;
}

// Writes `size` bytes to temp_dir()/name and returns the path.
inline std::string write_temp(const std::string& name, const void* data, size_t size) {
  const std::string path = temp_dir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size != 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(("cma fuzz: writing " + path).c_str());
    std::abort();
  }
  return path;
}
inline std::string write_temp(const std::string& name, const std::string& text) {
  return write_temp(name, text.data(), text.size());
}

// The readers log warnings for odd but readable files; millions of them would drown the report.
inline void quiet_logs() { cma::log::get().set_level(spdlog::level::off); }

}  // namespace cma::fuzz
