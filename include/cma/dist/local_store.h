// The rendezvous of a run whose ranks all run on this host. LibTorch 1.13's c10d::TCPStore listens
// on every interface, unauthenticated; here rank 0 serves c10d's key-value store over a Unix-domain
// socket in a folder only this user can enter (mode 0700), so nothing listens on the network and
// no other user can read or forge the ranks' addresses.
//
// A run that crashed leaves its socket behind. Rank 0 therefore holds a lock (flock) on a file
// next to the socket for as long as it serves: a lock it cannot take means a live job serves the
// same port on this node (an error, as a taken TCP port is); a lock it can take means any socket
// there is stale, and rank 0 replaces it before the other ranks can reach it (they retry a socket
// that refuses them until the timeout). A rank 0 that ends removes both files; a killed one leaves
// them for the next run on that port.
#pragma once
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

#include "cma/core/error.h"

namespace cma::dist {

// The socket of the rendezvous on `port`: <TMPDIR, else /tmp>/cma-<uid>/rdzv-<port>.sock (nothing
// is created here). The port names the job on this node, as a TCP port does, so ranks started
// with the same MASTER_PORT meet. make_local_store creates the folder with mode 0700 if missing,
// and refuses one that another user owns, that group or others may enter, or that is a link: a
// socket there could be someone else's.
std::string local_rendezvous_socket(int port);

// The other side did not come within the timeout: rank 0 names the ranks that did not join, the
// other ranks say that no rank 0 served the socket.
class RendezvousTimeout : public Error {
 public:
  using Error::Error;
};

// Rank 0 serves the store at local_rendezvous_socket(port) and returns once the other ranks have
// joined; the others connect (retrying until rank 0 serves) and join. Each waits at most `timeout`,
// which the store's own waits use too. Errors are cma::Error (RendezvousTimeout for the waits);
// one that says "in use" means another live job on this node serves the same port.
c10::intrusive_ptr<c10d::Store> make_local_store(int port, int rank, int world_size,
                                                 std::chrono::milliseconds timeout);

}  // namespace cma::dist
