// `cma prepare`: decode, resize and crop every frame once into the frame cache, so training
// never waits on JPEG decoding. Re-running adds only the videos that are missing.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include "cma/app/commands.h"
#include "cma/app/config.h"
#include "cma/app/progress.h"
#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/frame_cache.h"
#include "cma/data/caption_sets.h"

namespace cma::app {
namespace {

struct PrepareArgs {
  data::DataOptions data;  // data.frames_cache is the cache written (--out)
  std::string videos_dir;
  std::unique_ptr<ConfigBinder> binder;
};

// The videos to cache: every video of the annotations when given, else every frame folder
// (<id>.mp4/) under features_path, else every video file under --videos.
std::vector<std::string> video_ids(const PrepareArgs& a) {
  std::set<std::string> ids;
  if (!a.data.anno_path.empty()) {
    const auto splits = data::read_splits(a.data);
    for (const auto& p : splits.train) ids.insert(p.video_id);
    for (const auto& p : splits.test) ids.insert(p.video_id);
    return {ids.begin(), ids.end()};
  }
  const std::string dir = a.videos_dir.empty() ? a.data.features_path : a.videos_dir;
  require(std::filesystem::is_directory(dir), "cma prepare: '" + dir + "' is not a folder (--features_path / --videos)");
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto stem = e.path().stem().string();
    if (a.videos_dir.empty() ? e.is_directory() && e.path().extension() == ".mp4" : e.is_regular_file()) ids.insert(stem);
  }
  return {ids.begin(), ids.end()};
}

void run_prepare(PrepareArgs& a) {
  a.binder->apply_config();
  const std::string& out = a.data.frames_cache;
  require(!out.empty(), "cma prepare needs --out FILE (the frame cache to write)");
  require(!a.data.features_path.empty() || !a.videos_dir.empty(), "cma prepare needs --features_path or --videos");
  a.data.validate();
  const auto ids = video_ids(a);
  require(!ids.empty(), "cma prepare: no videos found");
  const int threads =
      a.data.workers > 0 ? a.data.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  log::info("prepare", "{} videos -> {} ({}x{} frames, {} threads)", ids.size(), out, a.data.frame_size,
            a.data.frame_size, threads);
  Progress bar("[prepare]");
  auto progress = [&](int64_t done, int64_t total) { bar.update(done, total); };
  const auto stats = a.videos_dir.empty()
                         ? data::prepare_from_folders(out, ids, a.data, threads, progress)
                         : data::prepare_from_videos(out, a.videos_dir, ids, a.data.frame_size, threads, progress);
  bar.finish();
  log::info("prepare", "added {} videos ({} frames), {} already present, {} skipped", stats.videos_added,
            stats.frames_written, stats.videos_present, stats.videos_skipped);
}

}  // namespace

void add_prepare_command(CLI::App& app) {
  auto a = std::make_shared<PrepareArgs>();
  auto* cmd = app.add_subcommand("prepare", "Write the decoded-frame cache from frame folders or video files");
  a->data.workers = 0;  // all cores: preparing is the only work running
  a->binder = std::make_unique<ConfigBinder>(*cmd);
  auto& b = *a->binder;
  // The same bindings as train's (--anno_path, --features_path, --workers, --frames-cache, ...),
  // so one config file serves both; --out names the cache this command writes.
  bind_frame_options(b, a->data);
  b.bind("data", "frame_size", &a->data.frame_size, "frame side after resize and crop (the model's resolution)");
  b.bind("prepare", "videos", &a->videos_dir, "folder of video files (sampled at 1 frame per second)");
  cmd->add_option("--out", a->data.frames_cache, "cache file to create or extend (same as --frames-cache)");
  b.add_config_flag();
  cmd->callback([a] { run_prepare(*a); });
}

}  // namespace cma::app
