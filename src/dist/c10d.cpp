// The Gloo and NCCL backends through c10d: a rendezvous store, then the library's process group.
// Gloo needs libgloo-dev's headers with Debian's LibTorch. NCCL is compiled in only against a CUDA
// LibTorch (CMA_WITH_CUDA; CMake defines USE_C10D_NCCL, which ProcessGroupNCCL.hpp needs); each
// rank then drives the GPU of its local rank. LibTorch 2.x derives both groups from c10d::Backend,
// 1.13 from c10d::ProcessGroup; the collectives used here have the same signatures in both.
//
// When every rank runs on this host (on_one_node), nothing listens beyond loopback: the store is
// rank 0's Unix socket in a private folder (local_store.h) and Gloo binds to 127.0.0.1. Across
// nodes the store is c10d's TCPStore on master_addr:master_port, which listens on every interface
// of rank 0's host, unauthenticated: the README says to keep that port inside the cluster's network.
//
// Gloo reports a lost peer as its own exception ("[gloo/transport/tcp/pair.cc:589] Read error ...
// Connection reset by peer"), which says neither the collective, nor the rank, nor what to do.
// Every call into c10d is therefore wrapped: any exception becomes a cma::Error that names the
// collective, this rank, the peer (or "another rank"), the timeout, and keeps the library's text.
// NCCL's own failures (a lost peer, a watchdog timeout) are reported the same way.
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#ifdef CMA_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if CMA_WITH_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <exception>
#include <functional>
#include <string>

#include "cma/core/error.h"
#include "cma/dist/communicator.h"
#include "cma/dist/local_store.h"

namespace cma::dist {
namespace {

#if TORCH_VERSION_MAJOR >= 2
using Group = c10d::Backend;
#else
using Group = c10d::ProcessGroup;
#endif

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

#ifdef CMA_HAVE_GLOO
// The network device each rank's Gloo pairs bind (and, while connecting, listen) on.
// GLOO_SOCKET_IFNAME's interface always wins. On one node, loopback, whatever --master_addr names,
// so that no pair listens where the network reaches. Across nodes the rendezvous address is wrong
// for every rank but rank 0, so bind to the address this host's name resolves to, as PyTorch does.
// Where the launcher does not say and the rendezvous address is not loopback, bind to it, as before.
std::shared_ptr<::gloo::transport::Device> make_device(const DistOptions& o, const LaunchInfo& l, bool one_node) {
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (one_node) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  if (l.multi_node()) return c10d::ProcessGroupGloo::createDefaultDevice();
  return c10d::ProcessGroupGloo::createDeviceForHostname(o.master_addr);
}
#endif

// LibTorch 2.x's TCPStore asks for its libuv server by default, and refuses to start where LibTorch
// was built without libuv (Debian's 2.6 is): such a store is made again with the classic server,
// which speaks the same protocol. LibTorch 1.13's options have no such field.
template <typename Options>
auto use_classic_server(Options& so, int) -> decltype(so.useLibUV = false, true) {
  so.useLibUV = false;
  return true;
}
template <typename Options>
bool use_classic_server(Options&, long) {
  return false;
}

// The rendezvous store (the top of this file says which and why). Rank 0's store waits until every
// other rank has joined, so a rank that never comes fails here, within the timeout.
c10::intrusive_ptr<c10d::Store> make_store(const DistOptions& o, const LaunchInfo& l, bool one_node) {
  const auto timeout = std::chrono::seconds(o.timeout_seconds);
  if (one_node) return make_local_store(o.master_port, l.rank, l.world_size, timeout);
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(o.master_port);
  so.isServer = l.rank == 0;
  so.numWorkers = l.world_size;
  so.timeout = timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
  } catch (const c10::Error& e) {
    const std::string text = e.what_without_backtrace();
    if (text.find("libuv") == std::string::npos || !use_classic_server(so, 0)) throw;
    return c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
  }
}

// Where the ranks meet, for messages: the address and port they were given, and on one node the
// socket that stands in for them.
std::string rendezvous_place(const DistOptions& o, bool one_node) {
  const std::string at = o.master_addr + ":" + std::to_string(o.master_port);
  return one_node ? at + " (on this node: the socket " + local_rendezvous_socket(o.master_port) + ")" : at;
}

// Makes the library's process group once every rank has joined `store`; `one_node` as on_one_node.
using MakeGroup = std::function<c10::intrusive_ptr<Group>(const c10::intrusive_ptr<c10d::Store>& store, bool one_node)>;

class C10dGroup final : public Communicator {
 public:
  // `connect_hint`: what to check when the ranks met but the group could not connect.
  C10dGroup(const DistOptions& o, const LaunchInfo& l, std::string name, const MakeGroup& make_group,
            const std::string& connect_hint)
      : name_(std::move(name)), rank_(l.rank), size_(l.world_size), timeout_s_(o.timeout_seconds) {
    const bool one_node = on_one_node(o, l);
    const std::string where = rendezvous_place(o, one_node);
    try {
      store_ = make_store(o, l, one_node);
    } catch (const RendezvousTimeout& e) {
      throw Error(name_ + ": " + me() + " could not join the rendezvous at " + where +
                  join_failure(e.what(), o, one_node, true));
    } catch (const std::exception& e) {
      // TCPStore's errors read as before: a taken port, else the other side did not come. The local
      // store's other errors (its folder, a taken port, another job's rank 0) say what to do themselves.
      throw Error(name_ + ": " + me() + " could not join the rendezvous at " + where +
                  join_failure(library_text(e), o, one_node, !one_node));
    }
    try {
      pg_ = make_group(store_, one_node);
    } catch (const std::exception& e) {
      throw Error(name_ + ": " + me() + " reached the rendezvous at " + where + " but could not connect to " + peer() +
                  " within --dist_timeout " + std::to_string(timeout_s_) +
                  " s: a rank was not started, or stopped or died while joining, or " + connect_hint + " [" +
                  library_text(e) + "]");
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return name_; }
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

  // The end of the message when this rank could not join the rendezvous: why and what to do, then
  // the store's text `what`. `waited`: the store gave up waiting for the other side.
  std::string join_failure(const std::string& what, const DistOptions& o, bool one_node, bool waited) const {
    const std::string tail = " [" + what + "]";
    if (rank_ == 0 && contains_any(what, {"in use", "EADDRINUSE"})) {
      return ": the port is taken (another job?): choose a free one with --master_port or MASTER_PORT" + tail;
    }
    if (!waited) return ": " + what;
    const std::string within = " within --dist_timeout " + std::to_string(timeout_s_) + " s: ";
    if (rank_ == 0) {
      const std::string same = one_node ? "MASTER_PORT and TMPDIR, on this node?"
                                        : "MASTER_ADDR:MASTER_PORT, and can they reach this host?";
      return within + "not all " + std::to_string(size_) + " ranks arrived: are they all started, with the same " +
             same + tail;
    }
    if (one_node) {
      return within + "rank 0 serves it on this node: is rank 0 running, with the same MASTER_PORT and TMPDIR?" + tail;
    }
    return within + "rank 0 serves it: is rank 0 running, is " + o.master_addr + ":" + std::to_string(o.master_port) +
           " its address (MASTER_ADDR, --master_addr), and can this host reach it?" + tail;
  }
  // The libraries' messages name a peer's address, not its rank; with two ranks the peer is known.
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
    throw Error(name_ + ": " + std::string(collective) + " failed on " + me() + ": " + cause + "; look in " +
                (size_ == 2 ? peer() + "'s" : "the other ranks'") + " own output for why [" + what + "]");
  }

  std::string name_;
  int rank_, size_, timeout_s_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Group> pg_;
};

}  // namespace

std::unique_ptr<Communicator> make_gloo(const DistOptions& o, const LaunchInfo& l) {
#ifdef CMA_HAVE_GLOO
  const auto make = [&](const c10::intrusive_ptr<c10d::Store>& store, bool one_node) -> c10::intrusive_ptr<Group> {
    auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(o.timeout_seconds));
    opts->devices.push_back(make_device(o, l, one_node));
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, l.rank, l.world_size, opts);
  };
  return std::make_unique<C10dGroup>(o, l, "gloo", make,
                                     "the ranks cannot reach each other's addresses (GLOO_SOCKET_IFNAME names the "
                                     "network interface to use)");
#else
  (void)o, (void)l;
  throw Error("this build has no Gloo backend (configure with libgloo-dev installed)");
#endif
}

std::unique_ptr<Communicator> make_nccl(const DistOptions& o, const LaunchInfo& l) {
#if CMA_WITH_NCCL
  // Each rank drives the GPU of its local rank (the trainer picks the same one, train/options.h),
  // and NCCL binds its communicator to the current device.
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(l.local_rank));
  const auto make = [&](const c10::intrusive_ptr<c10d::Store>& store, bool) -> c10::intrusive_ptr<Group> {
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds) * 1000);
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, l.rank, l.world_size, opts);
  };
  return std::make_unique<C10dGroup>(o, l, "nccl", make,
                                     "two ranks share one GPU (NCCL refuses that: one rank per GPU), or NCCL "
                                     "cannot reach the other ranks (NCCL_SOCKET_IFNAME, NCCL_DEBUG=INFO)");
#else
  (void)o, (void)l;
  throw Error("--dist_backend nccl is not available in this build (CPU LibTorch, or LibTorch without NCCL); "
              "use gloo");
#endif
}

}  // namespace cma::dist
