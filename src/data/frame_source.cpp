// The two FrameSources: frame folders decoded on the fly, and the frame cache. Both sample the same
// indices (sample_frame_indices over the video's frames) and produce the same bytes.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/frame_cache.h"
#include "cma/data/image.h"
#include "cma/data/image_header.h"
#include "cma/data/loader.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

size_t frame_bytes(int size) { return static_cast<size_t>(size) * size * 3; }

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot open image " + path + ": no such file or not readable");
  const std::streamsize n = in.tellg();
  std::vector<uint8_t> bytes(n > 0 ? static_cast<size_t>(n) : 0);
  in.seekg(0);
  if (n > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), n)) throw Error("cannot read image " + path);
  return bytes;
}

class FolderSource : public FrameSource {
 public:
  explicit FolderSource(const DataOptions& o) : o_(o) {}

  std::string problem(const std::string& video_id, int max_frames, int slice_framepos) const override {
    const FrameFiles f = find_frame_files(o_, video_id);
    std::error_code ec;
    if (f.where.empty() && fs::is_regular_file(frame_folder(o_, video_id), ec)) {
      return frame_folder(o_, video_id) + " is a file, not a folder (extract frames into <video_id>.mp4/ folders "
             "first, or cache them from the videos with cma prepare --videos)";
    }
    if (f.where.empty()) return "no frames at " + frame_locations(o_, video_id);
    if (f.paths.empty()) return "no image files in " + f.where;
    for (int i : sample_frame_indices(static_cast<int>(f.paths.size()), max_frames, slice_framepos)) {
      try {
        const std::vector<uint8_t> bytes = read_file(f.paths[i]);
        check_image_header(bytes.data(), bytes.size(), f.paths[i]);
      } catch (const Error& e) {
        return e.what();
      }
    }
    return "";
  }

  int load(const std::string& video_id, int max_frames, int slice_framepos, uint8_t* out) const override {
    const FrameFiles f = find_frame_files(o_, video_id);
    require(!f.paths.empty(), "video " + video_id + " has no frame images at " + frame_locations(o_, video_id) +
                                  " (check_videos leaves such videos out before a run)");
    int n = 0;
    for (int i : sample_frame_indices(static_cast<int>(f.paths.size()), max_frames, slice_framepos)) {
      try {
        const std::vector<uint8_t> px = clip_resize_crop(decode_image(f.paths[i]), o_.frame_size);
        std::memcpy(out + n * frame_bytes(o_.frame_size), px.data(), px.size());
        n += 1;
      } catch (const Error& e) {
        log::warn("data", "video {}: skipping unreadable frame: {}", video_id, e.what());
      }
    }
    require(n > 0, "video " + video_id + ": none of the sampled frames in " + f.where + " could be decoded");
    return n;
  }

 private:
  DataOptions o_;
};

class CacheSource : public FrameSource {
 public:
  CacheSource(const std::string& path, int frame_size) : cache_(path) {
    require(cache_.frame_size() == frame_size,
            "frame cache " + path + " holds " + std::to_string(cache_.frame_size()) + "x" +
                std::to_string(cache_.frame_size()) + " frames, but the frame size is " + std::to_string(frame_size) +
                "x" + std::to_string(frame_size) + "; re-run cma prepare into another file for this size");
  }

  std::string problem(const std::string& video_id, int, int) const override {
    if (!cache_.has(video_id)) {
      return "not in the frame cache " + cache_.path() + " (cma prepare skipped it: see its log, or re-run it)";
    }
    if (cache_.frame_count(video_id) == 0) return "no frames in the frame cache " + cache_.path();
    return "";
  }

  int load(const std::string& video_id, int max_frames, int slice_framepos, uint8_t* out) const override {
    const uint8_t* frames = cache_.frames_checked(video_id);
    const size_t fb = cache_.frame_bytes();
    int n = 0;
    for (int i : sample_frame_indices(cache_.frame_count(video_id), max_frames, slice_framepos)) {
      std::memcpy(out + n * fb, frames + i * fb, fb);
      n += 1;
    }
    return n;
  }

 private:
  FrameCacheReader cache_;
};

}  // namespace

std::unique_ptr<FrameSource> make_folder_source(const DataOptions& o) { return std::make_unique<FolderSource>(o); }

std::unique_ptr<FrameSource> make_cache_source(const std::string& cache_path, int frame_size) {
  return std::make_unique<CacheSource>(cache_path, frame_size);
}

std::unique_ptr<FrameSource> make_frame_source(const DataOptions& o) {
  if (!o.frames_cache.empty()) return make_cache_source(o.frames_cache, o.frame_size);
  return make_folder_source(o);
}

}  // namespace cma::data
