// Running a cma subcommand in a child process, as a user would from the shell: `cma demo` runs
// each training and evaluation this way, so that each gets its own peak-memory figure and a crash
// in one is reported rather than taking the demo down.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cma::app {

struct ChildResult {
  int exit_code = 0;         // the child's exit status, or 128 + signal when a signal killed it
  int64_t peak_rss_bytes = 0;  // the child's peak resident memory (getrusage's ru_maxrss)
  double seconds = 0;        // wall time from start to exit
};

// This executable's path (/proc/self/exe), to run its own subcommands.
std::string self_executable();

// Runs `exe args...` (exe: a path, or a name looked up in PATH) with stdout and stderr appended to `log_path`, calling `poll` about five
// times a second until it exits. Throws cma::Error when the child cannot be started.
ChildResult run_child(const std::string& exe, const std::vector<std::string>& args, const std::string& log_path,
                      const std::function<void()>& poll);

}  // namespace cma::app
