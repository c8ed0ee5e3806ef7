#include "cma/dist/communicator.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "cma/core/error.h"

namespace cma::dist {
namespace {

// An integer environment variable: nullopt when unset or empty; anything but a whole decimal
// number is an error naming the variable.
std::optional<int> env_opt_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  int value = 0;
  const char* end = v + std::strlen(v);
  const auto [ptr, ec] = std::from_chars(v, end, value);
  require(ec == std::errc() && ptr == end,
          std::string("environment variable ") + name + "='" + v + "' is not an integer");
  return value;
}

int env_int(const char* name, int fallback) { return env_opt_int(name).value_or(fallback); }

// The variables one launcher sets for each process it starts.
struct LauncherVars {
  const char* name;
  const char* rank;
  const char* size;
  const char* local_rank;
  const char* local_size;  // nullptr: not set by this launcher
  const char* nodes[2];    // the first one set counts
};

// The order of launch_info_from_env (communicator.h says why).
constexpr LauncherVars kLaunchers[] = {
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", {nullptr, nullptr}},
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE", {nullptr, nullptr}},
    {"PMI", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", {nullptr, nullptr}},
    {"Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", nullptr, {"SLURM_STEP_NUM_NODES", "SLURM_NNODES"}},
};

bool is_set(const char* name) {
  const char* v = name ? std::getenv(name) : nullptr;
  return v && *v;
}

LaunchInfo read_launcher(const LauncherVars& l) {
  const std::string which = std::string(" (") + l.name + " variables)";
  require(is_set(l.rank) && is_set(l.size), std::string(is_set(l.rank) ? l.rank : l.size) + " is set but " +
                                                (is_set(l.rank) ? l.size : l.rank) + " is not" + which +
                                                ": a launcher sets both; set both or neither");
  LaunchInfo info;
  info.launcher = l.name;
  info.rank = *env_opt_int(l.rank);
  info.world_size = *env_opt_int(l.size);
  require(info.world_size >= 1 && info.rank >= 0 && info.rank < info.world_size,
          std::string(l.rank) + "=" + std::to_string(info.rank) + " is not a rank of " + l.size + "=" +
              std::to_string(info.world_size) + which);
  if (l.local_size) info.local_world_size = env_int(l.local_size, 0);
  require(info.local_world_size >= 0 && info.local_world_size <= info.world_size,
          std::string(l.local_size ? l.local_size : "") + "=" + std::to_string(info.local_world_size) +
              " is not between 1 and " + l.size + "=" + std::to_string(info.world_size) + which);
  info.local_rank = env_int(l.local_rank, info.local_world_size > 0 ? info.rank % info.local_world_size : info.rank);
  require(info.local_rank >= 0, std::string(l.local_rank) + " must not be negative" + which);
  for (const char* nodes : l.nodes) {
    if (is_set(nodes)) {
      info.nodes = *env_opt_int(nodes);
      require(info.nodes >= 1, std::string(nodes) + "=" + std::to_string(info.nodes) + " is not a node count" + which);
      break;
    }
  }
  return info;
}

bool is_loopback(const std::string& host) {
  return host.empty() || host == "localhost" || host.rfind("localhost.", 0) == 0 || host.rfind("127.", 0) == 0 ||
         host == "::1" || host == "0.0.0.0";
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
  for (const auto& l : kLaunchers) {
    if (is_set(l.rank) || is_set(l.size)) return read_launcher(l);
  }
  return LaunchInfo();
}

DistOptions resolve_rendezvous(const DistOptions& o, const LaunchInfo& l) {
  DistOptions r = o;
  if (is_set("MASTER_ADDR")) r.master_addr = std::getenv("MASTER_ADDR");
  if (const auto port = env_opt_int("MASTER_PORT")) {
    require(*port > 0 && *port < 65536,
            "environment variable MASTER_PORT=" + std::to_string(*port) + " is not a TCP port");
    r.master_port = *port;
  }
  if (l.multi_node() && is_loopback(r.master_addr)) {
    const std::string span = l.nodes > 1 ? std::to_string(l.nodes) + " nodes"
                                         : "more than one node (" + std::to_string(l.local_world_size) +
                                               " of its " + std::to_string(l.world_size) + " ranks on this one)";
    throw Error("rank " + std::to_string(l.rank) + " of " + std::to_string(l.world_size) + " was launched by " +
                l.launcher + " on " + span + ", but the rendezvous address is '" + r.master_addr +
                "', which ranks on other nodes cannot reach: set MASTER_ADDR (with mpirun, also pass it on: "
                "-x MASTER_ADDR) or --master_addr to rank 0's host name or IP address");
  }
  return r;
}

bool on_one_node(const DistOptions& o, const LaunchInfo& l) {
  if (l.multi_node()) return false;
  return l.nodes == 1 || l.local_world_size == l.world_size || is_loopback(o.master_addr);
}

std::unique_ptr<Communicator> make_single_process() { return std::make_unique<SingleProcess>(); }

std::unique_ptr<Communicator> make_gloo(const DistOptions& o, const LaunchInfo& l);  // c10d.cpp
std::unique_ptr<Communicator> make_nccl(const DistOptions& o, const LaunchInfo& l);  // c10d.cpp

std::unique_ptr<Communicator> make_communicator(const DistOptions& o, const LaunchInfo& l, bool cuda) {
  o.validate();
  std::string backend = o.backend;
  if (backend == "auto") backend = l.world_size == 1 ? "none" : (cuda ? "nccl" : "gloo");
  if (backend == "none") {
    require(l.world_size == 1, "--dist-backend none cannot run " + std::to_string(l.world_size) +
                                   " processes; use gloo or nccl");
    return make_single_process();
  }
  const DistOptions resolved = resolve_rendezvous(o, l);
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
