// Retrieval heads and the symmetric contrastive loss (docs/reference.md §3, "loose_type").
#pragma once
#include <torch/types.h>

#include "cma/model/options.h"

namespace cma::model {

// t [N, E] caption embeddings, v [M, F, E] frame embeddings, mask [M, F] (1 = real frame),
// logit_scale [] (log scale). Returns logits [N, M] = exp(logit_scale) * cos(t[n], pooled(n, m)).
// q_score pools frames with softmax(t . v / temp) per caption (raw, unnormalised t and v);
// meanP averages the real frames.
torch::Tensor retrieval_logits(const torch::Tensor& t, const torch::Tensor& v, const torch::Tensor& mask,
                               const torch::Tensor& logit_scale, const HeadOptions& head);

// 0.5 * (CE(logits) + CE(logits^T)) with the diagonal as targets; logits [N, N].
torch::Tensor symmetric_ce_loss(const torch::Tensor& logits);

}  // namespace cma::model
