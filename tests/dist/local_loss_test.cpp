// --loss local (each rank scores only its own captions' rows and videos' columns) gives the same
// loss and the same averaged gradient as --loss global (the reference's whole-batch scoring), on
// two and three real Gloo ranks; and its logits are b x B instead of B x B.
#include <thread>

#include "../model/parity_util.h"
#include "cma/dist/communicator.h"
#include "test_paths.h"
#include "test_tmp.h"

namespace cma::testing {
namespace {

struct RankOut {
  double loss = 0;
  std::vector<int64_t> logits_shape;
  TensorMap grads;
  std::string error;
};

// One step's forward and backward on `world` ranks (threads), rows split evenly; averaged grads.
std::vector<RankOut> step_on_ranks(const Fixture& fx, int world, train::LossScope scope) {
  const int port = free_port();
  std::vector<RankOut> out(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        auto comm = loopback_gloo(r, world, port);
        auto m = fixture_model(fx);
        const int64_t k = fx.tensors.at("input.text_ids").size(0) / world;
        auto f = train::contrastive_forward(*m, *comm, fixture_inputs(fx.tensors, r * k, (r + 1) * k), scope);
        f.loss.backward();
        std::vector<torch::Tensor> params;
        for (const auto& [name, p] : m->adapter_tensors()) params.push_back(p);
        dist::average_gradients(*comm, params);
        out[r].loss = f.global_loss.item<double>();
        out[r].logits_shape = f.logits.sizes().vec();
        for (const auto& [name, p] : m->adapter_tensors()) out[r].grads[name] = p.grad().clone();
      } catch (const std::exception& e) {
        out[r].error = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

TEST(LocalLoss, EqualsGlobalLossAndGradientOnTwoAndThreeRanks) {
  const auto path = fixture("parity/tinyA.safetensors");
  ASSERT_FALSE(path.empty()) << "parity/tinyA.safetensors not found";
  const auto fx = load_fixture(path);
  const int64_t B = fx.tensors.at("input.text_ids").size(0);
  for (int world : {2, 3}) {
    if (B % world != 0) continue;
    SCOPED_TRACE("world " + std::to_string(world));
    const auto global = step_on_ranks(fx, world, train::LossScope::Global);
    const auto local = step_on_ranks(fx, world, train::LossScope::Local);
    for (int r = 0; r < world; ++r) {
      ASSERT_TRUE(global[r].error.empty()) << global[r].error;
      ASSERT_TRUE(local[r].error.empty()) << local[r].error;
      EXPECT_NEAR(local[r].loss, global[r].loss, 1e-6 * std::abs(global[r].loss)) << "rank " << r;
      EXPECT_EQ(global[r].logits_shape, (std::vector<int64_t>{B, B}));
      EXPECT_EQ(local[r].logits_shape, (std::vector<int64_t>{B / world, B}));
      ASSERT_FALSE(global[r].grads.empty());
      for (const auto& [name, g] : global[r].grads) {
        const auto msg = compare("grad." + name, local[r].grads.at(name), g, 1e-5, true);
        EXPECT_TRUE(msg.empty()) << "rank " << r << ": " << msg;
      }
    }
  }
}

}  // namespace
}  // namespace cma::testing
