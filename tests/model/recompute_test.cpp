// --recompute: blocks that keep only their input and recompute their activations in backward give
// the loss and the adapters' gradients of the stored-activation step, on the parity fixture.
#include <gtest/gtest.h>

#include "cma/core/error.h"
#include "parity_util.h"
#include "test_paths.h"

namespace cma::testing {
namespace {

struct StepResult {
  double loss = 0;
  TensorMap grads;
};

StepResult train_step(const Fixture& fx, bool recompute) {
  auto m = fixture_model(fx);
  m->visual->transformer->recompute = recompute;
  m->transformer->recompute = recompute;
  m->train();
  const auto f = run_forward(*m, fx.tensors);
  f.loss.backward();
  StepResult r{f.loss.item<double>(), {}};
  for (const auto& [name, p] : m->adapter_tensors()) {
    if (p.grad().defined()) r.grads[name] = p.grad().clone();
  }
  return r;
}

TEST(Recompute, LossAndAdapterGradientsMatchStoredActivations) {
  const std::string path = fixture("parity/tinyA.safetensors");
  ASSERT_FALSE(path.empty()) << "parity/tinyA.safetensors not found";
  const Fixture fx = load_fixture(path);
  const StepResult stored = train_step(fx, false), recomputed = train_step(fx, true);
  EXPECT_NEAR(recomputed.loss, stored.loss, 1e-6 * std::abs(stored.loss));
  ASSERT_FALSE(stored.grads.empty());
  ASSERT_EQ(recomputed.grads.size(), stored.grads.size()) << "a recomputed step left an adapter without gradient";
  for (const auto& [name, g] : stored.grads) {
    // The same operations on the same shapes: equal up to the last bits of fp32.
    EXPECT_EQ(compare(name, recomputed.grads.at(name), g, 1e-5, /*relative_to_max=*/true), "");
    // Every block's slice gets a gradient, the first block's too (its input needs none).
    for (int64_t k = 0; k < g.size(0); ++k) {
      EXPECT_GT(recomputed.grads.at(name)[k].abs().sum().item<double>(), 0) << name << " adapter " << k;
    }
  }
}

TEST(Recompute, RefusesAdapterDropout) {
  model::ModelOptions o;
  o.recompute = true;
  o.adapter.dropout = 0.1;
  try {
    o.validate();
    FAIL() << "--recompute with adapter dropout was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--recompute needs --adapter_dropout 0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cma::testing
