// The resume checkpoint: trainable tensors, optimizer moments and step, the CPU RNG state, the
// TrainState and the resolved config, in one safetensors file with a versioned header.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "cma/core/tensor_io.h"
#include "cma/train/state.h"

namespace cma::train {

constexpr const char* kCheckpointFormat = "cma-checkpoint";
// 1: the first layout. 2: the same, always with a checksum (st::kChecksumKey); a version-2 file
// without one is refused as damaged, a version-1 file is still read.
constexpr int kCheckpointVersion = 2;

struct Checkpoint {
  TensorMap params;      // trainable tensors by name
  TensorMap optimizer;   // BertAdam::state()
  torch::Tensor rng;     // CPU generator state (uint8)
  TrainState state;
  nlohmann::json config; // the resolved run config
};

void save_checkpoint(const std::string& path, const Checkpoint& c);
// Reads a checkpoint, verifying before anything is used that it is intact (its checksum) and holds
// what save_checkpoint writes: the format and a readable version, float tensors with finite values
// under "param." and "optim.exp_avg*", an I64 "optim.step", a U8 "rng.cpu", and state JSON. Each
// refusal is a cma::Error naming the file and the key and saying how to start over.
Checkpoint load_checkpoint(const std::string& path);

// The default CPU generator's state, and restoring it (dropout and any sampling use it).
torch::Tensor cpu_rng_state();
void set_cpu_rng_state(const torch::Tensor& state);

}  // namespace cma::train
