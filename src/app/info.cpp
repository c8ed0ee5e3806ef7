// `cma info`: the architecture read from the weights and the trained-parameter budget.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <memory>

#include "cma/app/commands.h"
#include "cma/app/progress.h"
#include "cma/app/config.h"
#include "cma/model/weights.h"

namespace cma::app {
namespace {

struct InfoArgs {
  model::ModelOptions model;
  std::unique_ptr<ConfigBinder> binder;
};

void run_info(InfoArgs& a) {
  a.binder->apply_config();
  a.model.validate();
  const auto weights = model::resolve_weights(a.model.pretrained_clip_name);
  auto m = model::build_model(weights, a.model, 0);
  int64_t backbone = 0, adapters = 0;
  for (const auto& kv : m->backbone_tensors()) backbone += kv.second.numel();
  for (const auto& kv : m->adapter_tensors()) adapters += kv.second.numel();
  const auto& ad = a.model.adapter;
  std::printf("weights:    %s\n", weights.c_str());
  std::printf("model:      %s\n", m->config().describe().c_str());
  std::printf("adapters:   r=%d ds=%d activation=%s\n", ad.reduction_dims, ad.share_dim, ad.non_linearity.c_str());
  std::printf("backbone:   %s parameters (frozen)\n", grouped(backbone).c_str());
  std::printf("adapters:   %s parameters (trained)\n", grouped(adapters).c_str());
  std::printf("ratio:      %.2f%% of the backbone\n", 100.0 * adapters / backbone);
  for (const auto& kv : m->adapter_tensors()) {
    std::printf("  %-34s %s\n", kv.first.c_str(), c10::str(kv.second.sizes()).c_str());
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "Print the architecture and parameter counts of a backbone with adapters");
  args->model.pretrained_clip_name = "random:ViT-B/32";  // needs no download
  args->binder = std::make_unique<ConfigBinder>(*cmd);
  bind_model_options(*args->binder, args->model);
  args->binder->add_config_flag();
  cmd->callback([args] { run_info(*args); });
}

}  // namespace cma::app
