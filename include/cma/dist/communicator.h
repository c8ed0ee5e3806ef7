// Collectives behind one small interface, so the trainer never knows which backend runs:
// single process, Gloo (CPUs, TCP rendezvous) or NCCL (GPUs; compiled in only with CUDA).
// Ranks come from the launcher's environment: mpirun (OMPI_COMM_WORLD_*), PMI, or RANK/WORLD_SIZE.
#pragma once
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace cma::dist {

struct DistOptions {
  std::string backend = "auto";        // auto (gloo on CPU, nccl on CUDA, none for one process) | none | gloo | nccl
  std::string master_addr = "127.0.0.1";  // rendezvous host (MASTER_ADDR overrides)
  int master_port = 29500;             // rendezvous TCP port (MASTER_PORT overrides)
  int timeout_seconds = 3600;          // a collective waiting longer fails instead of hanging (rank 0 evaluates alone meanwhile)
  void validate() const;
};

// Rank and world size as the launcher set them; {0, 1} without a launcher.
struct LaunchInfo {
  int rank = 0, world_size = 1, local_rank = 0;
};
LaunchInfo launch_info_from_env();

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // In-place sum over ranks of each tensor.
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  // Concatenates every rank's x along dim 0 (all ranks pass the same shape).
  virtual torch::Tensor all_gather(const torch::Tensor& x) = 0;
  virtual void broadcast(torch::Tensor& x, int root) = 0;
  virtual void barrier() = 0;
};

std::unique_ptr<Communicator> make_single_process();
// Builds the backend the options and launch info call for; `cuda` picks nccl for "auto".
std::unique_ptr<Communicator> make_communicator(const DistOptions& options, const LaunchInfo& launch, bool cuda);

// All-gather with the reference's gradient (docs/reference.md §4): forward concatenates every rank's
// rows; backward hands each rank only the gradient of its own rows, with no sum over ranks.
torch::Tensor all_gather_with_grad(Communicator& comm, const torch::Tensor& x);

// Averages gradients over ranks (sum, then divide by the world size), as DDP does.
void average_gradients(Communicator& comm, const std::vector<torch::Tensor>& params);

}  // namespace cma::dist
