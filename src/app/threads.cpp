#include <dlfcn.h>
#include <torch/torch.h>

#include <thread>

#include "cma/app/commands.h"
#include "cma/core/log.h"

namespace cma::app {

int set_threads(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Debian's LibTorch calls a pthread OpenBLAS that runs its own thread pool. With LibTorch's
  // OpenMP pool also at n threads the two oversubscribe the cores: `cma bench step` measured a
  // ViT-B/32 step 1.6x slower that way than with BLAS on n threads and LibTorch's pool at 1.
  using SetThreads = void (*)(int);
  auto openblas = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblas) {
    openblas(n);
    torch::set_num_threads(1);
    log::info("app", "threads: OpenBLAS {} (LibTorch intra-op 1, to avoid oversubscription)", n);
  } else {
    torch::set_num_threads(n);
    log::info("app", "threads: LibTorch intra-op {}", n);
  }
  return n;
}

}  // namespace cma::app
