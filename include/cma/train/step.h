// The forward of one contrastive training step, the only implementation of it: the trainer, `cma
// bench step` and the parity suites (one rank and two) all call it, so the tests check the code
// that trains (docs/reference.md §3 and §4).
#pragma once
#include <torch/types.h>

#include "cma/dist/communicator.h"
#include "cma/model/clip.h"

namespace cma::train {

// This rank's rows of the global batch (b = B / world clips and captions).
struct StepInputs {
  torch::Tensor ids;         // [b, L] int64 token ids (end token = largest id)
  torch::Tensor video;       // [b, F, 3, R, R] float32, normalised frames
  torch::Tensor frame_mask;  // [b, F] int64, 1 = real frame
};

struct StepForward {
  torch::Tensor text;    // [B, E] caption embeddings of every rank (gathered)
  torch::Tensor frames;  // [B, F, E] frame embeddings of every rank (gathered)
  torch::Tensor logits;  // [B, B] captions x videos, scaled
  torch::Tensor loss;    // [] symmetric cross-entropy over the global batch, fp32
};

// Encodes this rank's rows, gathers every rank's embeddings with the reference's gradient (each
// rank's backward sees only the gradient of its own rows), scores the global batch and returns
// the symmetric loss. With one rank the gather is the identity.
StepForward contrastive_forward(model::ClipModelImpl& m, dist::Communicator& comm, const StepInputs& in);

}  // namespace cma::train
