// The evaluation hook: every rank embeds and scores its share of the test split.
#include <chrono>

#include "cma/core/log.h"
#include "cma/train/trainer.h"

namespace cma::train {
namespace {

void log_metrics(const char* label, const eval::TwoWay& m) {
  log::info("eval", "{} text-to-video: R@1 {:.1f} R@5 {:.1f} R@10 {:.1f} MdR {:.1f} MnR {:.1f}", label, m.t2v.r1,
            m.t2v.r5, m.t2v.r10, m.t2v.median_rank, m.t2v.mean_rank);
  log::info("eval", "{} video-to-text: R@1 {:.1f} R@5 {:.1f} R@10 {:.1f} MdR {:.1f} MnR {:.1f}", label, m.v2t.r1,
            m.v2t.r5, m.v2t.r10, m.v2t.median_rank, m.v2t.mean_rank);
}

}  // namespace

eval::EvalResult Trainer::evaluate() {
  // Every rank embeds its shard of the test pairs (positions r, r + W, ...); the shards are
  // gathered, each rank scores a block of caption rows, and every rank computes the metrics from
  // the gathered matrix. Only rank 0 logs and writes them.
  data::SamplerOptions so;
  so.shuffle = false;
  so.drop_last = false;
  so.rank = comm_.rank();
  so.world_size = comm_.size();
  so.batch_per_rank = cfg_.train.batch_size_val;
  const auto total = static_cast<int64_t>(data_.splits.test.size());
  data::DistributedSampler sampler(total, so);
  data::Loader loader(data_.splits.test, *data_.tokenizer, *data_.frames, sampler, data_.options, 0);
  const int64_t shard = sampler.samples_per_rank();
  int64_t last_logged = 0;
  const auto started = std::chrono::steady_clock::now();
  const auto local = eval::embed_all(
      *model_, [&] { return loader.next(); }, cfg_.eval, device_, [&](int64_t done) {
        if (done - last_logged >= std::max<int64_t>(shard / 10, 1) || done == shard) {
          const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
          log::info("eval", "embedded {}/{} test pairs on each of {} rank(s) in {:.1f} s", done, shard, comm_.size(),
                    took.count());
          last_logged = done;
        }
      });
  const auto emb = eval::gather_shards(comm_, local, total);
  const auto sim = eval::similarity_matrix(*model_, emb, cfg_.eval, comm_);
  const auto r = eval::retrieval_metrics(sim, cfg_.eval);
  log_metrics("", r.plain);
  nlohmann::json rec = {{"type", "eval"}, {"epoch", state_.epoch}, {"step", state_.global_step}, {"pairs", total}};
  rec.update(eval::to_json(r.plain));
  folder_.append_record(rec);
  nlohmann::json out = {{"plain", eval::to_json(r.plain)}, {"pairs", total}, {"epoch", state_.epoch}};
  if (r.dsl) {
    log_metrics("[DSL re-weighted]", *r.dsl);
    nlohmann::json d = {{"type", "eval_dsl"}, {"epoch", state_.epoch}, {"step", state_.global_step}};
    d.update(eval::to_json(*r.dsl));
    folder_.append_record(d);
    out["dsl"] = eval::to_json(*r.dsl);
  }
  folder_.write_eval(out);
  return r;
}

}  // namespace cma::train
