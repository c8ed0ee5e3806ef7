// The Gloo backend through c10d: a TCPStore rendezvous on master_addr:master_port, then Gloo
// collectives over TCP. Needs libgloo-dev's headers with Debian's LibTorch.
#include "cma/core/error.h"
#include "cma/dist/communicator.h"

#ifdef CMA_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace cma::dist {

#ifdef CMA_HAVE_GLOO
namespace {

class Gloo final : public Communicator {
 public:
  Gloo(const DistOptions& o, const LaunchInfo& l) : rank_(l.rank), size_(l.world_size) {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.master_port);
    so.isServer = l.rank == 0;
    so.numWorkers = l.world_size;
    so.timeout = std::chrono::seconds(o.timeout_seconds);
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
      auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(o.timeout_seconds));
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.master_addr));
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, l.rank, l.world_size, opts);
    } catch (const std::exception& e) {
      throw Error("gloo: rank " + std::to_string(l.rank) + " could not join " + o.master_addr + ":" +
                  std::to_string(o.master_port) + " within " + std::to_string(o.timeout_seconds) +
                  " s: " + e.what() + " (is another job using this port? set --master-port or MASTER_PORT)");
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "gloo"; }
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override { pg_->allreduce(tensors)->wait(); }
  torch::Tensor all_gather(const torch::Tensor& x) override {
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < size_; ++r) out[0].push_back(torch::empty_like(x));
    std::vector<torch::Tensor> in = {x.contiguous()};
    pg_->allgather(out, in)->wait();
    return torch::cat(out[0], 0);
  }
  void broadcast(torch::Tensor& x, int root) override {
    std::vector<torch::Tensor> t = {x};
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    pg_->broadcast(t, bo)->wait();
  }
  void barrier() override { pg_->barrier()->wait(); }

 private:
  int rank_, size_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};

}  // namespace

std::unique_ptr<Communicator> make_gloo(const DistOptions& o, const LaunchInfo& l) {
  return std::make_unique<Gloo>(o, l);
}
#else
std::unique_ptr<Communicator> make_gloo(const DistOptions&, const LaunchInfo&) {
  throw Error("this build has no Gloo backend (configure with libgloo-dev installed)");
}
#endif

}  // namespace cma::dist
