// Collectives behind one small interface, so the trainer never knows which backend runs:
// single process, Gloo (CPUs, TCP rendezvous) or NCCL (GPUs; compiled in only with CUDA).
// Ranks come from the launcher's environment (launch_info_from_env below).
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
  int timeout_seconds = 600;           // a collective waiting longer fails instead of hanging (every rank evaluates its shard, so only a hang waits this long)
  void validate() const;
};

// Rank and world size as the launcher set them; {0, 1} without a launcher.
struct LaunchInfo {
  int rank = 0, world_size = 1, local_rank = 0;
  int local_world_size = 0;       // ranks on this node, where the launcher says (0: not said)
  int nodes = 0;                  // nodes the launch spans, where the launcher says (0: not said)
  std::string launcher = "none";  // which launcher's variables these are, for messages: "torchrun", "mpirun", ...

  LaunchInfo() = default;
  LaunchInfo(int rank_, int world_size_, int local_rank_)
      : rank(rank_), world_size(world_size_), local_rank(local_rank_) {}
  // True when the launcher says the ranks run on more than one node.
  bool multi_node() const { return nodes > 1 || (local_world_size > 0 && world_size > local_world_size); }
};

// Reads the first launcher whose rank or size variable is set, in this order, and takes all of its
// variables together (never the rank from one launcher and the size from another):
//   1. torchrun, or by hand: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE
//   2. Open MPI's mpirun:    OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE
//   3. PMI (MPICH, Intel MPI's hydra): PMI_RANK, PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS
//   4. Slurm's srun:         SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_STEP_NUM_NODES or SLURM_NNODES
// The launcher that started this very process sets its variables per process, while an outer one's
// are only inherited: torchrun is always innermost where used (it forks the workers itself), and
// mpirun or hydra run inside a Slurm allocation inherit its SLURM_* variables, so Slurm comes last.
// A launcher with its rank but not its size (or the reverse), a value that is not an integer, or a
// rank outside [0, size) is an error naming the variables.
LaunchInfo launch_info_from_env();

// The rendezvous every rank uses: MASTER_ADDR and MASTER_PORT override the options. A launch on
// several nodes must name rank 0's host (a loopback address cannot be reached from other nodes):
// without MASTER_ADDR or a non-loopback --master_addr it is an error saying so.
DistOptions resolve_rendezvous(const DistOptions& options, const LaunchInfo& launch);

// True when every rank runs on this host, so that nothing needs to listen beyond loopback: the
// launcher says so (one node, or as many ranks on this node as in the world), or the rendezvous
// address is a loopback one, which no other host could reach. Every rank decides alike. Where the
// launcher says nothing and the address is another, the ranks may be on several hosts: false.
bool on_one_node(const DistOptions& resolved, const LaunchInfo& launch);

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // Every collective of the multi-process backends throws cma::Error when a peer rank dies, stops
  // or stalls longer than --dist_timeout: the message names the collective, this rank, the peer (or
  // "another rank") and the timeout, then the library's own text.

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
