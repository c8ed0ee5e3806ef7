// The forward of one contrastive training step, the only implementation of it: the trainer, `cma
// bench step` and the parity suites (one rank and two) all call it, so the tests check the code
// that trains (docs/reference.md §3 and §4).
#pragma once
#include <torch/types.h>

#include "cma/dist/communicator.h"
#include "cma/model/clip.h"
#include "cma/train/options.h"

namespace cma::train {

// This rank's rows of the global batch (b = B / world clips and captions).
struct StepInputs {
  torch::Tensor ids;         // [b, L] int64 token ids (end token = largest id)
  torch::Tensor video;       // [b, F, 3, R, R] float32, normalised frames
  torch::Tensor frame_mask;  // [b, F] int64, 1 = real frame
};

struct StepForward {
  torch::Tensor text;         // [B, E] caption embeddings of every rank (gathered)
  torch::Tensor frames;       // [B, F, E] frame embeddings of every rank (gathered)
  torch::Tensor logits;       // global: [B, B] captions x videos; local: [b, B], this rank's captions
  torch::Tensor loss;         // [] what this rank back-propagates
  torch::Tensor global_loss;  // [] the symmetric cross-entropy over the global batch (detached; same on every rank)
};

// Encodes this rank's rows, gathers every rank's embeddings and returns the symmetric loss.
// LossScope::Global (the reference): every rank scores the whole B x B batch; the gather's
// backward hands each rank the gradient of its own rows only. LossScope::Local: each rank scores
// only its own captions' rows and its own videos' columns (b x B twice: memory linear in B), and
// the gather's backward sums every rank's gradient, so that the averaged update equals Global's.
// With one rank both are the plain loss.
StepForward contrastive_forward(model::ClipModelImpl& m, dist::Communicator& comm, const StepInputs& in,
                                LossScope scope = LossScope::Global);

}  // namespace cma::train
