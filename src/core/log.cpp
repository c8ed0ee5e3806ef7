#include "cma/core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <memory>

namespace cma::log {
namespace {
std::atomic<int> g_rank{0};

std::shared_ptr<spdlog::logger> make_logger() {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("cma", sink);
  logger->set_pattern("[%H:%M:%S] [%^%l%$] %v");
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  return logger;
}
}  // namespace

spdlog::logger& get() {
  static std::shared_ptr<spdlog::logger> logger = make_logger();
  return *logger;
}

void set_rank(int r) { g_rank = r; }
int rank() { return g_rank; }

void add_file_sink(const std::string& path) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S] [%l] %v");
  get().sinks().push_back(sink);
}

}  // namespace cma::log
