// The same two-rank training launched by mpirun and by torchrun-style variables logs the same losses.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "rank_process.h"
#include "two_ranks.h"

#if CMA_HAVE_SYNTHETIC_FRAMES
namespace cma::testing {
namespace {

TEST(LaunchCli, MpirunAndTorchrunVariablesTrainAlike) {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun is not installed (openmpi-bin)";
  const auto tree = make_tiny_tree("launch_cli");
  const std::string by_mpirun = tree / "mpirun", by_env = tree / "torchrun";

  // Without RANK and friends, so that mpirun's own variables are the ones read.
  const std::string mpirun_args = "--epochs 2 --master_port " + std::to_string(free_port());
  const std::string mpirun = "env -u RANK -u WORLD_SIZE -u LOCAL_RANK -u LOCAL_WORLD_SIZE mpirun "
                             "--allow-run-as-root --oversubscribe -np 2 " +
                             tiny_train_args(tree, by_mpirun, mpirun_args) + " > " + by_mpirun + ".log 2>&1";
  const int status = std::system(mpirun.c_str());
  const std::string mpirun_log = slurp(by_mpirun + ".log");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << mpirun_log;
  EXPECT_NE(mpirun_log.find("rank 0 of 2 (gloo backend)"), std::string::npos) << mpirun_log;

  const int port = free_port();
  const std::string args = tiny_train_args(tree, by_env, "--epochs 2");
  RankProcess r0(torchrun_rank(0, port, args, by_env + ".rank0.log"));
  RankProcess r1(torchrun_rank(1, port, args, by_env + ".rank1.log"));
  ASSERT_TRUE(r0.started() && r1.started());
  EXPECT_EQ(r0.wait_for(std::chrono::seconds(300)), 0) << slurp(by_env + ".rank0.log");
  EXPECT_EQ(r1.wait_for(std::chrono::seconds(60)), 0) << slurp(by_env + ".rank1.log");
  EXPECT_NE(slurp(by_env + ".rank0.log").find("rank 0 of 2 (gloo backend)"), std::string::npos)
      << slurp(by_env + ".rank0.log");

  const auto a = train_losses(by_mpirun + "/metrics.jsonl"), b = train_losses(by_env + "/metrics.jsonl");
  ASSERT_FALSE(a.empty()) << slurp(by_mpirun + "/metrics.jsonl");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "logged step " << i + 1;
}

}  // namespace
}  // namespace cma::testing
#else
TEST(LaunchCli, NeedsAFrameEncoder) {
  GTEST_SKIP() << "built without OpenCV and TurboJPEG (CMA_HAVE_SYNTHETIC_FRAMES): no synthetic frames to train on";
}
#endif
