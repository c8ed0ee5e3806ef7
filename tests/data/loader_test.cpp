// Loader: batch contents, order and bytes independent of the worker count, resuming mid-epoch,
// clean shutdown, failures surfacing from next(); and the folder and cache sources agreeing byte
// for byte (OpenCV). LoaderBench.DISABLED_* measures frames/s (run with
// --gtest_also_run_disabled_tests; it asserts nothing about speed).
#include "cma/data/loader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>

#include "cma/core/error.h"
#include "cma/data/frame_cache.h"
#include "msrvtt_tree.h"

namespace {

using cma::data::Batch;
using cma::data::DataOptions;
using cma::data::DistributedSampler;
using cma::data::Loader;
using cma::data::Pair;
using cma::data::SamplerOptions;
using cma::data::Tokenizer;

// Video "v<k>" has 2 + k frames; byte j of frame f is a function of (k, f, j). Videos named in
// `fail` throw, as cma::Error or (fail_plain) std::runtime_error.
class FakeSource : public cma::data::FrameSource {
 public:
  explicit FakeSource(int size, std::set<std::string> fail = {}, bool fail_plain = false)
      : size_(size), fail_(std::move(fail)), fail_plain_(fail_plain) {}
  static int frames_of(const std::string& id) { return 2 + std::stoi(id.substr(1)); }
  static uint8_t byte(const std::string& id, int f, size_t j) {
    return static_cast<uint8_t>(std::stoi(id.substr(1)) * 37 + f * 11 + j * 3);
  }
  // Failures here happen while loading, as if the video had passed the check before the run.
  std::string problem(const std::string&, int, int) const override { return ""; }
  int load(const std::string& id, int max_frames, int slice, uint8_t* out) const override {
    if (fail_.count(id)) {
      if (fail_plain_) throw std::runtime_error("plain failure");
      throw cma::Error("cannot read " + id);
    }
    const size_t fb = static_cast<size_t>(size_) * size_ * 3;
    int n = 0;
    for (int f : cma::data::sample_frame_indices(frames_of(id), max_frames, slice)) {
      for (size_t j = 0; j < fb; ++j) out[n * fb + j] = byte(id, f, j);
      n += 1;
    }
    return n;
  }

 private:
  int size_;
  std::set<std::string> fail_;
  bool fail_plain_;
};

// 18 pairs over videos v0..v5 (v5 has 7 frames, more than max_frames 5).
std::vector<Pair> fake_pairs() {
  std::vector<Pair> pairs;
  for (int i = 0; i < 18; ++i) pairs.push_back({"v" + std::to_string(i % 6), "caption number " + std::to_string(i)});
  return pairs;
}

DataOptions small_options(int workers, int prefetch) {
  DataOptions o;
  o.max_words = 12;
  o.max_frames = 5;
  o.frame_size = 4;
  o.workers = workers;
  o.prefetch = prefetch;
  return o;
}

SamplerOptions sampler_options(int batch, bool drop_last = false) {
  SamplerOptions s;
  s.seed = 7;
  s.batch_per_rank = batch;
  s.drop_last = drop_last;
  return s;
}

std::vector<Batch> read_all(Loader& loader) {
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

std::vector<Batch> run(const std::vector<Pair>& pairs, const cma::data::FrameSource& src, const DataOptions& o,
                       const DistributedSampler& sampler, int64_t epoch = 1, int64_t start = 0) {
  const Tokenizer tok = Tokenizer::bytes_only();
  Loader loader(pairs, tok, src, sampler, o, epoch, start);
  return read_all(loader);
}

void expect_same(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.B, b.B);
  EXPECT_EQ(a.pair_indices, b.pair_indices);
  EXPECT_EQ(a.video_ids, b.video_ids);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.text_mask, b.text_mask);
  EXPECT_EQ(a.frame_mask, b.frame_mask);
  ASSERT_EQ(a.frames.size(), b.frames.size());
  EXPECT_TRUE(a.frames == b.frames) << "frame bytes differ in batch " << a.index;
}

TEST(Loader, BatchHoldsCaptionsFramesAndMasks) {
  const auto pairs = fake_pairs();
  const DataOptions o = small_options(2, 2);
  const DistributedSampler sampler(18, sampler_options(4));
  const FakeSource src(o.frame_size);
  const auto batches = run(pairs, src, o, sampler);
  ASSERT_EQ(batches.size(), 5u);  // 18 pairs in batches of 4, the last one of 2
  const Tokenizer tok = Tokenizer::bytes_only();
  const size_t fb = 4 * 4 * 3;
  for (size_t k = 0; k < batches.size(); ++k) {
    const Batch& b = batches[k];
    EXPECT_EQ(b.index, static_cast<int64_t>(k));
    EXPECT_EQ(b.epoch, 1);
    EXPECT_EQ(b.pair_indices, sampler.batch(1, static_cast<int64_t>(k)));
    ASSERT_EQ(b.B, k + 1 < batches.size() ? 4 : 2);
    EXPECT_EQ(b.L, 12);
    EXPECT_EQ(b.F, 5);
    EXPECT_EQ(b.S, 4);
    ASSERT_EQ(b.frames.size(), b.B * 5 * fb);
    for (int i = 0; i < b.B; ++i) {
      const Pair& p = pairs[b.pair_indices[i]];
      EXPECT_EQ(b.video_ids[i], p.video_id);
      const auto cap = tok.encode_caption(p.caption, 12);
      EXPECT_TRUE(std::equal(cap.ids.begin(), cap.ids.end(), b.ids.begin() + i * 12));
      EXPECT_TRUE(std::equal(cap.mask.begin(), cap.mask.end(), b.text_mask.begin() + i * 12));
      const auto picked = cma::data::sample_frame_indices(FakeSource::frames_of(p.video_id), 5, o.slice_framepos);
      for (int f = 0; f < 5; ++f) {
        const bool real = f < static_cast<int>(picked.size());
        EXPECT_EQ(b.frame_mask[i * 5 + f], real ? 1 : 0);
        const uint8_t* px = b.frames.data() + (i * 5 + f) * fb;
        for (size_t j = 0; j < fb; ++j) {
          ASSERT_EQ(px[j], real ? FakeSource::byte(p.video_id, picked[f], j) : 0)
              << "batch " << k << " item " << i << " frame " << f;
        }
      }
    }
  }
}

TEST(Loader, SameBatchesForAnyWorkerCount) {
  const auto pairs = fake_pairs();
  const DistributedSampler sampler(18, sampler_options(4));
  const FakeSource src(4);
  const auto reference = run(pairs, src, small_options(0, 1), sampler);
  ASSERT_EQ(reference.size(), 5u);
  for (auto [workers, prefetch] : {std::pair{1, 1}, {3, 2}, {3, 1}, {5, 4}}) {
    SCOPED_TRACE("workers " + std::to_string(workers) + " prefetch " + std::to_string(prefetch));
    const auto got = run(pairs, src, small_options(workers, prefetch), sampler);
    ASSERT_EQ(got.size(), reference.size());
    for (size_t k = 0; k < got.size(); ++k) expect_same(got[k], reference[k]);
  }
}

TEST(Loader, StartIndexResumesMidEpoch) {
  const auto pairs = fake_pairs();
  const DistributedSampler sampler(18, sampler_options(4, /*drop_last=*/true));
  const FakeSource src(4);
  const auto full = run(pairs, src, small_options(2, 2), sampler, 3);
  ASSERT_EQ(full.size(), 4u);
  const auto tail = run(pairs, src, small_options(2, 2), sampler, 3, 2);
  ASSERT_EQ(tail.size(), 2u);
  expect_same(tail[0], full[2]);
  expect_same(tail[1], full[3]);
  EXPECT_TRUE(run(pairs, src, small_options(2, 2), sampler, 3, 4).empty());
  EXPECT_THROW(run(pairs, src, small_options(2, 2), sampler, 3, 5), cma::Error);
}

TEST(Loader, StopsCleanlyWhenTheConsumerStopsEarly) {
  const auto pairs = fake_pairs();
  const DistributedSampler sampler(18, sampler_options(2));
  const FakeSource src(4);
  const Tokenizer tok = Tokenizer::bytes_only();
  for (int taken : {0, 1, 3}) {
    Loader loader(pairs, tok, src, sampler, small_options(4, 2), 0);
    for (int i = 0; i < taken; ++i) ASSERT_TRUE(loader.next().has_value());
  }  // each destructor joins its workers; a hang here fails the test by timeout
  Loader loader(pairs, tok, src, sampler, small_options(3, 3), 0);
  EXPECT_EQ(read_all(loader).size(), 9u);
  EXPECT_FALSE(loader.next().has_value());  // stays at the end
  EXPECT_GE(loader.wait_seconds(), 0.0);
}

// The first batch holding one of `fail`'s videos throws, naming it; the batches before it arrive.
void expect_failure_at_first_bad_batch(int workers, bool plain) {
  SCOPED_TRACE("workers " + std::to_string(workers) + (plain ? " std::runtime_error" : " cma::Error"));
  const auto pairs = fake_pairs();
  const DistributedSampler sampler(18, sampler_options(3));
  const FakeSource src(4, {"v4"}, plain);
  int64_t bad = -1;
  for (int64_t k = 0; k < sampler.batches_per_epoch() && bad < 0; ++k) {
    for (int64_t p : sampler.batch(2, k)) {
      if (pairs[p].video_id == "v4") bad = k;
    }
  }
  ASSERT_GE(bad, 0);
  const Tokenizer tok = Tokenizer::bytes_only();
  Loader loader(pairs, tok, src, sampler, small_options(workers, 2), 2);
  for (int64_t k = 0; k < bad; ++k) ASSERT_TRUE(loader.next().has_value());
  for (int again = 0; again < 2; ++again) {
    try {
      loader.next();
      FAIL() << "no exception from the batch holding v4";
    } catch (const cma::Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("v4"), std::string::npos) << m;
      EXPECT_NE(m.find("batch " + std::to_string(bad)), std::string::npos) << m;
      if (plain) {
        EXPECT_NE(m.find("plain failure"), std::string::npos) << m;
      }
    }
  }
}

TEST(Loader, WorkerExceptionIsRethrownFromNext) {
  for (int workers : {0, 1, 3}) {
    expect_failure_at_first_bad_batch(workers, false);
    expect_failure_at_first_bad_batch(workers, true);
  }
}

TEST(Loader, RejectsASamplerOfAnotherSplit) {
  const auto pairs = fake_pairs();
  const DistributedSampler sampler(20, sampler_options(4));
  const FakeSource src(4);
  EXPECT_THROW(run(pairs, src, small_options(1, 1), sampler), cma::Error);
}

// Synthetic JPEG trees are written and read back by OpenCV or, without it, TurboJPEG.
#if CMA_HAVE_SYNTHETIC_FRAMES

// A synthetic MSR-VTT tree with 3..7 frames per video (max_frames 5: padded and sampled videos).
struct Tree {
  cma::testing::TempDir dir;
  DataOptions o;
  std::vector<Pair> pairs;
  std::vector<std::string> videos;
  std::string cache;
  Tree(int width, int height, int frame_size, int frames, int spread, int videos_n, int captions) {
    cma::data::SyntheticSpec spec;
    spec.num_train_videos = videos_n;
    spec.captions_per_video = captions;
    spec.num_test_videos = 1;
    spec.frames_per_video = frames;
    spec.frames_spread = spread;
    spec.width = width, spec.height = height;
    cma::data::write_synthetic_msrvtt(dir.path(), spec);
    o.anno_path = cma::data::synthetic_anno_path(dir.path());
    o.features_path = cma::data::synthetic_features_path(dir.path());
    o.frame_size = frame_size;
    o.max_words = 16;
    pairs = cma::data::read_msrvtt(o).train;
    for (int i = 0; i < videos_n; ++i) videos.push_back(cma::data::synthetic_video_id(i));
    cache = dir / "frames.cache";
  }
};

TEST(LoaderSources, FolderAndCacheGiveIdenticalBytes) {
  Tree t(48, 40, 24, 3, 4, 6, 3);
  cma::data::prepare_from_folders(t.cache, t.videos, t.o, 2, nullptr);
  const auto folder = cma::data::make_folder_source(t.o);
  const auto cache = cma::data::make_cache_source(t.cache, 24);
  const DistributedSampler sampler(static_cast<int64_t>(t.pairs.size()), sampler_options(4));
  for (int slice : {0, 1, 2}) {
    SCOPED_TRACE("slice_framepos " + std::to_string(slice));
    DataOptions o = t.o;
    o.max_frames = 5;
    o.slice_framepos = slice;
    o.workers = 2;
    const auto from_folders = run(t.pairs, *folder, o, sampler);
    o.workers = 3;
    const auto from_cache = run(t.pairs, *cache, o, sampler);
    o.workers = 0;
    const auto from_cache_sync = run(t.pairs, *cache, o, sampler);
    ASSERT_EQ(from_folders.size(), 5u);  // 18 pairs, batches of 4
    ASSERT_EQ(from_cache.size(), from_folders.size());
    int padded = 0;
    for (size_t k = 0; k < from_folders.size(); ++k) {
      expect_same(from_cache[k], from_folders[k]);
      expect_same(from_cache_sync[k], from_folders[k]);
      for (int64_t m : from_folders[k].frame_mask) padded += m == 0;
    }
    EXPECT_GT(padded, 0);  // some videos have fewer than 5 frames
  }
}

TEST(LoaderSources, CacheFrameSizeMismatchNamesFileAndSizes) {
  Tree t(32, 32, 16, 2, 0, 2, 1);
  cma::data::prepare_from_folders(t.cache, t.videos, t.o, 1, nullptr);
  try {
    cma::data::make_cache_source(t.cache, 224);
    FAIL() << "a 16x16 cache was accepted for 224x224 frames";
  } catch (const cma::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(t.cache), std::string::npos) << m;
    EXPECT_NE(m.find("16x16"), std::string::npos) << m;
    EXPECT_NE(m.find("224x224"), std::string::npos) << m;
  }
}

TEST(LoaderSources, VideoMissingFromTheCacheFailsNamingIt) {
  Tree t(32, 32, 16, 2, 0, 3, 2);
  cma::data::prepare_from_folders(t.cache, {"video0", "video1"}, t.o, 1, nullptr);
  DataOptions o = t.o;
  o.frames_cache = t.cache;
  o.workers = 2;
  const auto src = cma::data::make_frame_source(o);
  const DistributedSampler sampler(static_cast<int64_t>(t.pairs.size()), sampler_options(6));
  try {
    run(t.pairs, *src, o, sampler);
    FAIL() << "video2 is not in the cache, yet every batch loaded";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find("video2 is not in the frame cache"), std::string::npos) << e.what();
  }
}

// Frames per second through the loader, 320x240 JPEG frames to 224x224, from folders vs from the
// cache. Prints; asserts nothing about speed.
TEST(LoaderBench, DISABLED_FramesPerSecondFoldersVsCache) {
  const int workers = std::getenv("CMA_BENCH_WORKERS") ? std::atoi(std::getenv("CMA_BENCH_WORKERS")) : 2;
  Tree t(320, 240, 224, 12, 0, 48, 2);
  const auto t0 = std::chrono::steady_clock::now();
  const auto stats = cma::data::prepare_from_folders(t.cache, t.videos, t.o, workers, nullptr);
  const double prep_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("prepare: %lld frames in %.2f s = %.1f frames/s (%d threads)\n",
              static_cast<long long>(stats.frames_written), prep_s, stats.frames_written / prep_s, workers);
  DataOptions o = t.o;
  o.max_frames = 12;
  o.workers = workers;
  o.prefetch = 4;
  const DistributedSampler sampler(static_cast<int64_t>(t.pairs.size()), sampler_options(8, true));
  const auto folder = cma::data::make_folder_source(o);
  const auto cache = cma::data::make_cache_source(t.cache, 224);
  // Pass 0 is cold for the cache source (first use checks each video's CRC32); pass 1 is warm.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto* src : {folder.get(), cache.get()}) {
      const auto s0 = std::chrono::steady_clock::now();
      const auto batches = run(t.pairs, *src, o, sampler, pass);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
      int64_t frames = 0;
      for (const auto& b : batches) {
        for (int64_t m : b.frame_mask) frames += m;
      }
      std::printf("pass %d %s: %lld frames in %.3f s = %.1f frames/s (%d workers)\n", pass,
                  src == folder.get() ? "folders" : "cache  ", static_cast<long long>(frames), s, frames / s,
                  workers);
    }
  }
}

#else

TEST(LoaderSources, NeedAJpegCodec) { GTEST_SKIP() << "built without OpenCV and TurboJPEG: no JPEG frames"; }

#endif

}  // namespace
