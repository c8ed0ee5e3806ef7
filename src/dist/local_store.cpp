// c10d's key-value store served by rank 0 over a Unix-domain socket (local_store.h says why).
//
// The protocol is one request and one answer at a time on each connection: an operation letter,
// a count of byte strings, then each string as its length and its bytes (both ends run on this
// host, so lengths go in its own byte order). Waiting for keys is the client's loop of "check"
// requests: the server never blocks on a key, so one thread serves every rank.
#include "cma/dist/local_store.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace cma::dist {
namespace {

using Clock = std::chrono::steady_clock;
using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

constexpr uint32_t kMaxStrings = 1u << 16;  // a request or answer larger than these is garbage:
constexpr uint32_t kMaxBytes = 1u << 26;    // the connection is dropped
constexpr auto kServerPoll = 50ms;          // how soon the serving thread notices it must stop
constexpr auto kServerIo = 10s;             // a rank stalled halfway through a request is dropped
constexpr auto kConnectRetry = 20ms;        // a rank retries rank 0's socket this often
constexpr auto kLongestPause = 20ms;        // between checks for the keys a rank waits for

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string seconds_text(std::chrono::milliseconds t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t).count()) + " s";
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// ---- the wire ------------------------------------------------------------------------------------

struct Message {
  char op = 0;
  Strings parts;
};

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

std::string encode(char op, const Strings& parts) {
  std::string out(1, op);
  put_u32(out, static_cast<uint32_t>(parts.size()));
  for (const auto& p : parts) {
    put_u32(out, static_cast<uint32_t>(p.size()));
    out += p;
  }
  return out;
}

// False when the peer is gone or, past SO_SNDTIMEO, stalled.
bool send_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// False with errno ECONNRESET when the peer closed, EAGAIN when SO_RCVTIMEO passed.
bool recv_all(int fd, void* buf, size_t size) {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    const ssize_t n = ::recv(fd, p, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ECONNRESET;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// nullopt as recv_all says why, or with errno EPROTO for a message that cannot be one.
std::optional<Message> receive(int fd) {
  Message m;
  uint32_t count = 0;
  if (!recv_all(fd, &m.op, 1) || !recv_all(fd, &count, sizeof count)) return std::nullopt;
  if (count > kMaxStrings) {
    errno = EPROTO;
    return std::nullopt;
  }
  m.parts.resize(count);
  for (auto& part : m.parts) {
    uint32_t size = 0;
    if (!recv_all(fd, &size, sizeof size)) return std::nullopt;
    if (size > kMaxBytes) {
      errno = EPROTO;
      return std::nullopt;
    }
    part.resize(size);
    if (size > 0 && !recv_all(fd, part.data(), size)) return std::nullopt;
  }
  return m;
}

void set_io_timeout(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  require(path.size() < sizeof addr.sun_path,
          "the rendezvous socket " + path + " is longer than " + std::to_string(sizeof addr.sun_path - 1) +
              " bytes, the most a Unix socket's path may have: set TMPDIR to a shorter folder");
  path.copy(addr.sun_path, path.size());
  return addr;
}

// ---- the keys --------------------------------------------------------------------------------------

struct Answer {
  char op;  // 'k': done, with these strings; 'e': refused, with a message
  Strings parts;
};

// The keys and the ranks that joined, shared by the serving thread and rank 0's own calls. The
// operations mean what c10d::TCPStore's do (integers of add() are kept as decimal text).
class Table {
 public:
  explicit Table(int world_size) : world_size_(world_size) {}

  Answer apply(char op, const Strings& args) {
    try {
      std::lock_guard<std::mutex> lock(mu_);
      return apply_locked(op, args);
    } catch (const std::exception& e) {
      return {'e', {std::string("the rendezvous store could not run a request: ") + e.what()}};
    }
  }

  // Waits until every other rank joined or `deadline` passes; the ranks still missing.
  std::vector<int> wait_for_ranks(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    joined_cv_.wait_until(lock, deadline, [&] { return static_cast<int>(joined_.size()) >= world_size_ - 1; });
    std::vector<int> missing;
    for (int r = 1; r < world_size_; ++r) {
      if (!joined_.count(r)) missing.push_back(r);
    }
    return missing;
  }

 private:
  static void arity(const Strings& args, size_t n) {
    if (args.size() != n) throw std::invalid_argument("malformed request");
  }
  static int64_t integer(const std::string& text) {
    size_t used = 0;
    const int64_t v = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument("'" + text + "' is not an integer");
    return v;
  }

  Answer apply_locked(char op, const Strings& args) {
    switch (op) {
      case 'J': {  // join: rank, world size
        arity(args, 2);
        const int64_t rank = integer(args[0]), world = integer(args[1]);
        if (world != world_size_) {
          return {'e', {"rank 0 serving this port on this node runs " + std::to_string(world_size_) +
                        " ranks, not " + std::to_string(world) +
                        ": another job uses the same port? choose a free one with --master_port or MASTER_PORT"}};
        }
        if (rank < 1 || rank >= world_size_ || !joined_.insert(static_cast<int>(rank)).second) {
          return {'e', {"rank " + std::to_string(rank) + " already joined the rendezvous on this port on this node: "
                        "another job uses the same port? choose a free one with --master_port or MASTER_PORT"}};
        }
        joined_cv_.notify_all();
        return {'k', {}};
      }
      case 'S':  // set: key, value
        arity(args, 2);
        data_[args[0]] = args[1];
        return {'k', {}};
      case 'G': {  // get: key -> the value, or nothing when missing
        arity(args, 1);
        const auto it = data_.find(args[0]);
        return it == data_.end() ? Answer{'k', {}} : Answer{'k', {it->second}};
      }
      case 'A': {  // add: key, delta -> the new value
        arity(args, 2);
        const auto it = data_.find(args[0]);
        const int64_t sum = (it == data_.end() ? 0 : integer(it->second)) + integer(args[1]);
        data_[args[0]] = std::to_string(sum);
        return {'k', {std::to_string(sum)}};
      }
      case 'C': {  // compare and set: key, expected, desired -> the value now (as TCPStore answers)
        arity(args, 3);
        const auto it = data_.find(args[0]);
        if (it == data_.end()) {
          if (!args[1].empty()) return {'k', {args[1]}};
          data_[args[0]] = args[2];
          return {'k', {args[2]}};
        }
        if (it->second == args[1]) it->second = args[2];
        return {'k', {it->second}};
      }
      case 'D':  // delete: key -> "1" if it was there
        arity(args, 1);
        return {'k', {data_.erase(args[0]) ? "1" : "0"}};
      case 'K':  // check: keys -> "1" if all are there
        return {'k', {std::all_of(args.begin(), args.end(), [&](const auto& k) { return data_.count(k) > 0; }) ? "1"
                                                                                                               : "0"}};
      case 'N':  // the number of keys
        arity(args, 0);
        return {'k', {std::to_string(data_.size())}};
      default:
        return {'e', {std::string("unknown request '") + op + "'"}};
    }
  }

  std::mutex mu_;
  std::condition_variable joined_cv_;
  std::map<std::string, std::string> data_;
  std::set<int> joined_;
  const int world_size_;
};

// ---- rank 0: the server --------------------------------------------------------------------------

// Creates this user's rendezvous folder, or checks the one there is private to this user.
void ensure_private_folder(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    ::chmod(dir.c_str(), 0700);  // the umask may have taken this user's own access away
  } else if (errno != EEXIST) {
    throw Error("cannot create the rendezvous folder " + dir + ": " + errno_text(errno) +
                " (TMPDIR names the folder it goes in)");
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    throw Error("cannot inspect the rendezvous folder " + dir + ": " + errno_text(errno));
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw Error(dir + " is not a folder private to this user (" +
                (S_ISDIR(st.st_mode) ? std::string("a folder") : std::string("not a folder")) + " of uid " +
                std::to_string(st.st_uid) + ", mode " + mode + "; this user is uid " + std::to_string(::geteuid()) +
                "), so a rendezvous socket there could be someone else's: remove it, or set TMPDIR to another folder");
  }
}

std::string folder_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// Holds the lock that says a live job serves the socket, the listening socket, and the thread that
// answers every connected rank.
class Server {
 public:
  Server(const std::string& socket_path, Table& table)
      : path_(socket_path), lock_path_(path_.substr(0, path_.size() - 5) + ".lock"), table_(table) {
    const sockaddr_un addr = unix_address(path_);
    take_lock();
    // The lock is ours, so a socket there was left by a run that ended: replace it.
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      throw Error("cannot remove the stale rendezvous socket " + path_ + ": " + errno_text(errno));
    }
    listen_ = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listen_ || ::bind(listen_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_.get(), SOMAXCONN) != 0) {
      const int err = errno;
      ::unlink(path_.c_str());
      throw Error("cannot serve the rendezvous socket " + path_ + ": " + errno_text(err));
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
    // Both while the lock is still held (closing lock_ releases it): take_lock says why that is safe.
    ::unlink(path_.c_str());
    ::unlink(lock_path_.c_str());
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  // Locks rdzv-<port>.lock, or fails saying the port is in use. A job that ends removes its lock
  // file while holding the lock, so a lock taken on a file that is no longer the one at the path
  // proves nothing: take the new one instead.
  void take_lock() {
    for (;;) {
      lock_ = Fd(::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!lock_) throw Error("cannot open the rendezvous lock " + lock_path_ + ": " + errno_text(errno));
      if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
          throw Error("the port is in use on this node: a live job serves its rendezvous (it holds the lock " +
                      lock_path_ + ")");
        }
        throw Error("cannot lock the rendezvous lock " + lock_path_ + ": " + errno_text(errno));
      }
      struct stat held {}, now {};
      if (::fstat(lock_.get(), &held) == 0 && ::stat(lock_path_.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
          held.st_ino == now.st_ino) {
        return;
      }
    }
  }

  void serve() {
    std::vector<Fd> ranks;
    while (!stop_) {
      std::vector<pollfd> fds = {{listen_.get(), POLLIN, 0}};
      for (const auto& r : ranks) fds.push_back({r.get(), POLLIN, 0});
      const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(kServerPoll.count()));
      if (ready < 0 && errno != EINTR) std::this_thread::sleep_for(kServerPoll);
      if (ready <= 0) continue;
      for (size_t i = fds.size() - 1; i >= 1; --i) {  // from the back, so erasing keeps the indices
        if (fds[i].revents != 0 && !answer(ranks[i - 1].get())) ranks.erase(ranks.begin() + static_cast<long>(i - 1));
      }
      if (fds[0].revents & POLLIN) {
        Fd rank(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (rank) {
          set_io_timeout(rank.get(), kServerIo);
          ranks.push_back(std::move(rank));
        }
      }
    }
  }

  // One request on a connection; false when the rank closed it or sent garbage.
  bool answer(int fd) {
    const auto request = receive(fd);
    if (!request) return false;
    const Answer a = table_.apply(request->op, request->parts);
    return send_all(fd, encode(a.op, a.parts));
  }

  const std::string path_, lock_path_;  // rdzv-<port>.sock, rdzv-<port>.lock
  Table& table_;
  Fd lock_, listen_;  // in this order: the socket closes before the lock is released
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- the other ranks: a connection to rank 0 --------------------------------------------------

class Connection {
 public:
  Connection(const std::string& path, int rank, int world_size, std::chrono::milliseconds timeout)
      : timeout_(timeout) {
    const sockaddr_un addr = unix_address(path);
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!fd) throw Error("cannot create a Unix socket: " + errno_text(errno));
      if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        fd_ = std::move(fd);
        break;
      }
      const int err = errno;
      // Not there yet, or left by a run that ended and not yet replaced by rank 0: try again.
      if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN && err != EINTR) {
        throw Error("cannot connect to the rendezvous socket " + path + ": " + errno_text(err));
      }
      if (Clock::now() >= deadline) {
        throw RendezvousTimeout("no rank 0 served the socket " + path + " within " + seconds_text(timeout) +
                                " (the last try: " + errno_text(err) + ")");
      }
      std::this_thread::sleep_for(kConnectRetry);
    }
    set_io_timeout(fd_.get(), timeout);
    call('J', {std::to_string(rank), std::to_string(world_size)});
  }

  Strings call(char op, const Strings& args) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fd_) throw Error("the connection to rank 0's rendezvous store was lost before");
    std::optional<Message> answer;
    if (send_all(fd_.get(), encode(op, args))) answer = receive(fd_.get());
    if (!answer) {
      const int err = errno;
      fd_.reset();  // an answer may still come: the connection is out of step for good
      throw Error(err == EAGAIN || err == EWOULDBLOCK
                      ? "rank 0 did not answer the rendezvous store within " + seconds_text(timeout_) +
                            " (is it stopped?)"
                      : "rank 0 closed the rendezvous connection (did it stop or die?): " + errno_text(err));
    }
    if (answer->op == 'e') throw Error(answer->parts.empty() ? "rank 0 refused a request" : answer->parts[0]);
    return answer->parts;
  }

 private:
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  Fd fd_;
};

// ---- the c10d::Store ----------------------------------------------------------------------------

std::string text_of(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }
std::vector<uint8_t> bytes_of(const std::string& text) { return std::vector<uint8_t>(text.begin(), text.end()); }

class LocalStore final : public c10d::Store {
 public:
  LocalStore(const std::string& path, int rank, int world_size, std::chrono::milliseconds timeout)
      : Store(timeout) {
    if (rank != 0) {
      connection_ = std::make_shared<Connection>(path, rank, world_size, timeout);
      return;
    }
    table_ = std::make_shared<Table>(world_size);
    server_ = std::make_shared<Server>(path, *table_);
    const auto missing = table_->wait_for_ranks(Clock::now() + timeout);
    if (!missing.empty()) {
      std::string ranks;
      for (int r : missing) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
      throw RendezvousTimeout(std::string(missing.size() == 1 ? "rank " : "ranks ") + ranks + " did not join at " +
                              path + " within " + seconds_text(timeout));
    }
  }

  void set(const std::string& key, const std::vector<uint8_t>& value) override { call('S', {key, text_of(value)}); }
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& expected,
                                  const std::vector<uint8_t>& desired) override {
    return bytes_of(call('C', {key, text_of(expected), text_of(desired)}).at(0));
  }
  // As TCPStore's: waits for the key first.
  std::vector<uint8_t> get(const std::string& key) override {
    wait({key});
    const Strings value = call('G', {key});
    if (value.empty()) throw Error("the rendezvous key '" + key + "' was deleted while it was read");
    return bytes_of(value[0]);
  }
  int64_t add(const std::string& key, int64_t value) override {
    return std::stoll(call('A', {key, std::to_string(value)}).at(0));
  }
  // LibTorch 2.x's Store also asks for clone(): another handle on the same store, which
  // ProcessGroupNCCL's watchdog uses from its own thread. Connection and Table lock themselves, so
  // handles share them. (1.13 has no such virtual; there it is unused.)
  c10::intrusive_ptr<c10d::Store> clone() { return c10::make_intrusive<LocalStore>(*this); }
  bool deleteKey(const std::string& key) override { return call('D', {key}).at(0) == "1"; }
  bool check(const std::vector<std::string>& keys) override { return call('K', keys).at(0) == "1"; }
  int64_t getNumKeys() override { return std::stoll(call('N', {}).at(0)); }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    const auto deadline = Clock::now() + timeout;
    auto pause = 1ms;
    while (!check(keys)) {
      if (timeout != kNoTimeout && Clock::now() >= deadline) {
        std::string names;
        for (const auto& k : keys) names += (names.empty() ? "'" : ", '") + k + "'";
        throw Error("Timed out after " + seconds_text(timeout) + " waiting for the rendezvous keys " + names);
      }
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::milliseconds>(pause * 2, kLongestPause);
    }
  }

 private:
  Strings call(char op, const Strings& args) {
    if (connection_) return connection_->call(op, args);
    Answer a = table_->apply(op, args);
    if (a.op == 'e') throw Error(a.parts.at(0));
    return std::move(a.parts);
  }

  std::shared_ptr<Connection> connection_;  // the other ranks
  std::shared_ptr<Table> table_;            // rank 0: the keys, then the server that shares them
  std::shared_ptr<Server> server_;
};

}  // namespace

std::string local_rendezvous_socket(int port) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/cma-" + std::to_string(::geteuid()) + "/rdzv-" + std::to_string(port) + ".sock";
}

c10::intrusive_ptr<c10d::Store> make_local_store(int port, int rank, int world_size,
                                                 std::chrono::milliseconds timeout) {
  const std::string path = local_rendezvous_socket(port);
  // Every rank checks the folder: a socket another user could have put there is not trusted.
  ensure_private_folder(folder_of(path));
  return c10::make_intrusive<LocalStore>(path, rank, world_size, timeout);
}

}  // namespace cma::dist
