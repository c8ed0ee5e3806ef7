// Parity with the reference implementation: every named tensor of each fixture (REFERENCE.md §8).
// Runs tests/data/parity/tinyA.safetensors and every path in $CMA_PARITY_FIXTURES.
#include <filesystem>

#include "parity_util.h"
#include "test_paths.h"

namespace cma::testing {
namespace {

std::vector<std::string> parity_fixtures() {
  std::vector<std::string> out = {fixture("parity/tinyA.safetensors")};
  for (const auto& p : env_paths("CMA_PARITY_FIXTURES")) out.push_back(p);
  return out;
}

class Parity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(GetParam().empty()) << "parity fixture not found (tests/data/parity or ../shared/parity)";
    fx_ = load_fixture(GetParam());
  }
  Fixture fx_;
};

TEST_P(Parity, ForwardOutputsMatch) {
  auto m = fixture_model(fx_);
  auto o = run_forward(*m, fx_.tensors);
  for (const auto& [name, got] : std::vector<std::pair<std::string, torch::Tensor>>{
           {"out.text_embed", o.text}, {"out.frame_embed", o.frames}, {"out.logits", o.logits},
           {"out.loss", o.loss.reshape({1})}}) {
    if (!fx_.tensors.count(name)) continue;  // two-rank files carry only the loss
    const auto msg = compare(name, got, fx_.tensors.at(name), 1e-5, false, true);
    EXPECT_TRUE(msg.empty()) << fx_.path << ": " << msg;
  }
}

TEST_P(Parity, AdapterGradientsMatch) {
  auto m = fixture_model(fx_);
  auto o = run_forward(*m, fx_.tensors);
  o.loss.backward();
  const auto grads = with_prefix(fx_.tensors, "grad.");
  ASSERT_FALSE(grads.empty());
  const double scale = fx_.config.value("world_size", 1);  // two-rank files hold rank-averaged gradients
  for (const auto& [name, p] : m->adapter_tensors()) {
    ASSERT_TRUE(grads.count(name)) << fx_.path << " has no grad." << name;
    ASSERT_TRUE(p.grad().defined()) << name << " received no gradient";
    const auto msg = compare("grad." + name, p.grad() / scale, grads.at(name), 1e-4, true);
    EXPECT_TRUE(msg.empty()) << fx_.path << ": " << msg;
  }
}

TEST_P(Parity, BertAdamTrajectoryMatches) {
  auto m = fixture_model(fx_);
  const auto& c = fx_.config;
  train::OptimizerOptions opt;
  opt.lr = c.value("train_lr", c.value("lr", 1e-3));
  opt.warmup = c.value("train_warmup", 0.1);
  opt.schedule = c.value("train_schedule", "warmup_cosine");
  opt.b1 = c.value("train_b1", 0.9);
  opt.b2 = c.value("train_b2", 0.98);
  opt.eps = c.value("train_eps", 1e-6);
  opt.weight_decay = c.value("train_weight_decay", 0.2);
  opt.max_grad_norm = c.value("train_clip_grad_norm", 1.0);
  const double scale = c.value("world_size", 1);
  train::BertAdam adam(train::make_param_groups(m->adapter_tensors(), opt.lr, opt.weight_decay), opt,
                       c.at("t_total").get<double>());
  const auto want_losses = fx_.tensors.at("train.losses");
  const int steps = c.at("steps");
  for (int s = 0; s < steps; ++s) {
    for (auto& kv : m->adapter_tensors()) kv.second.mutable_grad() = torch::Tensor();
    auto o = run_forward(*m, fx_.tensors);
    const double want = want_losses[s].item<double>();
    EXPECT_NEAR(o.loss.item<double>(), want, std::max(1e-5, 1e-5 * std::abs(want))) << "train.losses[" << s << "]";
    // A world of W ranks applies the full-batch gradient divided by W (REFERENCE.md §3).
    (o.loss / scale).backward();
    train::clip_grad_norm(adam.all_params(), opt.max_grad_norm);
    adam.step();
  }
  const auto init = with_prefix(fx_.tensors, "adapter."), fin = with_prefix(fx_.tensors, "final.");
  for (const auto& [name, p] : m->adapter_tensors()) {
    const auto change = (fin.at(name) - init.at(name)).abs().max().item<double>();
    const auto diff = (p.detach() - fin.at(name)).abs();
    const double within = (diff <= 1e-3 * change).to(torch::kDouble).mean().item<double>();
    EXPECT_GE(within, 0.999) << "final." << name << ": only " << within * 100
                             << "% within 1e-3 of the largest change " << change << "; "
                             << compare("final." + name, p, fin.at(name), 1e-3 * change);
    const auto msg = compare("final." + name, p, fin.at(name), 1e-2 * change);
    EXPECT_TRUE(msg.empty()) << fx_.path << ": " << msg;
  }
}

std::string fixture_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string stem = std::filesystem::path(info.param).stem().string();
  for (auto& ch : stem) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return stem + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Parity, ::testing::ValuesIn(parity_fixtures()), fixture_name);

}  // namespace
}  // namespace cma::testing
