#include "cma/eval/retrieval.h"

#include <cmath>

#include "cma/core/error.h"
#include "cma/data/batch_tensors.h"
#include "cma/model/head.h"
#include "cma/model/item_gemm.h"

namespace cma::eval {
namespace {

// Runs `fn` over rows of `x` in micro-batches of exactly `mb` rows (the last one zero-padded).
torch::Tensor padded_map(const torch::Tensor& x, int mb, const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  std::vector<torch::Tensor> out;
  for (int64_t s = 0; s < x.size(0); s += mb) {
    auto part = x.slice(0, s, std::min<int64_t>(s + mb, x.size(0)));
    const int64_t real = part.size(0);
    if (real < mb) {
      auto shape = part.sizes().vec();
      shape[0] = mb - real;
      part = torch::cat({part, torch::zeros(shape, part.options())}, 0);
    }
    out.push_back(fn(part).slice(0, 0, real));
  }
  return torch::cat(out, 0);
}

}  // namespace

void EvalOptions::validate() const {
  require(embed_micro_batch >= 1, "--embed-micro-batch must be >= 1, got " + std::to_string(embed_micro_batch));
  require(sim_chunk >= 1, "--sim-chunk must be >= 1, got " + std::to_string(sim_chunk));
  require(gallery >= 0, "--gallery must be >= 0 (captions to draw), got " + std::to_string(gallery));
  require(dsl_temperature > 0 && std::isfinite(dsl_temperature),
          "--dsl-temperature must be a finite number > 0, got " + std::to_string(dsl_temperature));
}

Embeddings embed_all(model::ClipModelImpl& m, const std::function<std::optional<data::Batch>()>& next_batch,
                     const EvalOptions& o, const torch::Device& device,
                     const std::function<void(int64_t done)>& progress) {
  require(o.embed_micro_batch > 0, "evaluation micro-batch must be > 0");
  torch::NoGradGuard no_grad;
  const model::ItemGemmScope per_item;  // an item's embedding never depends on its neighbours
  const bool was_training = m.is_training();
  m.eval();
  std::vector<torch::Tensor> text, frames, masks;
  int64_t done = 0;
  while (auto b = next_batch()) {
    auto t = data::to_tensors(*b, device);
    // Padded captions end in token 0 everywhere, so their (discarded) end position is 0: harmless.
    text.push_back(padded_map(t.ids, o.embed_micro_batch, [&](const torch::Tensor& ids) { return m.encode_text(ids); }));
    frames.push_back(padded_map(t.video, o.embed_micro_batch, [&](const torch::Tensor& v) { return m.encode_video(v); }));
    masks.push_back(t.frame_mask);
    done += b->B;
    if (progress) progress(done);
  }
  m.train(was_training);
  require(!text.empty(), "evaluation set is empty");
  return {torch::cat(text, 0), torch::cat(frames, 0), torch::cat(masks, 0)};
}

torch::Tensor embed_captions(model::ClipModelImpl& m, const torch::Tensor& ids, const EvalOptions& o,
                             const torch::Device& device, dist::Communicator& comm) {
  torch::NoGradGuard no_grad;
  const model::ItemGemmScope per_item;
  const bool was_training = m.is_training();
  m.eval();
  const int64_t N = ids.size(0), W = comm.size(), per = (N + W - 1) / W;
  const int64_t begin = std::min(N, comm.rank() * per), end = std::min(N, begin + per);
  auto mine = ids.slice(0, begin, end).to(device);
  // Every rank gathers `per` rows; a short or empty last block is padded with zero captions.
  if (mine.size(0) < per) mine = torch::cat({mine, torch::zeros({per - mine.size(0), ids.size(1)}, mine.options())});
  const auto text = padded_map(mine, o.embed_micro_batch, [&](const torch::Tensor& x) { return m.encode_text(x); });
  m.train(was_training);
  if (W == 1) return text.slice(0, 0, N);
  return comm.all_gather(text.contiguous()).slice(0, 0, N);
}

Embeddings gather_shards(dist::Communicator& comm, const Embeddings& local, int64_t n) {
  const int64_t W = comm.size(), k = local.text.size(0);
  require(k * W >= n, "evaluation shards of " + std::to_string(k) + " rows cannot hold " + std::to_string(n) + " pairs");
  if (W == 1) {
    return {local.text.slice(0, 0, n), local.frames.slice(0, 0, n), local.frame_mask.slice(0, 0, n)};
  }
  // Gathered row q * k + j holds position j * W + q of the padded order; take positions [0, n).
  const auto pos = torch::arange(n, torch::kLong);
  const auto rows = ((pos % W) * k + pos.div(W, "floor")).to(local.text.device());  // [n]
  const auto take = [&](const torch::Tensor& x) { return comm.all_gather(x.contiguous()).index_select(0, rows); };
  return {take(local.text), take(local.frames), take(local.frame_mask)};
}

torch::Tensor similarity_matrix(model::ClipModelImpl& m, const Embeddings& e, const EvalOptions& o,
                                dist::Communicator& comm) {
  require(o.sim_chunk > 0, "--sim-chunk must be > 0");
  torch::NoGradGuard no_grad;
  // Scores are computed in float64 and rounded to float32 once. The reference's metric counts an
  // exact tie as one more rank, so a score must not depend on where its caption or video sits in
  // a chunk or a rank's block (GEMM kernels sum in an order that can depend on a row's position):
  // float64 makes such differences ~1e-16, far below float32's rounding, so equal inputs round to
  // equal scores.
  const int64_t N = e.text.size(0), W = comm.size(), per = (N + W - 1) / W;
  const int64_t begin = std::min(N, comm.rank() * per), end = std::min(N, begin + per);
  const auto v = e.frames.to(torch::kDouble);                                                  // [M, F, E]
  const auto scale = m.logit_scale.detach().to(v.device(), torch::kDouble);                    // []
  std::vector<torch::Tensor> rows;
  for (int64_t s = begin; s < end; s += o.sim_chunk) {
    const auto t = e.text.slice(0, s, std::min<int64_t>(s + o.sim_chunk, end)).to(torch::kDouble);  // [n, E]
    rows.push_back(model::retrieval_logits(t, v, e.frame_mask, scale, m.options().head).to(torch::kFloat));
  }
  auto block = rows.empty() ? torch::zeros({0, v.size(0)}, e.text.options().dtype(torch::kFloat))
                            : torch::cat(rows, 0);                                              // [end - begin, M]
  if (W == 1) return block.cpu().contiguous();
  // Blocks are padded to `per` rows so every rank gathers the same shape.
  if (block.size(0) < per) block = torch::cat({block, torch::zeros({per - block.size(0), block.size(1)}, block.options())});
  return comm.all_gather(block.contiguous()).slice(0, 0, N).cpu().contiguous();               // [N, M]
}

EvalResult retrieval_metrics(const torch::Tensor& sim, const EvalOptions& o,
                             const std::vector<int64_t>& captions_per_video) {
  const bool multi = !captions_per_video.empty();
  require(sim.dim() == 2 && (multi ? sim.size(1) == static_cast<int64_t>(captions_per_video.size())
                                   : sim.size(0) == sim.size(1)),
          "similarity matrix " + c10::str(sim.sizes()) + " does not match the test set (" +
              (multi ? std::to_string(captions_per_video.size()) + " videos" : std::string("one caption per video")) +
              ")");
  const auto s = sim.to(torch::kFloat).contiguous().cpu();
  const auto two_way = [&](const float* x) {
    return multi ? multi_caption_two_way(x, s.size(0), captions_per_video) : square_two_way(x, s.size(0));
  };
  EvalResult r;
  r.plain = two_way(s.data_ptr<float>());
  if (o.dsl) r.dsl = two_way(dual_softmax(s.data_ptr<float>(), s.size(0), s.size(1), o.dsl_temperature).data());
  return r;
}

}  // namespace cma::eval
