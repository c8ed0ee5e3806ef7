// Logging: spdlog with a "[subsystem]" tag. Only rank 0 prints info lines; every rank prints errors.
#pragma once
#include <spdlog/spdlog.h>

#include <string>

namespace cma::log {

// Sets this process's rank so that non-zero ranks stay quiet except for warnings and errors.
void set_rank(int rank);
int rank();
// Adds a file sink (the run's log.txt) next to the console.
void add_file_sink(const std::string& path);
// Returns the shared logger; created on first use with pattern "[time] [level] message".
spdlog::logger& get();

template <typename... Args>
void info(const char* tag, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (rank() != 0) return;
  get().info("[{}] {}", tag, fmt::format(fmt, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(const char* tag, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  get().warn("[{}] {}", tag, fmt::format(fmt, std::forward<Args>(args)...));
}
template <typename... Args>
void error(const char* tag, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  get().error("[{}] {}", tag, fmt::format(fmt, std::forward<Args>(args)...));
}

}  // namespace cma::log
