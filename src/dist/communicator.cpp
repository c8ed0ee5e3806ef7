#include "cma/dist/communicator.h"

#include <cstdlib>

#include "cma/core/error.h"

namespace cma::dist {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    throw Error(std::string("environment variable ") + name + "='" + v + "' is not an integer");
  }
}

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "none"; }
  void all_reduce_sum(std::vector<torch::Tensor>&) override {}
  torch::Tensor all_gather(const torch::Tensor& x) override { return x; }
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}
};

class AllGatherFunction : public torch::autograd::Function<AllGatherFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, Communicator* comm) {
    ctx->saved_data["begin"] = static_cast<int64_t>(comm->rank()) * x.size(0);
    ctx->saved_data["rows"] = x.size(0);
    return comm->all_gather(x.detach().contiguous());  // [W*k, ...]
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const int64_t begin = ctx->saved_data["begin"].toInt(), rows = ctx->saved_data["rows"].toInt();
    return {grad[0].slice(0, begin, begin + rows), torch::Tensor()};
  }
};

}  // namespace

void DistOptions::validate() const {
  require(backend == "auto" || backend == "none" || backend == "gloo" || backend == "nccl",
          "--dist-backend '" + backend + "' is not one of auto, none, gloo, nccl");
  require(master_port > 0 && master_port < 65536, "--master-port " + std::to_string(master_port) + " is not a TCP port");
  require(timeout_seconds > 0, "--dist-timeout must be > 0 seconds");
}

LaunchInfo launch_info_from_env() {
  LaunchInfo info;
  // Open MPI's mpirun, then PMI (MPICH, Slurm), then torchrun-style variables.
  info.rank = env_int("OMPI_COMM_WORLD_RANK", env_int("PMI_RANK", env_int("RANK", 0)));
  info.world_size = env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", env_int("WORLD_SIZE", 1)));
  info.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("LOCAL_RANK", info.rank));
  require(info.world_size >= 1 && info.rank >= 0 && info.rank < info.world_size,
          "launcher environment gives rank " + std::to_string(info.rank) + " of world size " +
              std::to_string(info.world_size));
  return info;
}

std::unique_ptr<Communicator> make_single_process() { return std::make_unique<SingleProcess>(); }

std::unique_ptr<Communicator> make_gloo(const DistOptions& o, const LaunchInfo& l);  // gloo.cpp
std::unique_ptr<Communicator> make_nccl(const DistOptions& o, const LaunchInfo& l);  // nccl.cpp

std::unique_ptr<Communicator> make_communicator(const DistOptions& o, const LaunchInfo& l, bool cuda) {
  o.validate();
  std::string backend = o.backend;
  if (backend == "auto") backend = l.world_size == 1 ? "none" : (cuda ? "nccl" : "gloo");
  if (backend == "none") {
    require(l.world_size == 1, "--dist-backend none cannot run " + std::to_string(l.world_size) +
                                   " processes; use gloo or nccl");
    return make_single_process();
  }
  DistOptions resolved = o;
  if (const char* addr = std::getenv("MASTER_ADDR")) resolved.master_addr = addr;
  resolved.master_port = env_int("MASTER_PORT", o.master_port);
  return backend == "gloo" ? make_gloo(resolved, l) : make_nccl(resolved, l);
}

torch::Tensor all_gather_with_grad(Communicator& comm, const torch::Tensor& x) {
  if (comm.size() == 1) return x;
  return AllGatherFunction::apply(x, &comm);
}

void average_gradients(Communicator& comm, const std::vector<torch::Tensor>& params) {
  if (comm.size() == 1) return;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return;
  // One flat buffer: a single collective instead of one per tensor.
  auto flat = torch::cat([&] {
    std::vector<torch::Tensor> v;
    for (const auto& g : grads) v.push_back(g.reshape(-1));
    return v;
  }());
  std::vector<torch::Tensor> buf = {flat};
  comm.all_reduce_sum(buf);
  flat.div_(comm.size());
  int64_t offset = 0;
  torch::NoGradGuard no_grad;
  for (auto& g : grads) {
    g.copy_(flat.slice(0, offset, offset + g.numel()).view_as(g));
    offset += g.numel();
  }
}

}  // namespace cma::dist
