// The GPU side of distribution: which GPU a rank takes (everywhere), and, in builds against a CUDA
// LibTorch, NCCL at world size 1 (NCCL refuses two ranks on one GPU) and two Gloo ranks reducing
// CUDA tensors. The CUDA cases compile only with CMA_WITH_CUDA and skip, saying so, without a GPU.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "cma/dist/communicator.h"
#include "cma/train/options.h"
#include "launch_env.h"
#include "test_tmp.h"

namespace cma::testing {
namespace {

TEST(DeviceForRank, PlainCudaTakesTheLocalRanksGpu) {
  EXPECT_EQ(train::device_for_rank("cuda", 0), "cuda:0");
  EXPECT_EQ(train::device_for_rank("cuda", 3), "cuda:3");
  EXPECT_EQ(train::device_for_rank("cuda:1", 3), "cuda:1");  // an explicit GPU stays
  EXPECT_EQ(train::device_for_rank("cpu", 2), "cpu");
}

TEST(DeviceForRank, NcclIsRefusedClearlyWhereTheBuildHasNone) {
#if CMA_WITH_NCCL
  GTEST_SKIP() << "this build has NCCL (Cuda.NcclAtWorldSizeOne runs it)";
#else
  EnvGuard env;
  dist::DistOptions o;
  o.backend = "nccl";
  o.master_port = free_port();
  const std::string msg = error_of([&] { dist::make_communicator(o, dist::LaunchInfo(0, 1, 0), true); });
  EXPECT_NE(msg.find("--dist_backend nccl is not available in this build"), std::string::npos) << msg;
#endif
}

#if CMA_WITH_CUDA
dist::DistOptions backend_on(const std::string& backend, int port) {
  dist::DistOptions o;
  o.backend = backend;
  o.master_port = port;
  o.timeout_seconds = 60;
  return o;
}

// all_reduce, all_gather and broadcast of CUDA tensors on `comm`, checked against what `world`
// ranks numbered 0..world-1 must produce.
void expect_collectives_on_cuda(dist::Communicator& comm, int world) {
  const auto opts = torch::TensorOptions().device(torch::kCUDA);
  const float r = static_cast<float>(comm.rank());
  std::vector<torch::Tensor> t = {torch::full({5}, r + 1.0f, opts)};
  comm.all_reduce_sum(t);
  EXPECT_TRUE(t[0].is_cuda());
  EXPECT_TRUE(torch::equal(t[0].cpu(), torch::full({5}, world * (world + 1) / 2.0f)));
  const auto g = comm.all_gather(torch::full({2, 3}, r, opts));
  ASSERT_EQ(g.size(0), 2 * world);
  for (int k = 0; k < world; ++k) EXPECT_EQ(g[2 * k][0].item<float>(), static_cast<float>(k));
  auto b = torch::full({4}, r + 7.0f, opts);
  comm.broadcast(b, 0);
  EXPECT_TRUE(torch::equal(b.cpu(), torch::full({4}, 7.0f)));
  comm.barrier();
}

TEST(Cuda, NcclAtWorldSizeOne) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "built with CUDA, but no GPU is visible";
#if !CMA_WITH_NCCL
  FAIL() << "built with CUDA but without NCCL: CMake found no nccl.h (set CMA_NCCL_INCLUDE_DIR)";
#endif
  EnvGuard env;
  auto comm = dist::make_communicator(backend_on("nccl", free_port()), dist::LaunchInfo(0, 1, 0), true);
  EXPECT_EQ(comm->backend(), "nccl");
  expect_collectives_on_cuda(*comm, 1);
}

TEST(Cuda, TwoGlooRanksReduceCudaTensors) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "built with CUDA, but no GPU is visible";
  EnvGuard env;
  const int port = free_port();
  std::vector<std::string> errors(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      errors[r] = error_of([&] {
        dist::LaunchInfo l(r, 2, r);
        l.local_world_size = 2;
        auto comm = dist::make_communicator(backend_on("gloo", port), l, true);
        expect_collectives_on_cuda(*comm, 2);
      });
    });
  }
  for (auto& t : ranks) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}
#endif

}  // namespace
}  // namespace cma::testing
