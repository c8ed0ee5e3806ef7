// `cma prepare --videos DIR`: frames straight from video files with OpenCV's VideoCapture, one per
// second, as the reference's frame folders hold them (1 fps). Builds without OpenCV drop this file
// (frame_cache_writer.cpp then provides a prepare_from_videos that throws).
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <filesystem>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/frame_cache.h"
#include "cma/data/image.h"

namespace cma::data {
namespace {

constexpr const char* kVideoExtensions[] = {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v"};

std::string find_video(const std::string& dir, const std::string& id) {
  for (const char* ext : kVideoExtensions) {
    const std::string p = dir + "/" + id + ext;
    if (std::filesystem::is_regular_file(p)) return p;
  }
  return "";
}

// VideoCapture hands back BGR (or grey / BGRA from some backends) in 8 bits; Image wants RGB(A).
bool to_image(const cv::Mat& m, Image* img) {
  if (m.empty() || m.depth() != CV_8U) return false;
  const int c = m.channels();
  if (c != 1 && c != 3 && c != 4) return false;
  img->width = m.cols;
  img->height = m.rows;
  img->channels = c;
  img->pixels.resize(static_cast<size_t>(m.cols) * m.rows * c);
  for (int y = 0; y < m.rows; ++y) {
    const uint8_t* src = m.ptr<uint8_t>(y);
    uint8_t* dst = img->pixels.data() + static_cast<size_t>(y) * m.cols * c;
    for (int x = 0; x < m.cols * c; x += c) {
      dst[x] = src[x + (c >= 3 ? 2 : 0)];
      if (c >= 3) dst[x + 1] = src[x + 1], dst[x + 2] = src[x];
      if (c == 4) dst[x + 3] = src[x + 3];
    }
  }
  return true;
}

// The frames at 0 s, 1 s, 2 s, ...: frame round(k * fps) for each whole second k, read in stream
// order (grab() everything, retrieve() only the kept frames, which is what costs).
DecodedVideo decode_video(const std::string& dir, const std::string& id, int size) {
  DecodedVideo v;
  const std::string path = find_video(dir, id);
  if (path.empty()) {
    log::warn("data", "video {}: no {}/{}.mp4 (or .avi .mkv .webm .mov .m4v); skipped", id, dir, id);
    return v;
  }
  cv::VideoCapture cap(path);
  if (!cap.isOpened()) {
    log::warn("data", "video {}: OpenCV cannot open {}; skipped", id, path);
    return v;
  }
  double fps = cap.get(cv::CAP_PROP_FPS);
  if (!(fps > 0 && std::isfinite(fps))) {
    log::warn("data", "video {}: {} reports no frame rate; assuming 25 fps", id, path);
    fps = 25.0;
  }
  int64_t second = 0;
  int64_t target = 0;
  cv::Mat frame;
  Image img;
  for (int64_t i = 0; cap.grab(); ++i) {
    if (i != target) continue;
    if (cap.retrieve(frame) && to_image(frame, &img)) {
      const std::vector<uint8_t> px = clip_resize_crop(img, size);
      v.bytes.insert(v.bytes.end(), px.begin(), px.end());
      v.frames += 1;
    } else {
      log::warn("data", "video {}: skipping unreadable frame {} ({} s) of {}", id, i, second, path);
    }
    // Below 1 fps several seconds land on one frame; that frame is kept once.
    while (target <= i) target = std::llround(static_cast<double>(++second) * fps);
  }
  if (v.frames == 0) log::warn("data", "video {}: no readable frame in {}; skipped", id, path);
  return v;
}

}  // namespace

PrepareStats prepare_from_videos(const std::string& cache_path, const std::string& videos_dir,
                                 const std::vector<std::string>& video_ids, int frame_size, int threads,
                                 const PrepareProgress& progress) {
  require(std::filesystem::is_directory(videos_dir), "--videos " + videos_dir + " is not a folder");
  auto decode = [&videos_dir, frame_size](const std::string& id) { return decode_video(videos_dir, id, frame_size); };
  return prepare_cache(cache_path, video_ids, frame_size, threads, decode, progress);
}

}  // namespace cma::data
