// A loader Batch as tensors on the training device. Frames travel as uint8 and are normalised
// there (ToTensor + CLIP Normalize in float32, the reference's arithmetic).
#pragma once
#include <torch/types.h>

#include "cma/data/loader.h"

namespace cma::data {

struct TensorBatch {
  torch::Tensor ids;         // [B, L] int64
  torch::Tensor text_mask;   // [B, L] int64
  torch::Tensor video;       // [B, F, 3, S, S] float32, normalised
  torch::Tensor frame_mask;  // [B, F] int64
};

TensorBatch to_tensors(const Batch& b, const torch::Device& device);

// uint8 [..., S, S, 3] HWC -> normalised float [..., 3, S, S] on the same device.
torch::Tensor normalize_frames(const torch::Tensor& hwc_uint8);

}  // namespace cma::data
