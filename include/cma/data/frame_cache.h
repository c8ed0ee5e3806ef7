// The decoded-frame cache that `cma prepare` writes: every frame of every video once, as uint8
// size x size x 3 HWC RGB after CLIP's resize and centre crop (before normalisation), so training
// reads bytes instead of decoding JPEGs. One file, memory-mapped by readers (no locks: the mapped
// bytes never change), appended to by one writer at a time (flock).
//
// Layout (little-endian; every block starts at a multiple of 64 bytes):
//   [0, 4096)  header: "CMAFRAMES" magic (16 bytes), format version, frame size, channels (3),
//              header size, alignment, CRC32 of the header; commit slots A (at 512) and B (at 1024).
//   [4096, ..) video blocks: frame_count * size*size*3 bytes each, appended in `cma prepare` order,
//              and after each batch of appends the full index (id, offset, frame count, CRC32 of
//              the video's bytes, per video).
//   A commit slot (64 bytes, CRC32-protected) names the live index: sequence number, index offset,
//   size and CRC32, and the committed file length. Readers take the slot with the highest sequence
//   whose slot, index and length all check out.
//
// Crash safety: appends only ever go past the committed length, and a slot is rewritten only after
// the data and index it names are fsync'ed; the slot written is the one not in use, so a torn slot
// leaves the other (previous commit) intact. Bytes past the committed length (a torn append) are
// ignored by readers and cut off by the next writer. Per-video CRC32s catch later corruption
// (verify(), and the loader's cache source checks each video on first use).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cma/data/options.h"

namespace cma::data {

inline constexpr uint32_t kFrameCacheVersion = 1;

// A read-only, memory-mapped view of a frame cache as of its last commit when opened. Every const
// method is safe to call from many threads at once.
class FrameCacheReader {
 public:
  // Opens and validates the file; throws cma::Error naming it when it is not a frame cache, has
  // another format version, or holds no intact commit (then: delete it and re-run cma prepare).
  // A cache created but never committed reads as empty.
  explicit FrameCacheReader(const std::string& path);
  ~FrameCacheReader();
  FrameCacheReader(const FrameCacheReader&) = delete;
  FrameCacheReader& operator=(const FrameCacheReader&) = delete;

  const std::string& path() const { return path_; }
  int frame_size() const { return frame_size_; }
  size_t frame_bytes() const { return static_cast<size_t>(frame_size_) * frame_size_ * 3; }
  int64_t video_count() const { return static_cast<int64_t>(entries_.size()); }
  bool has(const std::string& video_id) const { return lookup_.count(video_id) != 0; }
  // Frames of a video; both throw cma::Error naming the cache and the video when it is absent.
  int frame_count(const std::string& video_id) const;
  // frame_count * frame_bytes() bytes, frame after frame, valid while the reader lives.
  const uint8_t* frames(const std::string& video_id) const;
  // frames(), after checking the video's CRC32 the first time it is asked for (later calls are
  // free). Throws cma::Error naming the cache and the video when the bytes do not match.
  const uint8_t* frames_checked(const std::string& video_id) const;
  // In the order they were added.
  std::vector<std::string> video_ids() const;
  // Whether the video's bytes match the CRC32 stored for them (false when absent).
  bool verify(const std::string& video_id) const;

 private:
  struct Entry {
    std::string id;
    uint64_t offset = 0;
    int frames = 0;
    uint32_t crc = 0;
  };
  const Entry& entry(const std::string& video_id) const;
  uint32_t checksum(const Entry& e) const;

  std::string path_;
  int frame_size_ = 0;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> lookup_;
  // Per entry: 0 not yet checked, 1 checked and good (frames_checked()).
  std::unique_ptr<std::atomic<uint8_t>[]> checked_;
};

struct PrepareStats {
  int64_t videos_added = 0;    // decoded and appended by this run
  int64_t videos_present = 0;  // already in the cache, left alone
  int64_t videos_skipped = 0;  // no readable frame (missing folder or file, every frame unreadable)
  int64_t frames_written = 0;  // frames appended by this run
};

// (done, total) over the listed videos, called from the calling thread after each video.
using PrepareProgress = std::function<void(int64_t done, int64_t total)>;

// One video's frames as the cache stores them: frames * size*size*3 bytes. frames == 0: skip it.
struct DecodedVideo {
  int frames = 0;
  std::vector<uint8_t> bytes;
};
// Decodes one video; called from worker threads, concurrently. Unreadable frames are left out
// (with a warning) by the function itself.
using VideoDecoder = std::function<DecodedVideo(const std::string& video_id)>;

// The engine behind both prepare_* functions: creates the cache when absent (an existing one must
// have the same frame size, else cma::Error naming the file and both sizes), decodes the listed
// videos it lacks with `threads` workers and appends them in the order of `video_ids` (so the file
// is the same for any thread count), committing every few hundred videos and at the end. Videos
// listed twice are handled once. An exception from `decode` is rethrown after committing the
// videos before it.
PrepareStats prepare_cache(const std::string& cache_path, const std::vector<std::string>& video_ids,
                           int frame_size, int threads, const VideoDecoder& decode,
                           const PrepareProgress& progress);

// Every frame of each video's folder (frame_folder(o, id), list_frame_files order), decoded and
// passed through clip_resize_crop(o.frame_size), so any max_frames and slice_framepos can be
// sampled later. Needs OpenCV (throws cma::Error in builds without it).
PrepareStats prepare_from_folders(const std::string& cache_path, const std::vector<std::string>& video_ids,
                                  const DataOptions& o, int threads, const PrepareProgress& progress);

// From video files videos_dir/<id>.{mp4,avi,mkv,webm,mov,m4v} with OpenCV's VideoCapture: one frame
// per second (the frame at each whole second, by the stream's frame rate, as the reference's 1 fps
// extraction), then clip_resize_crop(frame_size). Needs OpenCV (frame_cache_video_cv.cpp).
PrepareStats prepare_from_videos(const std::string& cache_path, const std::string& videos_dir,
                                 const std::vector<std::string>& video_ids, int frame_size, int threads,
                                 const PrepareProgress& progress);

}  // namespace cma::data
