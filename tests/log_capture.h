// Captures what cma's logger prints while a test runs (spdlog ring buffer), to check warnings.
#pragma once
#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cma/core/log.h"

namespace cma::testing {

class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    sink_->set_pattern("%l %v");
    cma::log::get().sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = cma::log::get().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::vector<std::string> lines() const { return sink_->last_formatted(); }
  int count(const std::string& needle) const {
    const auto all = lines();
    return static_cast<int>(std::count_if(all.begin(), all.end(),
                                          [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

}  // namespace cma::testing
