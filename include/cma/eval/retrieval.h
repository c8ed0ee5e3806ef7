// Test-set evaluation: embed every caption and video, build the captions x videos similarity
// matrix in bounded-memory chunks, and compute R@K / MdR / MnR both ways (REFERENCE.md §6).
//
// Results never depend on the evaluation batch size: embeddings are computed in fixed-size,
// zero-padded micro-batches, so every GEMM has the same shape whatever batch the loader delivers.
#pragma once
#include <torch/types.h>

#include <functional>
#include <optional>

#include "cma/data/loader.h"
#include "cma/eval/metrics.h"
#include "cma/model/clip.h"

namespace cma::eval {

struct EvalOptions {
  int embed_micro_batch = 8;   // videos (and captions) per forward; fixed for reproducibility
  int sim_chunk = 256;         // captions per similarity chunk (memory: chunk * videos * E floats)
  bool dsl = false;            // also report dual-softmax re-weighted metrics
  double dsl_temperature = 1.0;
};

struct Embeddings {
  torch::Tensor text;        // [N, E]
  torch::Tensor frames;      // [M, F, E]
  torch::Tensor frame_mask;  // [M, F]
};

// Pulls every batch from `next_batch` (std::nullopt at the end) and embeds it.
Embeddings embed_all(model::ClipModelImpl& m, const std::function<std::optional<data::Batch>()>& next_batch,
                     const EvalOptions& o, const torch::Device& device,
                     const std::function<void(int64_t done)>& progress = {});

// The [N, M] similarity matrix, computed `o.sim_chunk` captions at a time.
torch::Tensor similarity_matrix(model::ClipModelImpl& m, const Embeddings& e, const EvalOptions& o);

struct EvalResult {
  TwoWay plain;
  std::optional<TwoWay> dsl;  // set when requested; never mixed with the plain numbers
};
EvalResult retrieval_metrics(const torch::Tensor& sim, const EvalOptions& o);

}  // namespace cma::eval
