#include <thread>

#include "cma/app/commands.h"
#include "cma/core/log.h"
#include "cma/model/cpu_gemm.h"

namespace cma::app {

int set_threads(int threads, const std::string& cpu_gemm) {
  const auto gemm = model::parse_cpu_gemm(cpu_gemm);
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  log::info("app", "threads: {}", model::use_cpu_gemm(gemm, n));
  return n;
}

}  // namespace cma::app
