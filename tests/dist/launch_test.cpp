// Ranks from each launcher's environment, the documented order when several are set, and the
// errors for malformed values and for a multi-node launch without a reachable rendezvous.
#include <gtest/gtest.h>

#include "cma/core/error.h"
#include "cma/dist/communicator.h"
#include "launch_env.h"
#include "test_tmp.h"

namespace cma::testing {
namespace {

void expect_info(const dist::LaunchInfo& info, int rank, int world, int local_rank, const std::string& launcher) {
  EXPECT_EQ(info.rank, rank);
  EXPECT_EQ(info.world_size, world);
  EXPECT_EQ(info.local_rank, local_rank);
  EXPECT_EQ(info.launcher, launcher);
}

TEST(Launch, NoLauncherIsOneProcess) {
  const EnvGuard env;
  const auto info = dist::launch_info_from_env();
  expect_info(info, 0, 1, 0, "none");
  EXPECT_FALSE(info.multi_node());
}

TEST(Launch, ReadsMpirunVariables) {
  const EnvGuard env;
  env.set("OMPI_COMM_WORLD_RANK", "3");
  env.set("OMPI_COMM_WORLD_SIZE", "4");
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "1");
  env.set("OMPI_COMM_WORLD_LOCAL_SIZE", "2");
  const auto info = dist::launch_info_from_env();
  expect_info(info, 3, 4, 1, "mpirun");
  EXPECT_EQ(info.local_world_size, 2);
  EXPECT_TRUE(info.multi_node()) << "4 ranks, 2 on this node";
}

TEST(Launch, ReadsSlurmVariables) {
  const EnvGuard env;
  env.set("SLURM_PROCID", "5");
  env.set("SLURM_NTASKS", "8");
  env.set("SLURM_LOCALID", "1");
  env.set("SLURM_NNODES", "1");
  const auto info = dist::launch_info_from_env();
  expect_info(info, 5, 8, 1, "Slurm");
  EXPECT_EQ(info.nodes, 1);
  EXPECT_FALSE(info.multi_node());
  env.set("SLURM_STEP_NUM_NODES", "4");  // the step's node count wins over the allocation's
  EXPECT_EQ(dist::launch_info_from_env().nodes, 4);
  EXPECT_TRUE(dist::launch_info_from_env().multi_node());
}

TEST(Launch, ReadsTorchrunVariables) {
  const EnvGuard env;
  env.set("RANK", "2");
  env.set("WORLD_SIZE", "3");
  env.set("LOCAL_RANK", "2");
  env.set("LOCAL_WORLD_SIZE", "3");
  const auto info = dist::launch_info_from_env();
  expect_info(info, 2, 3, 2, "torchrun");
  EXPECT_FALSE(info.multi_node());
}

TEST(Launch, ReadsPmiVariables) {
  const EnvGuard env;
  env.set("PMI_RANK", "1");
  env.set("PMI_SIZE", "2");
  expect_info(dist::launch_info_from_env(), 1, 2, 1, "PMI");
}

// torchrun, then mpirun, then PMI, then Slurm; all of a launcher's variables are taken together.
TEST(Launch, PrecedenceTakesOneLauncherWhole) {
  const EnvGuard env;
  env.set("SLURM_PROCID", "0");  // as an sbatch script's environment carries into mpirun's ranks
  env.set("SLURM_NTASKS", "1");
  env.set("SLURM_LOCALID", "0");
  env.set("SLURM_NNODES", "7");
  expect_info(dist::launch_info_from_env(), 0, 1, 0, "Slurm");
  env.set("PMI_RANK", "2");
  env.set("PMI_SIZE", "5");
  expect_info(dist::launch_info_from_env(), 2, 5, 2, "PMI");
  env.set("OMPI_COMM_WORLD_RANK", "1");
  env.set("OMPI_COMM_WORLD_SIZE", "2");
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "1");
  auto info = dist::launch_info_from_env();
  expect_info(info, 1, 2, 1, "mpirun");
  EXPECT_EQ(info.nodes, 0) << "Slurm's node count must not leak into an mpirun launch";
  EXPECT_FALSE(info.multi_node());
  env.set("RANK", "3");
  env.set("WORLD_SIZE", "4");
  info = dist::launch_info_from_env();
  expect_info(info, 3, 4, 3, "torchrun");  // LOCAL_RANK unset: not OMPI's local rank
}

TEST(Launch, HalfALauncherIsAnError) {
  const EnvGuard env;
  env.set("OMPI_COMM_WORLD_RANK", "1");
  env.set("OMPI_COMM_WORLD_SIZE", "2");
  env.set("RANK", "1");  // without WORLD_SIZE: not silently mpirun's size with this rank
  const auto msg = error_of([] { dist::launch_info_from_env(); });
  EXPECT_NE(msg.find("RANK is set but WORLD_SIZE is not"), std::string::npos) << msg;
}

TEST(Launch, MalformedValueNamesTheVariable) {
  const EnvGuard env;
  env.set("SLURM_PROCID", "1x");
  env.set("SLURM_NTASKS", "2");
  auto msg = error_of([] { dist::launch_info_from_env(); });
  EXPECT_NE(msg.find("SLURM_PROCID='1x'"), std::string::npos) << msg;
  env.set("SLURM_PROCID", "1");
  env.set("SLURM_NNODES", "two");
  msg = error_of([] { dist::launch_info_from_env(); });
  EXPECT_NE(msg.find("SLURM_NNODES='two'"), std::string::npos) << msg;

  const EnvGuard env2;
  env2.set("RANK", "2");
  env2.set("WORLD_SIZE", "2");
  msg = error_of([] { dist::launch_info_from_env(); });
  EXPECT_NE(msg.find("RANK=2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("WORLD_SIZE=2"), std::string::npos) << msg;

  const EnvGuard env3;
  env3.set("MASTER_PORT", "29500a");
  msg = error_of([] { dist::resolve_rendezvous(dist::DistOptions(), dist::LaunchInfo()); });
  EXPECT_NE(msg.find("MASTER_PORT='29500a'"), std::string::npos) << msg;
}

TEST(Launch, MultiNodeNeedsMasterAddr) {
  const EnvGuard env;
  env.set("OMPI_COMM_WORLD_RANK", "2");
  env.set("OMPI_COMM_WORLD_SIZE", "4");
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "0");
  env.set("OMPI_COMM_WORLD_LOCAL_SIZE", "2");
  const auto launch = dist::launch_info_from_env();
  dist::DistOptions o;
  o.backend = "gloo";
  auto msg = error_of([&] { dist::resolve_rendezvous(o, launch); });
  EXPECT_NE(msg.find("MASTER_ADDR"), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("other nodes"), std::string::npos) << msg;
  // make_communicator refuses before it tries to connect anywhere.
  msg = error_of([&] { dist::make_communicator(o, launch, false); });
  EXPECT_NE(msg.find("MASTER_ADDR"), std::string::npos) << msg;

  env.set("MASTER_ADDR", "node01");
  env.set("MASTER_PORT", "29511");
  const auto r = dist::resolve_rendezvous(o, launch);
  EXPECT_EQ(r.master_addr, "node01");
  EXPECT_EQ(r.master_port, 29511);

  ::unsetenv("MASTER_ADDR");
  o.master_addr = "10.1.2.3";  // --master_addr given
  EXPECT_EQ(dist::resolve_rendezvous(o, launch).master_addr, "10.1.2.3");

  const EnvGuard slurm;  // Slurm says so with its node count
  slurm.set("SLURM_PROCID", "0");
  slurm.set("SLURM_NTASKS", "2");
  slurm.set("SLURM_NNODES", "2");
  msg = error_of([] { dist::resolve_rendezvous(dist::DistOptions(), dist::launch_info_from_env()); });
  EXPECT_NE(msg.find("2 nodes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MASTER_ADDR"), std::string::npos) << msg;
}

TEST(Launch, SingleNodeKeepsTheLoopbackDefault) {
  const EnvGuard env;
  env.set("RANK", "0");
  env.set("WORLD_SIZE", "2");
  env.set("LOCAL_WORLD_SIZE", "2");
  const auto r = dist::resolve_rendezvous(dist::DistOptions(), dist::launch_info_from_env());
  EXPECT_EQ(r.master_addr, "127.0.0.1");
  EXPECT_EQ(r.master_port, 29500);
}

// A rank that cannot reach the rendezvous says which address, port and rank.
TEST(Launch, UnreachableRendezvousNamesAddressPortAndRank) {
  const EnvGuard env;
  dist::DistOptions o;
  o.backend = "gloo";
  o.master_port = free_port();  // nobody listens there
  o.timeout_seconds = 2;
  const auto msg = error_of([&] { dist::make_communicator(o, dist::LaunchInfo(1, 2, 1), false); });
  EXPECT_NE(msg.find("rank 1 of 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(o.master_port)), std::string::npos) << msg;
  EXPECT_NE(msg.find("--dist_timeout 2 s"), std::string::npos) << msg;
}

TEST(Launch, RendezvousWithMissingRanksNamesAddressPortAndRank) {
  const EnvGuard env;
  dist::DistOptions o;
  o.backend = "gloo";
  o.master_port = free_port();
  o.timeout_seconds = 2;
  const auto msg = error_of([&] { dist::make_communicator(o, dist::LaunchInfo(0, 2, 0), false); });
  EXPECT_NE(msg.find("rank 0 of 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(o.master_port)), std::string::npos) << msg;
}

}  // namespace
}  // namespace cma::testing
