// The resume checkpoint: trainable tensors, optimizer moments and step, the CPU RNG state, the
// TrainState and the resolved config, in one safetensors file with a versioned header.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "cma/core/tensor_io.h"
#include "cma/train/state.h"

namespace cma::train {

constexpr const char* kCheckpointFormat = "cma-checkpoint";
constexpr int kCheckpointVersion = 1;

struct Checkpoint {
  TensorMap params;      // trainable tensors by name
  TensorMap optimizer;   // BertAdam::state()
  torch::Tensor rng;     // CPU generator state (uint8)
  TrainState state;
  nlohmann::json config; // the resolved run config
};

void save_checkpoint(const std::string& path, const Checkpoint& c);
Checkpoint load_checkpoint(const std::string& path);

// The default CPU generator's state, and restoring it (dropout and any sampling use it).
torch::Tensor cpu_rng_state();
void set_cpu_rng_state(const torch::Tensor& state);

}  // namespace cma::train
