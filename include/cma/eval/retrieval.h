// Test-set evaluation: embed every caption and video, build the captions x videos similarity
// matrix in bounded-memory chunks, and compute R@K / MdR / MnR both ways (docs/reference.md §10).
//
// Results never depend on the evaluation batch size or the chunk size: embeddings are computed in
// fixed-size, zero-padded micro-batches with one GEMM per item (model/item_gemm.h), so an item's
// embedding does not depend on its neighbours, and scores are computed in float64 (retrieval_torch.cpp).
#pragma once
#include <torch/types.h>

#include <functional>
#include <optional>

#include "cma/data/loader.h"
#include "cma/dist/communicator.h"
#include "cma/eval/metrics.h"
#include "cma/model/clip.h"

namespace cma::eval {

struct EvalOptions {
  // Videos (and captions) per forward, zero-padded to this size. Embedding multiplies each item
  // by its own GEMM (model/item_gemm.h), so an item's embedding never depends on the others in
  // its micro-batch: the reference's metric counts exact ties, so a last-bit change would matter.
  int embed_micro_batch = 8;
  int sim_chunk = 256;         // captions per similarity chunk (memory: chunk * videos * F * E doubles)
  bool dsl = false;            // also report dual-softmax re-weighted metrics
  double dsl_temperature = 1.0;
  int gallery = 0;             // > 0: draw the top clips of the first `gallery` test captions (gallery.png)
  // Checks every field before any work starts; messages name the flag.
  void validate() const;
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

// Every rank's embeddings in dataset order. Each rank passes the rows of its shard as a
// DistributedSampler without shuffling gives them (positions r, r + W, ... of [0, n) padded by
// repeating its head, ceil(n / W) rows on every rank).
Embeddings gather_shards(dist::Communicator& comm, const Embeddings& local, int64_t n);

// Embeds N captions given as token ids [N, L] (data order): each rank embeds a contiguous block of
// ceil(N / W) rows and the blocks are gathered, so every rank returns all N embeddings [N, E].
// For multi-caption test sets, whose captions outnumber their videos and are embedded apart.
torch::Tensor embed_captions(model::ClipModelImpl& m, const torch::Tensor& ids, const EvalOptions& o,
                             const torch::Device& device, dist::Communicator& comm);

// The [N, M] similarity matrix. Each rank computes one block of caption rows, `o.sim_chunk`
// captions at a time, and the blocks are gathered: every rank returns the whole matrix.
torch::Tensor similarity_matrix(model::ClipModelImpl& m, const Embeddings& e, const EvalOptions& o,
                                dist::Communicator& comm);

struct EvalResult {
  TwoWay plain;
  std::optional<TwoWay> dsl;  // set when requested; never mixed with the plain numbers
};
// `captions_per_video` empty: a square matrix, caption i belonging to video i. Else a multi-caption
// set: sim [N captions x V videos], video v owning captions_per_video[v] adjacent rows
// (eval/metrics.h, multi_caption_two_way).
EvalResult retrieval_metrics(const torch::Tensor& sim, const EvalOptions& o,
                             const std::vector<int64_t>& captions_per_video = {});

}  // namespace cma::eval
