#include "cma/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include "cma/core/error.h"

namespace cma::train {

torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  TensorMap all;
  for (const auto& kv : c.params) {
    require(torch::isfinite(kv.second).all().item<bool>(),
            "refusing to write a checkpoint: tensor '" + kv.first + "' holds non-finite values");
    all["param." + kv.first] = kv.second;
  }
  for (const auto& kv : c.optimizer) all["optim." + kv.first] = kv.second;
  all["rng.cpu"] = c.rng;
  save_tensors(path, all,
               {{"format", kCheckpointFormat},
                {"format_version", std::to_string(kCheckpointVersion)},
                {"state", c.state.to_json().dump()},
                {"config", c.config.dump()}});
}

Checkpoint load_checkpoint(const std::string& path) {
  st::File f(path);
  require(f.meta("format") == kCheckpointFormat, path + ": not a cma checkpoint (format '" + f.meta("format") + "')");
  const int version = std::stoi(f.meta("format_version", "0"));
  require(version >= 1 && version <= kCheckpointVersion,
          path + ": checkpoint version " + std::to_string(version) + " is not readable by this build (reads 1.." +
              std::to_string(kCheckpointVersion) + ")");
  Checkpoint c;
  c.params = load_tensors(f, "param.");
  c.optimizer = load_tensors(f, "optim.");
  c.rng = to_torch(f.get("rng.cpu"));
  c.state = TrainState::from_json(nlohmann::json::parse(f.meta("state")));
  c.config = nlohmann::json::parse(f.meta("config", "{}"));
  return c;
}

}  // namespace cma::train
