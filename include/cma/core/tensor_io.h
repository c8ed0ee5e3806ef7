// LibTorch bridge to the safetensors files: named tensor maps in and out.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "cma/core/safetensors.h"

namespace cma {

using TensorMap = std::map<std::string, torch::Tensor>;

// Copies one tensor out of a mapped file into an owned CPU tensor of its own dtype.
torch::Tensor to_torch(const st::TensorView& view);

// Loads every tensor whose name starts with `prefix`, with the prefix removed from the key.
TensorMap load_tensors(const st::File& file, const std::string& prefix = "");

// Copies tensor `name` out of `file` after checking that it is what our writers put there: a dtype
// in `allowed` and, for a floating type, finite values only. Loaders of our own files use it so a
// relabelled dtype or a NaN is refused by name instead of reaching training or the metrics. Throws
// cma::Error naming the file, the tensor, what was found and what is allowed, then `advice`.
torch::Tensor load_checked(const st::File& file, const std::string& name, const std::vector<st::DType>& allowed,
                           const std::string& advice);

// Writes tensors (made contiguous, moved to CPU) atomically with the given metadata.
void save_tensors(const std::string& path, const TensorMap& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace cma
