// Running the cma binary from tests: a command line in, exit code and output back.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "test_tmp.h"

namespace cma::testing {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  const TempDir tmp("cli");
  const std::string log = tmp / "output.log";
  const std::string cmd = env + " " + CMA_BINARY + " " + args + " > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = slurp(log);
  return r;
}

}  // namespace cma::testing
