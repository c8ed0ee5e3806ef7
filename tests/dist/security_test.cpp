// A run whose ranks all run on one node opens nothing beyond loopback: its rendezvous is rank 0's
// Unix socket in a folder private to this user (no TCP listener at all), and Gloo binds to
// 127.0.0.1. LibTorch 1.13's TCPStore, used before, listened on every interface, unauthenticated.
// The checks read the kernel's own tables (/proc/<pid>/net/tcp, tcp6) for the sockets the rank
// processes hold, so they see whatever any library in the process opened.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cma/core/error.h"
#include "cma/dist/communicator.h"
#include "cma/dist/local_store.h"
#include "launch_env.h"
#include "rank_process.h"
#include "test_tmp.h"
#include "two_ranks.h"

namespace cma::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- the sockets a process holds, from the kernel's tables -----------------------------------------

struct TcpSocket {
  std::string address;  // local address and port, as text
  bool listening = false;
  bool loopback = false;  // 127.0.0.0/8, ::1, or ::ffff:127.x.y.z
  bool ipv6 = false;      // from the tcp6 table
};

// A table's "local_address" field, e.g. "0100007F:1F90": the address as the kernel stores it, in
// 32-bit words printed in this host's byte order, then the port.
TcpSocket decode_local_address(const std::string& field) {
  TcpSocket s;
  const auto colon = field.find(':');
  const std::string hex = field.substr(0, colon);
  const std::string port = std::to_string(std::stoul(field.substr(colon + 1), nullptr, 16));
  char text[INET6_ADDRSTRLEN] = {};
  if (hex.size() == 8) {
    in_addr a{};
    const uint32_t word = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    std::memcpy(&a, &word, 4);
    ::inet_ntop(AF_INET, &a, text, sizeof text);
    s.loopback = reinterpret_cast<const uint8_t*>(&a)[0] == 127;
    s.address = std::string(text) + ":" + port;
  } else {
    in6_addr a{};
    for (int i = 0; i < 4; ++i) {
      const uint32_t word = static_cast<uint32_t>(std::stoul(hex.substr(8 * i, 8), nullptr, 16));
      std::memcpy(&a.s6_addr[4 * i], &word, 4);
    }
    ::inet_ntop(AF_INET6, &a, text, sizeof text);
    s.loopback = IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
    s.address = "[" + std::string(text) + "]:" + port;
    s.ipv6 = true;
  }
  return s;
}

// The inodes of the sockets among `pid`'s open files; nullopt when the process is gone.
std::optional<std::set<std::string>> socket_inodes(pid_t pid) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return std::nullopt;
  std::set<std::string> inodes;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code link_ec;
    const std::string target = fs::read_symlink(it->path(), link_ec).string();
    if (!link_ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// The TCP sockets (IPv4 and IPv6) that process `pid` holds; nullopt when it is gone.
std::optional<std::vector<TcpSocket>> tcp_sockets_of(pid_t pid) {
  const auto inodes = socket_inodes(pid);
  if (!inodes) return std::nullopt;
  std::vector<TcpSocket> found;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string x; fields >> x;) f.push_back(x);
      if (f.size() < 10 || !inodes->count(f[9])) continue;
      TcpSocket s = decode_local_address(f[1]);
      s.listening = f[3] == "0A";  // TCP_LISTEN
      found.push_back(s);
    }
  }
  return found;
}

// Whether a socket's address text ends with `port`.
bool has_port(const TcpSocket& s, int port) {
  const std::string suffix = ":" + std::to_string(port);
  return s.address.size() > suffix.size() &&
         s.address.compare(s.address.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A listening TCP socket of this process on `family`'s wildcard or loopback address (port 0: any).
class Listener {
 public:
  Listener(int family, bool loopback) : fd_(::socket(family, SOCK_STREAM, 0)), ipv6_(family == AF_INET6) {
    if (fd_ < 0) return;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(loopback ? INADDR_LOOPBACK : INADDR_ANY);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = loopback ? in6addr_loopback : in6addr_any;
      len = sizeof *a;
    }
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0 && ::listen(fd_, 1) == 0 &&
          ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0;
    if (ok_) port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  // How the scan of this process saw it: "listening loopback", "listening beyond loopback", or "not found".
  std::string as_scanned(const std::vector<TcpSocket>& sockets) const {
    for (const auto& s : sockets) {
      if (s.ipv6 == ipv6_ && has_port(s, port_)) {
        return std::string(s.listening ? "listening" : "not listening") +
               (s.loopback ? " loopback" : " beyond loopback");
      }
    }
    return "not found";
  }

 private:
  int fd_;
  bool ipv6_;
  bool ok_ = false;
  int port_ = 0;
};

// An IPv4 address of this host's that is not loopback, where it has one.
std::optional<std::string> host_address() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (const ifaddrs* i = list; i && !found; i = i->ifa_next) {
    const bool up = (i->ifa_flags & IFF_UP) && !(i->ifa_flags & IFF_LOOPBACK);
    if (!up || !i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    found = text;
  }
  ::freeifaddrs(list);
  return found;
}

// The checker itself must see a process's listening sockets and tell a wildcard from loopback,
// or a run that opens nothing it can see would pass.
TEST(DistSecurity, ListenerScanTellsWildcardFromLoopback) {
  if (!std::filesystem::exists("/proc/self/net/tcp")) GTEST_SKIP() << "no /proc/<pid>/net/tcp (not Linux?)";
  const Listener v4_any(AF_INET, false), v4_lo(AF_INET, true), v6_any(AF_INET6, false), v6_lo(AF_INET6, true);
  ASSERT_TRUE(v4_any.ok() && v4_lo.ok());
  const auto mine = tcp_sockets_of(::getpid());
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(v4_any.as_scanned(*mine), "listening beyond loopback");
  EXPECT_EQ(v4_lo.as_scanned(*mine), "listening loopback");
  if (v6_any.ok()) {  // where this host has IPv6
    EXPECT_EQ(v6_any.as_scanned(*mine), "listening beyond loopback");
  }
  if (v6_lo.ok()) {
    EXPECT_EQ(v6_lo.as_scanned(*mine), "listening loopback");
  }
}

#if CMA_HAVE_SYNTHETIC_FRAMES
// Two ranks train as torchrun starts them on one node; while they run, every TCP socket either
// holds is read from the kernel's tables, and none that listens may be bound beyond loopback.
// MASTER_ADDR names this host's network address where it has one: Gloo must stay on loopback even
// so (and the rendezvous is a Unix socket, in no TCP table).
TEST(DistSecurity, OneNodeRunListensOnLoopbackOnly) {
  if (!std::filesystem::exists("/proc/self/net/tcp")) GTEST_SKIP() << "no /proc/<pid>/net/tcp (not Linux?)";
  const auto tree = make_tiny_tree("loopback_only");
  const TempDir tmpdir("loopback_only_tmp");  // the ranks' TMPDIR, where their rendezvous folder goes
  const std::string out = tree / "run";
  const std::string master_addr = host_address().value_or("127.0.0.1");
  const std::string args = "TMPDIR=" + tmpdir.path() + " MASTER_ADDR=" + master_addr + " " +
                           tiny_train_args(tree, out, "--epochs 50 --log-every 1 --dist_timeout 60");
  const int port = free_port();
  const std::string logs[2] = {out + ".rank0.log", out + ".rank1.log"};
  RankProcess ranks[2] = {RankProcess(torchrun_rank(0, port, args, logs[0])),
                          RankProcess(torchrun_rank(1, port, args, logs[1]))};
  ASSERT_TRUE(ranks[0].started() && ranks[1].started());

  // From their start until a second after the first logged step: the rendezvous, Gloo's
  // connections, and training. Listeners that outlive the start (a TCP store's) are seen many times.
  int scans[2] = {0, 0}, tcp_seen[2] = {0, 0};
  std::set<std::string> beyond_loopback, all_listeners;
  std::optional<Clock::time_point> first_step;
  const auto deadline = Clock::now() + 180s;
  for (;;) {
    for (int r = 0; r < 2; ++r) {
      const auto sockets = tcp_sockets_of(ranks[r].pid());
      if (!sockets) continue;
      ++scans[r];
      tcp_seen[r] += static_cast<int>(sockets->size());
      for (const auto& s : *sockets) {
        if (!s.listening) continue;
        const std::string which = "rank " + std::to_string(r) + " listens on " + s.address;
        all_listeners.insert(which);
        if (!s.loopback) beyond_loopback.insert(which);
      }
    }
    if (ranks[0].wait_for(0ms) || ranks[1].wait_for(0ms)) {
      ADD_FAILURE() << "a rank ended while it should train\nrank 0:\n"
                    << slurp(logs[0]) << "\nrank 1:\n"
                    << slurp(logs[1]);
      break;
    }
    if (!first_step && !train_losses(out + "/metrics.jsonl").empty()) first_step = Clock::now();
    if (first_step && Clock::now() - *first_step > 1s) break;
    if (Clock::now() > deadline) {
      ADD_FAILURE() << "no step was logged\nrank 0:\n" << slurp(logs[0]) << "\nrank 1:\n" << slurp(logs[1]);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }

  std::string listeners;
  for (const auto& l : all_listeners) listeners += "  " + l + "\n";
  std::cout << "MASTER_ADDR=" << master_addr << "; scans of rank 0, 1: " << scans[0] << ", " << scans[1]
            << "; TCP sockets found, summed over the scans: " << tcp_seen[0] << ", " << tcp_seen[1] << "; listening:\n"
            << (listeners.empty() ? "  none seen\n" : listeners);
  for (int r = 0; r < 2; ++r) {
    EXPECT_GT(scans[r], 0) << "rank " << r << "'s open files were never read";
    // Each rank's Gloo connections are TCP sockets: seeing them shows the scan finds the ranks' sockets.
    EXPECT_GT(tcp_seen[r], 0) << "no TCP socket of rank " << r << " was found in /proc/" << ranks[r].pid() << "/net";
  }
  std::string bad;
  for (const auto& b : beyond_loopback) bad += "  " + b + "\n";
  EXPECT_TRUE(beyond_loopback.empty()) << "a one-node run listens beyond loopback:\n" << bad;
}
#else
TEST(DistSecurity, NeedsAFrameEncoder) {
  GTEST_SKIP() << "built without OpenCV and TurboJPEG (CMA_HAVE_SYNTHETIC_FRAMES): no synthetic frames to train on";
}
#endif

// ---- the rendezvous on one node, with ranks as threads of this process ---------------------------

// Sets TMPDIR for the life of the guard (the rendezvous folder goes there), with EnvGuard's
// launcher variables cleared.
class TmpdirGuard {
 public:
  explicit TmpdirGuard(const std::string& dir) {
    const char* v = std::getenv("TMPDIR");
    if (v) saved_ = v;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~TmpdirGuard() {
    if (saved_) {
      ::setenv("TMPDIR", saved_->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
  }

 private:
  EnvGuard launcher_;
  std::optional<std::string> saved_;
};

dist::DistOptions gloo_on(int port, int timeout_s) {
  dist::DistOptions o;
  o.backend = "gloo";
  o.master_port = port;
  o.timeout_seconds = timeout_s;
  return o;
}

// Rank `rank` of `world`, all on this node, as torchrun says with LOCAL_WORLD_SIZE.
dist::LaunchInfo one_node(int rank, int world) {
  dist::LaunchInfo l(rank, world, rank);
  l.local_world_size = world;
  return l;
}

// `world` Gloo ranks on `port` as threads; rank 0 starts `rank0_delay` after the others.
std::vector<std::unique_ptr<dist::Communicator>> one_node_ranks(int world, int port,
                                                                std::chrono::milliseconds rank0_delay = 0ms) {
  std::vector<std::unique_ptr<dist::Communicator>> comms(world);
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      if (r == 0) std::this_thread::sleep_for(rank0_delay);
      errors[r] = error_of([&] { comms[r] = dist::make_communicator(gloo_on(port, 30), one_node(r, world), false); });
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  return comms;
}

// Every rank's all_reduce of a one: the world size where the ranks are connected.
std::vector<float> sum_of_ones(std::vector<std::unique_ptr<dist::Communicator>>& comms) {
  std::vector<float> sums(comms.size(), -1.0f);
  std::vector<std::thread> threads;
  for (size_t r = 0; r < comms.size(); ++r) {
    threads.emplace_back([&, r] {
      std::vector<torch::Tensor> t = {torch::ones({1})};
      comms[r]->all_reduce_sum(t);
      sums[r] = t[0].item<float>();
    });
  }
  for (auto& t : threads) t.join();
  return sums;
}

std::string mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return text;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

TEST(DistSecurity, OneNodeIsRecognised) {
  dist::DistOptions o;  // 127.0.0.1
  dist::LaunchInfo l(0, 2, 0);
  EXPECT_TRUE(dist::on_one_node(o, l)) << "a loopback rendezvous cannot be reached from another host";
  o.master_addr = "10.1.2.3";
  EXPECT_FALSE(dist::on_one_node(o, l)) << "started by hand with a network address: the ranks may span hosts";
  l.local_world_size = 2;
  EXPECT_TRUE(dist::on_one_node(o, l)) << "the launcher says both ranks run here";
  l.local_world_size = 1;
  EXPECT_FALSE(dist::on_one_node(o, l));
  l.local_world_size = 0;
  l.nodes = 1;
  EXPECT_TRUE(dist::on_one_node(o, l));
  l.nodes = 2;
  EXPECT_FALSE(dist::on_one_node(o, l));
}

// The socket lies in a folder of this user's with mode 0700 while the ranks run, and goes with them.
TEST(DistSecurity, RendezvousSocketIsPrivate) {
  const TempDir tmp("rdzv_private");
  const TmpdirGuard guard(tmp.path());
  const int port = free_port();
  const std::string socket = dist::local_rendezvous_socket(port);
  const std::string folder = socket.substr(0, socket.rfind('/'));
  EXPECT_EQ(folder, tmp / ("cma-" + std::to_string(::geteuid())));
  auto comms = one_node_ranks(2, port);
  ASSERT_TRUE(comms[0] && comms[1]);
  EXPECT_EQ(mode_of(folder), "0700");
  struct stat st {};
  ASSERT_EQ(::lstat(folder.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_TRUE(is_socket(socket)) << socket;
  EXPECT_EQ(sum_of_ones(comms), std::vector<float>({2.0f, 2.0f}));
  comms.clear();
  EXPECT_FALSE(std::filesystem::exists(socket)) << "rank 0 leaves its socket behind";
}

// A run killed on the same port left its socket and lock: the next run replaces them, even when
// its other ranks come first and meet the dead socket.
TEST(DistSecurity, StaleSocketOfACrashedRunIsReplaced) {
  const TempDir tmp("rdzv_stale");
  const TmpdirGuard guard(tmp.path());
  const int port = free_port();
  const std::string socket = dist::local_rendezvous_socket(port);
  const std::string folder = socket.substr(0, socket.rfind('/'));
  ASSERT_EQ(::mkdir(folder.c_str(), 0700), 0);
  {  // a socket whose server is gone, as SIGKILL leaves it
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ::close(fd);
  }
  std::ofstream(folder + "/rdzv-" + std::to_string(port) + ".lock").put('x');
  ASSERT_TRUE(is_socket(socket));
  auto comms = one_node_ranks(2, port, 500ms);
  ASSERT_TRUE(comms[0] && comms[1]);
  EXPECT_EQ(sum_of_ones(comms), std::vector<float>({2.0f, 2.0f}));
}

// A live job on the same port on this node makes rank 0 fail at once, as a taken TCP port does;
// once that job ends, the port is free again.
TEST(DistSecurity, PortOfALiveJobIsTaken) {
  const TempDir tmp("rdzv_taken");
  const TmpdirGuard guard(tmp.path());
  const int port = free_port();
  auto live = dist::make_local_store(port, 0, 1, 5s);  // a one-rank job: serves without waiting
  const auto t0 = Clock::now();
  const std::string msg = error_of([&] { dist::make_communicator(gloo_on(port, 20), one_node(0, 2), false); });
  EXPECT_LT(Clock::now() - t0, 10s) << "a taken port must not wait for the timeout";
  EXPECT_NE(msg.find("rank 0 of 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the port is taken"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--master_port or MASTER_PORT"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dist::local_rendezvous_socket(port)), std::string::npos) << msg;
  live.reset();
  EXPECT_NO_THROW(dist::make_local_store(port, 0, 1, 5s));
}

// A rendezvous folder that others may enter, or that someone else owns, is refused: its socket
// could be theirs.
TEST(DistSecurity, FolderOthersCanEnterIsRefused) {
  const TempDir tmp("rdzv_shared");
  const TmpdirGuard guard(tmp.path());
  const int port = free_port();
  const std::string socket = dist::local_rendezvous_socket(port);
  const std::string folder = socket.substr(0, socket.rfind('/'));
  ASSERT_EQ(::mkdir(folder.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(folder.c_str(), 0755), 0);
  const auto t0 = Clock::now();
  const std::string msg = error_of([&] { dist::make_communicator(gloo_on(port, 20), one_node(1, 2), false); });
  EXPECT_LT(Clock::now() - t0, 10s) << "a refused folder must not wait for the timeout";
  EXPECT_NE(msg.find("rank 1 of 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find(folder + " is not a folder private to this user"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mode 0755"), std::string::npos) << msg;
  EXPECT_NE(msg.find("TMPDIR"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("within --dist_timeout"), std::string::npos) << msg;
}

// Ranks started by hand with a network address may span hosts: they keep c10d's TCPStore on that
// port, which LibTorch 1.13 serves on every interface (what the README warns about).
TEST(DistSecurity, RunThatMaySpanHostsKeepsTheTcpRendezvous) {
  const auto address = host_address();
  if (!address) GTEST_SKIP() << "this host has no network address besides loopback";
  if (!std::filesystem::exists("/proc/self/net/tcp")) GTEST_SKIP() << "no /proc/<pid>/net/tcp (not Linux?)";
  const EnvGuard env;
  const int port = free_port();
  std::vector<std::unique_ptr<dist::Communicator>> comms(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      dist::DistOptions o = gloo_on(port, 30);
      o.master_addr = *address;
      errors[r] = error_of([&] { comms[r] = dist::make_communicator(o, dist::LaunchInfo(r, 2, r), false); });
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  std::string store;
  for (const auto& s : tcp_sockets_of(::getpid()).value_or(std::vector<TcpSocket>{})) {
    if (s.listening && has_port(s, port)) store = s.address;
  }
  EXPECT_NE(store, "") << "no TCP rendezvous listens on port " << port;
  std::cout << "the TCP rendezvous listens on " << store << "\n";
  EXPECT_EQ(sum_of_ones(comms), std::vector<float>({2.0f, 2.0f}));
}

// The store answers as c10d's TCPStore does, its waits honour their timeout, and a rank waiting
// on it learns at once that rank 0 is gone.
TEST(DistSecurity, LocalStoreKeysWaitsAndLostRankZero) {
  const TempDir tmp("rdzv_store");
  const TmpdirGuard guard(tmp.path());
  const int port = free_port();
  auto serving = std::async(std::launch::async, [&] { return dist::make_local_store(port, 0, 2, 20s); });
  auto rank1 = dist::make_local_store(port, 1, 2, 20s);
  auto rank0 = serving.get();
  const auto bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };

  rank1->set("a", bytes("one"));
  EXPECT_EQ(rank0->get("a"), bytes("one"));
  EXPECT_EQ(rank1->add("n", 3), 3);
  EXPECT_EQ(rank0->add("n", -1), 2);
  EXPECT_EQ(rank1->get("n"), bytes("2"));
  EXPECT_EQ(rank1->compareSet("a", bytes("one"), bytes("two")), bytes("two"));
  EXPECT_EQ(rank1->compareSet("a", bytes("one"), bytes("three")), bytes("two"));
  EXPECT_TRUE(rank1->check({"a", "n"}));
  EXPECT_FALSE(rank1->check({"a", "missing"}));
  EXPECT_EQ(rank1->getNumKeys(), 2);
  EXPECT_TRUE(rank1->deleteKey("n"));
  EXPECT_FALSE(rank0->deleteKey("n"));

  auto late = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(100ms);
    rank0->set("late", bytes("here"));
  });
  EXPECT_EQ(rank1->get("late"), bytes("here"));  // get waits for the key, as TCPStore's does
  late.get();

  auto t0 = Clock::now();
  const std::string timed_out = error_of([&] { rank1->wait({"never"}, 300ms); });
  EXPECT_NE(timed_out.find("Timed out"), std::string::npos) << timed_out;
  EXPECT_LT(Clock::now() - t0, 5s);

  auto waiting = std::async(std::launch::async, [&] { return error_of([&] { rank1->wait({"never"}, 60s); }); });
  std::this_thread::sleep_for(200ms);
  t0 = Clock::now();
  rank0.reset();  // rank 0 ends: its socket closes
  const std::string lost = waiting.get();
  EXPECT_NE(lost.find("rank 0 closed the rendezvous connection"), std::string::npos) << lost;
  EXPECT_LT(Clock::now() - t0, 10s) << "a rank must not wait out its timeout for a rank 0 that is gone";
}

}  // namespace
}  // namespace cma::testing
