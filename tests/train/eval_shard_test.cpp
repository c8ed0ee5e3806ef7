// Evaluation gives the same metrics, every digit, however it is run: any evaluation batch size,
// similarity chunk, embedding micro-batch, and 1, 2 or 3 ranks (each embedding its shard), on a test set with duplicated
// captions and duplicated videos, where the reference's metric counts exact ties.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "../app/cli_util.h"
#include "cma/core/tensor_io.h"
#include "cma/data/caption_sets.h"
#include "cma/data/msrvtt.h"
#include "cma/model/weights.h"
#include "run_fixture.h"
#include "test_tmp.h"

namespace cma::testing {
namespace {

namespace fs = std::filesystem;

// Makes test rows 3 and 5 repeat the captions of rows 0 and 1, and the videos of rows 6 and 7
// copies (frame for frame) of the videos of rows 1 and 2.
void duplicate_captions_and_videos(const std::string& root) {
  const std::string csv_path = data::synthetic_anno_path(root) + "/MSRVTT_JSFUSION_test.csv";
  const auto csv = data::read_csv(csv_path);
  ASSERT_GE(csv.rows.size(), 8u);
  const int vid = csv.column("video_id"), sent = csv.column("sentence");
  auto rows = csv.rows;
  data::DataOptions o;
  o.features_path = data::synthetic_features_path(root);
  rows[3][sent] = rows[0][sent];
  rows[5][sent] = rows[1][sent];
  for (auto [copy, of] : {std::pair<int, int>{6, 1}, {7, 2}}) {
    const auto dst = data::frame_folder(o, rows[copy][vid]);
    const auto src = data::frame_folder(o, rows[of][vid]);
    fs::remove_all(dst);
    fs::copy(src, dst, fs::copy_options::recursive);
  }
  const auto quoted = [](const std::string& field) {  // CSV quoting: a quote inside is doubled
    std::string q = "\"";
    for (char ch : field) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::ofstream out(csv_path, std::ios::trunc);
  for (size_t i = 0; i < csv.header.size(); ++i) out << (i ? "," : "") << csv.header[i];
  out << "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) out << (i ? "," : "") << quoted(r[i]);
    out << "\n";
  }
}

struct Setting {
  int ranks, batch, chunk, micro_batch = 1;
};

// A random tiny CLIP and adapters saved to files: ranks running as threads of one process share
// LibTorch's global generator, so each loads the same weights instead of drawing them.
struct SavedModel {
  std::string backbone, adapters;
};

SavedModel save_tiny_model(const TinyTree& tree) {
  const model::ModelOptions defaults;  // named: GCC 12 warns (falsely) about a temporary's string
  auto m = model::build_model("random:tiny", defaults, 3);
  SavedModel s{tree / "backbone.safetensors", tree / "adapters.safetensors"};
  save_tensors(s.backbone, m->backbone_tensors());
  model::save_adapters(*m, s.adapters, {});
  return s;
}

// Zero-shot evaluation on `ranks` Gloo ranks (threads of this process); rank 0's metrics.
// `caption_set`: a folder holding a caption_set.json to evaluate instead of the MSR-VTT annotations.
nlohmann::json evaluate(const TinyTree& tree, const SavedModel& weights, const Setting& s,
                        const std::string& caption_set = "") {
  const std::string out = tree / ("eval_" + std::to_string(!caption_set.empty()) + std::to_string(s.ranks) + "_" + std::to_string(s.batch) + "_" +
                                  std::to_string(s.chunk) + "_" + std::to_string(s.micro_batch));
  const int port = free_port();
  std::vector<nlohmann::json> metrics(s.ranks);
  std::vector<std::string> errors(s.ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < s.ranks; ++r) {
    threads.emplace_back([&, r] {
      try {
        auto c = tiny_run(tree, "unused");
        c.model.pretrained_clip_name = weights.backbone;
        c.train.adapters = weights.adapters;
        c.train.tune = train::Tune::None;
        c.train.batch_size_val = s.batch;
        c.eval.sim_chunk = s.chunk;
        c.eval.embed_micro_batch = s.micro_batch;
        c.train.output_dir = out;
        if (!caption_set.empty()) {
          c.data.datatype = data::Datatype::CaptionSet;
          c.data.anno_path = caption_set;
        }
        dist::DistOptions d;
        d.backend = s.ranks > 1 ? "gloo" : "none";
        d.master_port = port;
        d.timeout_seconds = 60;
        auto comm = dist::make_communicator(d, {r, s.ranks, r}, false);
        train::Trainer t(c, *comm);
        if (t.run() != 0) throw std::runtime_error("run failed");
        if (r == 0) metrics[r] = nlohmann::json::parse(slurp(out + "/eval.json"))["plain"];
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < s.ranks; ++r) EXPECT_TRUE(errors[r].empty()) << "rank " << r << ": " << errors[r];
  return metrics[0];
}

TEST(EvalBatch, MetricsIdenticalForAnyBatchChunkAndRankCount) {
  const auto tree = make_tiny_tree("evalshard", 4, 11);
  duplicate_captions_and_videos(tree.root);
  const auto weights = save_tiny_model(tree);
  const std::vector<Setting> settings = {{1, 1, 256},    {1, 16, 5},    {1, 4, 3},     {2, 3, 2},
                                         {2, 16, 256},   {3, 1, 1},     {3, 7, 4},     {1, 16, 256, 4},
                                         {1, 5, 3, 8},   {2, 16, 7, 2}, {3, 4, 2, 3}};
  const auto want = evaluate(tree, weights, settings[0]);
  ASSERT_FALSE(want.is_null());
  for (size_t i = 1; i < settings.size(); ++i) {
    const auto& s = settings[i];
    EXPECT_EQ(evaluate(tree, weights, s), want) << s.ranks << " rank(s), --batch_size_val " << s.batch << ", --sim-chunk "
                                       << s.chunk << ", --embed-micro-batch " << s.micro_batch;
  }
}

// The multi-caption protocol shards videos and captions apart: the same metrics for any setting.
// The test split groups the (duplicated) JSFusion rows by video, 1 to 3 captions each.
TEST(EvalBatch, MultiCaptionMetricsIdenticalForAnyBatchChunkAndRankCount) {
  const auto tree = make_tiny_tree("evalshard_multi", 4, 11);
  duplicate_captions_and_videos(tree.root);
  data::DataOptions o;
  o.anno_path = data::synthetic_anno_path(tree.root);
  auto splits = data::read_msrvtt(o);
  std::vector<data::Pair> test;
  for (size_t v = 0; v < splits.test.size(); ++v) {
    for (size_t k = 0; k <= v % 3; ++k) test.push_back({splits.test[v].video_id, splits.test[(v + k) % splits.test.size()].caption});
  }
  splits.test = test;
  splits.test_protocol = data::TestProtocol::MultiCaption;
  fs::create_directories(tree / "capset");
  data::write_caption_set(tree / "capset/caption_set.json", splits);
  const auto weights = save_tiny_model(tree);
  const std::string capset = tree / "capset";
  const std::vector<Setting> settings = {{1, 1, 256, 1}, {1, 16, 5, 4}, {2, 3, 2, 1}, {3, 4, 7, 3}};
  const auto want = evaluate(tree, weights, settings[0], capset);
  ASSERT_FALSE(want.is_null());
  for (size_t i = 1; i < settings.size(); ++i) {
    const auto& s = settings[i];
    EXPECT_EQ(evaluate(tree, weights, s, capset), want) << s.ranks << " rank(s), --batch_size_val " << s.batch << ", --sim-chunk "
                                       << s.chunk << ", --embed-micro-batch " << s.micro_batch;
  }
}

}  // namespace
}  // namespace cma::testing
