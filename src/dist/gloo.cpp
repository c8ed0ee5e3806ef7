// The Gloo backend through c10d: a TCPStore rendezvous on master_addr:master_port, then Gloo
// collectives over TCP. Needs libgloo-dev's headers with Debian's LibTorch.
//
// Gloo reports a lost peer as its own exception ("[gloo/transport/tcp/pair.cc:589] Read error ...
// Connection reset by peer"), which says neither the collective, nor the rank, nor what to do.
// Every call into c10d is therefore wrapped: any exception becomes a cma::Error that names the
// collective, this rank, the peer (or "another rank"), the timeout, and keeps the library's text.
#include <cstdlib>
#include <exception>
#include <string>

#include "cma/core/error.h"
#include "cma/dist/communicator.h"

#ifdef CMA_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace cma::dist {

#ifdef CMA_HAVE_GLOO
namespace {

bool contains_any(const std::string& text, std::initializer_list<const char*> needles) {
  for (const char* n : needles) {
    if (text.find(n) != std::string::npos) return true;
  }
  return false;
}

// The library's own text: c10::Error's what() carries a C++ backtrace, which says nothing to a user.
std::string library_text(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

// The network device each rank's Gloo pairs bind to. On one node, the rendezvous address (loopback
// by default) always works. Across nodes it is wrong for every rank but rank 0, so bind to the
// address this host's name resolves to, as PyTorch does, or to GLOO_SOCKET_IFNAME's interface.
std::shared_ptr<::gloo::transport::Device> make_device(const DistOptions& o, const LaunchInfo& l) {
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (l.multi_node()) return c10d::ProcessGroupGloo::createDefaultDevice();
  return c10d::ProcessGroupGloo::createDeviceForHostname(o.master_addr);
}

class Gloo final : public Communicator {
 public:
  Gloo(const DistOptions& o, const LaunchInfo& l) : rank_(l.rank), size_(l.world_size), timeout_s_(o.timeout_seconds) {
    const std::string where = o.master_addr + ":" + std::to_string(o.master_port);
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.master_port);
    so.isServer = l.rank == 0;
    so.numWorkers = l.world_size;
    so.timeout = std::chrono::seconds(o.timeout_seconds);
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    } catch (const std::exception& e) {
      const std::string what = library_text(e);
      const bool port_taken = rank_ == 0 && contains_any(what, {"in use", "EADDRINUSE"});
      std::string why;
      if (port_taken) {
        why = "the port is taken (another job?): choose a free one with --master_port or MASTER_PORT";
      } else if (rank_ == 0) {
        why = "not all " + std::to_string(size_) + " ranks arrived: are they all started, with the same "
              "MASTER_ADDR:MASTER_PORT, and can they reach this host?";
      } else {
        why = "rank 0 serves it: is rank 0 running, is " + where + " its address (MASTER_ADDR, --master_addr), "
              "and can this host reach it?";
      }
      throw Error("gloo: " + me() + " could not join the rendezvous at " + where +
                  (port_taken ? "" : " within --dist_timeout " + std::to_string(timeout_s_) + " s") + ": " + why +
                  " [" + what + "]");
    }
    try {
      auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(o.timeout_seconds));
      opts->devices.push_back(make_device(o, l));
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, l.rank, l.world_size, opts);
    } catch (const std::exception& e) {
      throw Error("gloo: " + me() + " reached the rendezvous at " + where + " but could not connect to " + peer() +
                  " within --dist_timeout " + std::to_string(timeout_s_) +
                  " s: a rank was not started, or stopped or died while joining, or the ranks cannot reach each "
                  "other's addresses "
                  "(GLOO_SOCKET_IFNAME names the network interface to use) [" + library_text(e) + "]");
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "gloo"; }
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    guarded("all_reduce", [&] { pg_->allreduce(tensors)->wait(); });
  }
  torch::Tensor all_gather(const torch::Tensor& x) override {
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < size_; ++r) out[0].push_back(torch::empty_like(x));
    std::vector<torch::Tensor> in = {x.contiguous()};
    guarded("all_gather", [&] { pg_->allgather(out, in)->wait(); });
    return torch::cat(out[0], 0);
  }
  void broadcast(torch::Tensor& x, int root) override {
    std::vector<torch::Tensor> t = {x};
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    guarded("broadcast", [&] { pg_->broadcast(t, bo)->wait(); });
  }
  void barrier() override {
    guarded("barrier", [&] { pg_->barrier()->wait(); });
  }

 private:
  std::string me() const { return "rank " + std::to_string(rank_) + " of " + std::to_string(size_); }
  // Gloo's messages name a peer's socket address, not its rank; with two ranks the peer is known.
  std::string peer() const { return size_ == 2 ? "rank " + std::to_string(1 - rank_) : "another rank"; }

  template <class F>
  void guarded(const char* collective, F&& run) {
    try {
      run();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(collective, library_text(e));
    }
  }

  [[noreturn]] void fail(const char* collective, const std::string& what) const {
    const std::string timeout = "--dist_timeout " + std::to_string(timeout_s_) + " s";
    std::string cause;
    if (contains_any(what, {"Timed out", "timed out", "Timeout", "timeout"})) {
      cause = peer() + " stalled or stopped: no answer within " + timeout +
              " (raise --dist_timeout if a rank can legitimately fall that far behind the others)";
    } else if (contains_any(what, {"Connection reset", "Connection closed", "closed by peer", "Broken pipe",
                                   "Read error", "Write error", "EOF", "Connection refused"})) {
      cause = peer() + " died or stopped: its connection closed (a rank that stalls longer than " + timeout +
              " fails the same way)";
    } else {
      cause = peer() + " stopped, died or stalled (" + timeout + "), or the ranks disagree about the collective";
    }
    throw Error("gloo: " + std::string(collective) + " failed on " + me() + ": " + cause + "; look in " +
                (size_ == 2 ? peer() + "'s" : "the other ranks'") + " own output for why [" + what + "]");
  }

  int rank_, size_, timeout_s_;
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
