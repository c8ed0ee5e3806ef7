// A rank that dies or stalls mid-training: the other rank must stop within --dist_timeout with a
// cma::Error that names the collective, the peer and the timeout, never Gloo's bare "internal error".
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "rank_process.h"
#include "two_ranks.h"

#if CMA_HAVE_SYNTHETIC_FRAMES
namespace cma::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kTimeoutS = 10;
constexpr auto kSlack = 40s;  // startup of the process group, the step in flight, a loaded CI machine

struct Outcome {
  std::optional<int> exit_code;
  std::chrono::duration<double> seconds{};  // from the signal to the survivor's exit
  std::string log;
};

// Trains two ranks, sends `sig` to rank `victim` once a step is logged, and waits for the other.
Outcome break_one_rank(const std::string& name, int victim, int sig) {
  const auto tree = make_tiny_tree(name);
  const std::string out = tree / "run";
  const std::string args =
      tiny_train_args(tree, out, "--epochs 50 --log-every 1 --dist_timeout " + std::to_string(kTimeoutS));
  const int port = free_port();
  const std::string logs[2] = {out + ".rank0.log", out + ".rank1.log"};
  RankProcess ranks[2] = {RankProcess(torchrun_rank(0, port, args, logs[0])),
                          RankProcess(torchrun_rank(1, port, args, logs[1]))};
  const int survivor = 1 - victim;
  Outcome o;
  const auto deadline = std::chrono::steady_clock::now() + 180s;
  while (train_losses(out + "/metrics.jsonl").empty()) {
    if (std::chrono::steady_clock::now() > deadline || ranks[0].wait_for(0ms) || ranks[1].wait_for(0ms)) {
      ADD_FAILURE() << "no step was logged\nrank 0:\n" << slurp(logs[0]) << "\nrank 1:\n" << slurp(logs[1]);
      return o;
    }
    std::this_thread::sleep_for(20ms);
  }
  ranks[victim].signal(sig);
  const auto t0 = std::chrono::steady_clock::now();
  o.exit_code = ranks[survivor].wait_for(std::chrono::seconds(kTimeoutS) + kSlack);
  o.seconds = std::chrono::steady_clock::now() - t0;
  o.log = slurp(logs[survivor]);
  return o;  // the victim, stopped or dead, is killed and reaped here
}

void expect_named_failure(const Outcome& o, int peer) {
  ASSERT_TRUE(o.exit_code.has_value()) << "the surviving rank still runs " << o.seconds.count() << " s later:\n"
                                       << o.log;
  EXPECT_EQ(*o.exit_code, 2) << o.log;
  EXPECT_EQ(o.log.find("internal error"), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("cma: error: gloo: "), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("failed on rank " + std::to_string(1 - peer) + " of 2: rank " + std::to_string(peer) + " "),
            std::string::npos)
      << o.log;
  EXPECT_NE(o.log.find("--dist_timeout " + std::to_string(kTimeoutS) + " s"), std::string::npos) << o.log;
  std::cout << "surviving rank's message (" << o.seconds.count() << " s after the signal):\n" << o.log << "\n";
}

TEST(DistFailure, KilledPeerIsNamed) {
  const auto o = break_one_rank("kill1", 1, SIGKILL);
  expect_named_failure(o, 1);
  EXPECT_NE(o.log.find("died or stopped"), std::string::npos) << o.log;
}

// Rank 0 also serves the rendezvous store; rank 1 must still report it by rank.
TEST(DistFailure, KilledRankZeroIsNamed) {
  const auto o = break_one_rank("kill0", 0, SIGKILL);
  expect_named_failure(o, 0);
}

TEST(DistFailure, StalledPeerTimesOutNamingIt) {
  const auto o = break_one_rank("stop1", 1, SIGSTOP);
  expect_named_failure(o, 1);
  EXPECT_NE(o.log.find("stalled or stopped"), std::string::npos) << o.log;
  EXPECT_GE(o.seconds.count(), kTimeoutS - 3.0) << "a stalled peer is only noticed after the timeout";
}

}  // namespace
}  // namespace cma::testing
#else
TEST(DistFailure, NeedsAFrameEncoder) {
  GTEST_SKIP() << "built without OpenCV and TurboJPEG (CMA_HAVE_SYNTHETIC_FRAMES): no synthetic frames to train on";
}
#endif
