// The NCCL backend, compiled in only when LibTorch was built with CUDA and NCCL (the GPU machine's
// PyTorch 2.x); elsewhere asking for it is a clear error.
#include "cma/core/error.h"
#include "cma/dist/communicator.h"

namespace cma::dist {

std::unique_ptr<Communicator> make_nccl(const DistOptions&, const LaunchInfo&) {
  throw Error("--dist-backend nccl is not available in this build (CPU LibTorch); use gloo");
}

}  // namespace cma::dist
