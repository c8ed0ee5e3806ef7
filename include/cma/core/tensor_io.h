// LibTorch bridge to the safetensors files: named tensor maps in and out.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>

#include "cma/core/safetensors.h"

namespace cma {

using TensorMap = std::map<std::string, torch::Tensor>;

// Copies one tensor out of a mapped file into an owned CPU tensor of its own dtype.
torch::Tensor to_torch(const st::TensorView& view);

// Loads every tensor whose name starts with `prefix`, with the prefix removed from the key.
TensorMap load_tensors(const st::File& file, const std::string& prefix = "");

// Writes tensors (made contiguous, moved to CPU) atomically with the given metadata.
void save_tensors(const std::string& path, const TensorMap& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace cma
