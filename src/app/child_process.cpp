#include "cma/app/child_process.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "cma/core/error.h"

namespace cma::app {

std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  require(!ec, "cannot find this program's own path (/proc/self/exe): " + ec.message());
  return p.string();
}

ChildResult run_child(const std::string& exe, const std::vector<std::string>& args, const std::string& log_path,
                      const std::function<void()>& poll) {
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_store{exe};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  require(log_fd >= 0, "cannot open " + log_path + " for writing: " + std::strerror(errno));

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(log_fd);
    throw Error("cannot start " + exe + ": fork failed: " + std::strerror(err));
  }
  if (pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execvp(exe.c_str(), argv.data());
    ::_exit(127);  // exec failed; the parent reports the exit code
  }
  ::close(log_fd);

  ChildResult r;
  int status = 0;
  struct rusage usage {};
  for (;;) {
    const pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw Error("waiting for " + exe + " failed: " + std::strerror(errno));
    if (poll) poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.peak_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (poll) poll();
  return r;
}

}  // namespace cma::app
