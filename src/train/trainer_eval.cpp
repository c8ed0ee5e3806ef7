// The evaluation hook: every rank embeds and scores its share of the test split.
#include <chrono>

#include "cma/core/log.h"
#include "cma/data/gallery.h"
#include "cma/train/trainer.h"

namespace cma::train {
namespace {

// In eval.json's and metrics.jsonl's key names (R1 R5 R10 MR MeanR, the reference's log keys), so
// that a number on the console can be found in the files by its name.
void log_metrics(const char* label, const eval::TwoWay& m) {
  for (const auto& [dir, r] : {std::pair<const char*, const eval::RetrievalMetrics&>{"t2v", m.t2v}, {"v2t", m.v2t}}) {
    log::info("eval", "{}{}{}: R1 {:.1f} R5 {:.1f} R10 {:.1f} MR {:.1f} MeanR {:.1f}", label, *label ? " " : "", dir,
              r.r1, r.r5, r.r10, r.median_rank, r.mean_rank);
  }
}

// Token ids [N, max_words] of every caption, in order.
torch::Tensor caption_ids(const std::vector<data::Pair>& pairs, const data::Tokenizer& tok, int max_words) {
  std::vector<int64_t> ids;
  ids.reserve(pairs.size() * static_cast<size_t>(max_words));
  for (const auto& p : pairs) {
    const auto cap = tok.encode_caption(p.caption, max_words);
    ids.insert(ids.end(), cap.ids.begin(), cap.ids.end());
  }
  return torch::tensor(ids, torch::kLong).view({static_cast<int64_t>(pairs.size()), max_words});
}

}  // namespace

eval::Embeddings Trainer::embed_test_pairs(const std::vector<data::Pair>& pairs, const char* noun) {
  // Every rank embeds its shard (positions r, r + W, ...) and the shards are gathered.
  data::SamplerOptions so;
  so.shuffle = false;
  so.drop_last = false;
  so.rank = comm_.rank();
  so.world_size = comm_.size();
  so.batch_per_rank = cfg_.train.batch_size_val;
  const auto total = static_cast<int64_t>(pairs.size());
  data::DistributedSampler sampler(total, so);
  data::Loader loader(pairs, *data_.tokenizer, *data_.frames, sampler, data_.options, 0);
  const int64_t shard = sampler.samples_per_rank();
  int64_t last_logged = 0;
  const auto started = std::chrono::steady_clock::now();
  const auto local = eval::embed_all(
      *model_, [&] { return loader.next(); }, cfg_.eval, device_, [&](int64_t done) {
        if (done - last_logged >= std::max<int64_t>(shard / 10, 1) || done == shard) {
          const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
          log::info("eval", "embedded {}/{} test {} on each of {} rank(s) in {:.1f} s", done, shard, noun,
                    comm_.size(), took.count());
          last_logged = done;
        }
      });
  return eval::gather_shards(comm_, local, total);
}

eval::EvalResult Trainer::evaluate() {
  // Each rank scores a block of caption rows of the gathered embeddings, and every rank computes
  // the metrics from the gathered matrix. Only rank 0 logs and writes them.
  const auto& test = data_.splits.test;
  nlohmann::json counts = {{"pairs", test.size()},
                           {"trainable_params", cfg_.train.tune == Tune::None ? 0 : trainable_params_},
                           {"backbone_params", backbone_params_}};
  std::vector<int64_t> captions_per_video;
  std::vector<std::string> columns;  // the matrix's videos, in column order
  eval::Embeddings emb;
  if (data_.splits.test_protocol == data::TestProtocol::MultiCaption) {
    // Each video is embedded once, and every caption apart from the videos.
    const auto groups = data::group_by_video(test, data_.splits.test_source);
    std::vector<data::Pair> videos;
    for (size_t v = 0, first = 0; v < groups.videos.size(); first += groups.captions_per_video[v++]) {
      videos.push_back(test[first]);
    }
    emb = embed_test_pairs(videos, "videos");
    emb.text = eval::embed_captions(*model_, caption_ids(test, *data_.tokenizer, data_.options.max_words), cfg_.eval, device_, comm_);
    captions_per_video = groups.captions_per_video;
    columns = groups.videos;
    counts["videos"] = videos.size();
  } else {
    emb = embed_test_pairs(test, "pairs");
    for (const auto& p : test) columns.push_back(p.video_id);
  }
  const auto sim = eval::similarity_matrix(*model_, emb, cfg_.eval, comm_);
  const auto r = eval::retrieval_metrics(sim, cfg_.eval, captions_per_video);
  log_metrics("", r.plain);
  nlohmann::json rec = {{"type", "eval"}, {"epoch", state_.epoch}, {"step", state_.global_step}};
  rec.update(counts);
  rec.update(eval::to_json(r.plain));
  folder_.append_record(rec);
  nlohmann::json out = {{"plain", eval::to_json(r.plain)}, {"epoch", state_.epoch}};
  out.update(counts);
  if (r.dsl) {
    log_metrics("[DSL re-weighted]", *r.dsl);
    nlohmann::json d = {{"type", "eval_dsl"}, {"epoch", state_.epoch}, {"step", state_.global_step}};
    d.update(eval::to_json(*r.dsl));
    folder_.append_record(d);
    out["dsl"] = eval::to_json(*r.dsl);
  }
  folder_.write_eval(out);
  if (cfg_.eval.gallery > 0 && comm_.rank() == 0) write_gallery(sim, columns);
  return r;
}

void Trainer::write_gallery(const torch::Tensor& sim, const std::vector<std::string>& columns) {
  // A clip is correct when it is the caption's video (a repeated video in another column counts too).
  const auto& test = data_.splits.test;
  const int64_t rows = std::min<int64_t>(cfg_.eval.gallery, sim.size(0)), k = std::min<int64_t>(5, sim.size(1));
  const auto top = std::get<1>(sim.slice(0, 0, rows).topk(k, 1)).contiguous();  // [rows, k], best first
  std::vector<data::GalleryRow> gallery(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    auto& row = gallery[static_cast<size_t>(i)];
    row.caption = test[static_cast<size_t>(i)].caption;
    for (int64_t j = 0; j < k; ++j) {
      row.videos.push_back(columns[static_cast<size_t>(top[i][j].item<int64_t>())]);
      row.correct.push_back(row.videos.back() == test[static_cast<size_t>(i)].video_id);
    }
  }
  data::write_gallery(folder_.gallery_path(), gallery, *data_.frames, data_.options);
  log::info("eval", "gallery of {} captions: {}", rows, folder_.gallery_path());
}

}  // namespace cma::train
