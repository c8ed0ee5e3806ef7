#include <torch/torch.h>

#include <thread>

#include "cma/app/commands.h"

namespace cma::app {

void set_threads(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
}

}  // namespace cma::app
