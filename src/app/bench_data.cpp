// `cma bench data`: frames/s of the loader from frame folders and from the frame cache, and the
// tokenizer's captions/s, on the same tree and worker count in one run (ratios printed).
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cma/app/commands.h"
#include "cma/core/error.h"
#include "cma/data/frame_cache.h"
#include "cma/data/loader.h"
#include "cma/data/msrvtt.h"
#include "cma/data/synthetic.h"
#include "cma/data/tokenizer.h"
#include "bench_util.h"

namespace cma::app {
namespace {

struct DataArgs {
  std::string frames;        // folder of <id>.mp4/ frame folders; generated when absent
  int workers = 2;
  int max_frames = 12;
  int batch = 8;
  int generate = 48;         // videos to generate when --frames does not exist
  int captions = 200000;     // captions for the tokenizer benchmark
  std::string bpe_vocab;     // CLIP vocabulary (else the byte tokenizer is timed)
};

using bench::now;

// Reads every batch of one epoch; returns frames per second.
double frames_per_second(const std::vector<data::Pair>& pairs, const data::FrameSource& src, const DataArgs& a,
                         const data::DataOptions& o, const data::Tokenizer& tok, int64_t* frames_out) {
  data::SamplerOptions so;
  so.shuffle = false;
  so.drop_last = false;
  so.batch_per_rank = a.batch;
  data::DistributedSampler sampler(static_cast<int64_t>(pairs.size()), so);
  data::Loader loader(pairs, tok, src, sampler, o, 0);
  int64_t frames = 0;
  const double t0 = now();
  while (auto b = loader.next()) {
    for (auto m : b->frame_mask) frames += m;
  }
  *frames_out = frames;
  return frames / (now() - t0);
}

void run_bench_data(DataArgs& a) {
  namespace fs = std::filesystem;
  if (a.frames.empty()) a.frames = (fs::temp_directory_path() / "cma_bench_data/frames").string();
  if (!fs::exists(a.frames)) {
    const auto root = fs::path(a.frames).parent_path().string();
    data::SyntheticSpec spec;
    spec.num_train_videos = a.generate;
    spec.num_test_videos = 1;
    spec.captions_per_video = 1;
    spec.frames_per_video = a.max_frames;
    std::printf("generating %d videos of %d 320x240 JPEG frames under %s\n", a.generate, a.max_frames, root.c_str());
    data::write_synthetic_msrvtt(root, spec);
    a.frames = data::synthetic_features_path(root);
  }
  data::DataOptions o;
  o.features_path = a.frames;
  o.workers = a.workers;
  o.max_frames = a.max_frames;
  o.prefetch = 4;
  std::vector<data::Pair> pairs;
  for (const auto& e : fs::directory_iterator(a.frames)) {
    if (e.is_directory() && e.path().extension() == ".mp4") pairs.push_back({e.path().stem().string(), "a video"});
  }
  require(!pairs.empty(), "--frames " + a.frames + " holds no <video_id>.mp4/ frame folders");
  std::sort(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) { return x.video_id < y.video_id; });
  const auto tok = data::Tokenizer::bytes_only();
  std::printf("%zu videos, %d workers, batches of %d, %d frames per video\n", pairs.size(), a.workers, a.batch,
              a.max_frames);

  int64_t n_folder = 0, n_cache = 0;
  const auto folder_src = data::make_folder_source(o);
  const double fps_folder = frames_per_second(pairs, *folder_src, a, o, tok, &n_folder);
  std::printf("folders: %8.0f frames/s (%lld frames)\n", fps_folder, static_cast<long long>(n_folder));

  const auto cache = (fs::temp_directory_path() / ("cma_bench_cache_" + std::to_string(::getpid()) + ".frames")).string();
  std::vector<std::string> ids;
  for (const auto& p : pairs) ids.push_back(p.video_id);
  const double t0 = now();
  data::prepare_from_folders(cache, ids, o, std::max(1, a.workers), {});
  std::printf("prepare: %8.0f frames/s (one-off, writes the cache)\n", n_folder / (now() - t0));
  const auto cache_src = data::make_cache_source(cache, o.frame_size);
  const double fps_cache = frames_per_second(pairs, *cache_src, a, o, tok, &n_cache);
  fs::remove(cache);
  std::printf("cache:   %8.0f frames/s (%lld frames)\n", fps_cache, static_cast<long long>(n_cache));
  std::printf("ratio cache / folders (same run): %.1fx\n", fps_cache / fps_folder);

  // Tokenizer: distinct-ish captions so the word cache does not make it trivial.
  const auto text_tok = a.bpe_vocab.empty() ? data::Tokenizer::bytes_only() : data::Tokenizer::clip(a.bpe_vocab);
  const char* words[] = {"a", "man", "woman", "is", "singing", "cooking", "on", "the", "stage", "in", "kitchen",
                         "playing", "guitar", "with", "dog", "running", "park", "two", "people", "talk"};
  std::vector<std::string> captions;
  for (int i = 0; i < a.captions; ++i) {
    std::string c;
    for (int w = 0; w < 8; ++w) c += std::string(words[(i * 7 + w * 13 + i / 20) % 20]) + (w < 7 ? " " : "");
    c += " " + std::to_string(i % 1000);
    captions.push_back(c);
  }
  const double t1 = now();
  int64_t sum = 0;
  for (const auto& c : captions) sum += text_tok.encode_caption(c, 32).ids[1];
  const double cps = captions.size() / (now() - t1);
  std::printf("tokenizer (%s): %.0f captions/s (checksum %lld)\n", a.bpe_vocab.empty() ? "bytes" : "clip bpe", cps,
              static_cast<long long>(sum));
}

}  // namespace

void add_bench_data(CLI::App& bench) {
  auto a = std::make_shared<DataArgs>();
  auto* cmd = bench.add_subcommand("data", "Loader frames/s from folders and from the cache; tokenizer captions/s");
  cmd->add_option("--frames", a->frames, "folder of <video_id>.mp4/ frame folders (generated when absent)");
  cmd->add_option("--workers", a->workers, "loader threads")->capture_default_str();
  cmd->add_option("--max-frames", a->max_frames, "frames per video")->capture_default_str();
  cmd->add_option("--batch", a->batch, "videos per batch")->capture_default_str();
  cmd->add_option("--generate", a->generate, "videos to generate when --frames does not exist")->capture_default_str();
  cmd->add_option("--captions", a->captions, "captions for the tokenizer benchmark")->capture_default_str();
  cmd->add_option("--bpe-vocab", a->bpe_vocab, "CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) for the tokenizer");
  cmd->callback([a] { run_bench_data(*a); });
}

}  // namespace cma::app
