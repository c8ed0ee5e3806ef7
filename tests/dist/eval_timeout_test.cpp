// Every rank evaluates its own shard, so no rank waits on another for a whole evaluation: two ranks
// with --dist_timeout 3 finish an evaluation that takes several times the timeout.
#include <gtest/gtest.h>

#include <chrono>

#include "rank_process.h"
#include "two_ranks.h"

namespace cma::testing {
namespace {

#if CMA_WITH_OPENCV
TEST(EvalShards, TwoRanksSurviveAnEvaluationLongerThanTheTimeout) {
  const auto tree = make_tiny_tree("evaltimeout", 4, 600);
  const int port = free_port();
  // A slower model than tiny_demo's, so that embedding 300 videos per rank takes several seconds.
  const std::string extra = "--tune none --pretrained_clip_name random:small --dist_timeout 3 --batch_size_val 8";
  const auto t0 = std::chrono::steady_clock::now();
  RankProcess r0(torchrun_rank(0, port, tiny_train_args(tree, tree / "run", extra), tree / "rank0.log"));
  RankProcess r1(torchrun_rank(1, port, tiny_train_args(tree, tree / "run", extra), tree / "rank1.log"));
  const auto rc0 = r0.wait_for(std::chrono::seconds(300)), rc1 = r1.wait_for(std::chrono::seconds(60));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(rc0 && rc1) << "a rank did not finish";
  EXPECT_EQ(*rc0, 0) << slurp(tree / "rank0.log");
  EXPECT_EQ(*rc1, 0) << slurp(tree / "rank1.log");
  EXPECT_NE(slurp(tree / "rank0.log").find("embedded 300/300 test pairs on each of 2 rank(s)"), std::string::npos)
      << slurp(tree / "rank0.log");
  // The run is evaluation only; it must have lasted well past the 3 s timeout to show anything.
  // (The timeout still has to cover how far one rank can fall behind the other on a loaded
  // machine, hence 3 s rather than 1.)
  EXPECT_GT(seconds, 6.0) << "the evaluation was too short to outlast --dist_timeout 3";
}
#endif

}  // namespace
}  // namespace cma::testing
