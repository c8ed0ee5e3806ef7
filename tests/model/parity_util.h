// Shared pieces of the parity suites: build the model a fixture describes and compare tensors
// with a message that names the tensor, the max difference and the first bad index.
#pragma once
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cma/core/tensor_io.h"
#include "cma/model/clip.h"
#include "cma/dist/communicator.h"
#include "cma/model/weights.h"
#include "cma/train/optimizer.h"
#include "cma/train/step.h"

namespace cma::testing {

struct Fixture {
  std::string path;
  nlohmann::json config;
  TensorMap tensors;
};

inline Fixture load_fixture(const std::string& path) {
  st::File f(path);
  return {path, nlohmann::json::parse(f.meta("config")), load_tensors(f)};
}

inline TensorMap with_prefix(const TensorMap& all, const std::string& prefix) {
  TensorMap out;
  for (const auto& kv : all) {
    if (kv.first.compare(0, prefix.size(), prefix) == 0) out[kv.first.substr(prefix.size())] = kv.second;
  }
  return out;
}

inline model::ModelOptions fixture_options(const nlohmann::json& c) {
  model::ModelOptions o;
  o.adapter.reduction_dims = c.at("r");
  o.adapter.share_dim = c.at("ds");
  o.adapter.non_linearity = c.value("act", "quick_gelu");
  o.adapter.init_std = c.value("std", 0.01);
  o.head.q_score = c.value("q_score", 1) != 0;
  o.head.q_score_temp = c.value("temp", 5.0);
  return o;
}

// The fixture's backbone and initial adapters in a frozen fp32 model.
inline model::ClipModel fixture_model(const Fixture& fx) {
  auto m = model::ClipModel(model::ClipConfig::from_json(fx.config), fixture_options(fx.config));
  model::load_backbone(*m, with_prefix(fx.tensors, "backbone."), fx.path);
  model::assign_adapters(*m, with_prefix(fx.tensors, "adapter."), fx.path);
  m->freeze_backbone();
  return m;
}

// Returns "" when |got - want| <= tol everywhere, else a message naming the tensor.
inline std::string compare(const std::string& name, const torch::Tensor& got, const torch::Tensor& want,
                           double tol, bool relative_to_max = false, bool abs_or_rel = false) {
  if (got.sizes() != want.sizes()) return name + ": shape " + c10::str(got.sizes()) + " vs " + c10::str(want.sizes());
  const auto g = got.detach().to(torch::kDouble).flatten(), w = want.to(torch::kDouble).flatten();
  auto diff = (g - w).abs();
  torch::Tensor bound;
  if (relative_to_max) bound = torch::full_like(diff, tol * std::max(w.abs().max().item<double>(), 1e-30));
  else if (abs_or_rel) bound = torch::clamp_min(w.abs() * tol, tol);
  else bound = torch::full_like(diff, tol);
  const auto bad = (diff > bound).nonzero();
  if (bad.numel() == 0) return "";
  const int64_t i = bad[0][0].item<int64_t>();
  return name + ": max diff " + std::to_string(diff.max().item<double>()) + ", first bad index " +
         std::to_string(i) + " (got " + std::to_string(g[i].item<double>()) + ", want " +
         std::to_string(w[i].item<double>()) + "), " + std::to_string(bad.size(0)) + " of " +
         std::to_string(diff.numel()) + " out of tolerance";
}

// Rank `rank` of `world` over Gloo on loopback at `port` (ranks as threads of one test process).
inline std::unique_ptr<dist::Communicator> loopback_gloo(int rank, int world, int port) {
  dist::DistOptions o;
  o.backend = "gloo";
  o.master_port = port;
  o.timeout_seconds = 60;
  return dist::make_communicator(o, {rank, world, rank}, false);
}

// Rows [begin, end) of the fixture's batch as the production step's inputs, on `device`.
inline train::StepInputs fixture_inputs(const TensorMap& t, int64_t begin, int64_t end,
                                        const torch::Device& device = torch::kCPU) {
  const auto rows = [&](const char* name) { return t.at(name).slice(0, begin, end).contiguous().to(device); };
  return {rows("input.text_ids"), rows("input.video"), rows("input.video_mask")};
}

// The production step's forward (train/step.h) on the whole fixture batch, one rank.
inline train::StepForward run_forward(model::ClipModelImpl& m, const TensorMap& t,
                                      const torch::Device& device = torch::kCPU) {
  auto comm = dist::make_single_process();
  return train::contrastive_forward(m, *comm, fixture_inputs(t, 0, t.at("input.text_ids").size(0), device));
}

}  // namespace cma::testing
