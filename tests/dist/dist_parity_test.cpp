// Gloo ranks (threads of this process, each with its own process group) against the reference's
// multi-rank runs: global loss, rank-averaged gradients, BertAdam trajectory. The checked-in
// two-rank fixture always runs; $CMA_PARITY_DIST_FIXTURES adds more.
#include <filesystem>
#include <thread>

#include "../model/parity_util.h"
#include "cma/dist/communicator.h"
#include "test_paths.h"
#include "test_tmp.h"

namespace cma::testing {
namespace {

struct RankResult {
  std::vector<double> losses;
  TensorMap grads, finals;
  std::string error;
};

// One rank's forward through the production step: its own rows encoded, every rank's
// embeddings gathered, the global loss.
torch::Tensor rank_loss(model::ClipModelImpl& m, const TensorMap& in, dist::Communicator& comm, int64_t k) {
  const int r = comm.rank();
  return train::contrastive_forward(m, comm, fixture_inputs(in, r * k, (r + 1) * k)).loss;
}

void run_rank(const Fixture& fx, int rank, int world, int port, RankResult* out) {
  try {
    auto comm = loopback_gloo(rank, world, port);
    auto m = fixture_model(fx);
    const int64_t k = fx.config.at("rows_per_rank");
    train::OptimizerOptions opt;
    opt.lr = fx.config.at("lr");
    train::BertAdam adam(train::make_param_groups(m->adapter_tensors(), opt.lr, opt.weight_decay), opt,
                         fx.config.at("t_total").get<double>());
    for (int s = 0; s < fx.config.at("steps").get<int>(); ++s) {
      for (auto& p : adam.all_params()) p.mutable_grad() = torch::Tensor();
      auto loss = rank_loss(*m, fx.tensors, *comm, k);
      out->losses.push_back(loss.item<double>());
      loss.backward();
      dist::average_gradients(*comm, adam.all_params());
      if (s == 0) {
        for (const auto& [name, p] : m->adapter_tensors()) out->grads[name] = p.grad().clone();
      }
      train::clip_grad_norm(adam.all_params(), opt.max_grad_norm);
      adam.step();
    }
    for (const auto& [name, p] : m->adapter_tensors()) out->finals[name] = p.detach().clone();
  } catch (const std::exception& e) {
    out->error = e.what();
  }
}

// Runs the fixture at `path` with as many Gloo ranks as its config says, each a thread of this
// process with its own process group, and compares every rank with the reference.
void check_dist_fixture(const std::string& path) {
  SCOPED_TRACE(path);
  const auto fx = load_fixture(path);
  const int world = fx.config.at("world_size");
  ASSERT_GE(world, 1) << path << ": world_size " << world;
  const int port = free_port();
  std::vector<RankResult> results(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) threads.emplace_back(run_rank, std::cref(fx), r, world, port, &results[r]);
  for (auto& t : threads) t.join();
  const auto want_losses = fx.tensors.at("train.losses");
  const auto init = with_prefix(fx.tensors, "adapter."), fin = with_prefix(fx.tensors, "final.");
  for (int r = 0; r < world; ++r) {
    ASSERT_TRUE(results[r].error.empty()) << "rank " << r << ": " << results[r].error;
    ASSERT_EQ(static_cast<int64_t>(results[r].losses.size()), want_losses.numel()) << "rank " << r;
    for (size_t s = 0; s < results[r].losses.size(); ++s) {
      EXPECT_NEAR(results[r].losses[s], want_losses[s].item<double>(), 1e-5) << "rank " << r << " step " << s;
    }
    for (const auto& [name, g] : results[r].grads) {
      const auto msg = compare("grad." + name, g, fx.tensors.at("grad." + name), 1e-4, true);
      EXPECT_TRUE(msg.empty()) << "rank " << r << ": " << msg;
    }
    for (const auto& [name, p] : results[r].finals) {
      const double change = (fin.at(name) - init.at(name)).abs().max().item<double>();
      const auto msg = compare("final." + name, p, fin.at(name), 1e-2 * change);
      EXPECT_TRUE(msg.empty()) << "rank " << r << ": " << msg;
    }
  }
  // All ranks apply the same update, so they stay bitwise in step.
  for (int r = 1; r < world; ++r) {
    for (const auto& [name, p] : results[0].finals) {
      EXPECT_TRUE(torch::equal(p, results[r].finals.at(name))) << "rank " << r << ": " << name;
    }
  }
}

TEST(DistParity, TwoGlooRanksMatchTheReference) {
  const auto path = fixture("parity/tinyA_dist2.safetensors");
  ASSERT_FALSE(path.empty()) << "parity/tinyA_dist2.safetensors not found";
  check_dist_fixture(path);
}

// Every fixture in $CMA_PARITY_DIST_FIXTURES (colon-separated paths), each with its own world size.
TEST(DistParity, ExtraFixturesFromEnvironment) {
  const auto paths = env_paths("CMA_PARITY_DIST_FIXTURES");
  if (paths.empty()) {
    GTEST_SKIP() << "CMA_PARITY_DIST_FIXTURES is not set: no extra distributed fixtures (colon-separated "
                    "*.safetensors written like tests/data/parity/tinyA_dist2.safetensors)";
  }
  for (const auto& path : paths) {
    ASSERT_TRUE(std::filesystem::exists(path)) << "CMA_PARITY_DIST_FIXTURES names " << path << ", which does not exist";
    check_dist_fixture(path);
  }
}

}  // namespace
}  // namespace cma::testing
