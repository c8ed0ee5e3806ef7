// Appending to a frame cache (`cma prepare`): one writer per file (flock), frames appended past the
// committed length, then the index, fsync, then the spare commit slot, fsync. See frame_cache.h.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/frame_cache.h"
#include "cma/data/image.h"
#include "cma/data/msrvtt.h"
#include "frame_cache_format.h"

namespace cma::data {
namespace {

// Commit after this many appended videos or bytes, so an interrupted prepare keeps most of its work.
constexpr size_t kCommitVideos = 256;
constexpr uint64_t kCommitBytes = 2ull << 30;

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, const void* data, size_t n, uint64_t offset, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error("cannot write " + path + ": " + errno_text() + " (disk full?)");
    p += w, n -= static_cast<size_t>(w), offset += static_cast<uint64_t>(w);
  }
}

void sync(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) throw Error("cannot flush " + path + ": " + errno_text());
}

// Creates an empty cache (header only) without ever exposing a half-written header: the file is
// written under a temporary name and hard-linked into place, which (unlike rename) never replaces a
// cache another process created meanwhile.
void create_empty(const std::string& path, int frame_size) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot create " + tmp + ": " + errno_text());
  try {
    const std::string header = fc::encode_header(frame_size);
    write_all(fd, header.data(), header.size(), 0, tmp);
    sync(fd, tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) throw Error("cannot create " + path + ": " + std::strerror(err));
  // Make the new name durable too (best effort: a lost name only means prepare starts over).
  const std::string parent = std::filesystem::absolute(path).parent_path().string();
  const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

class CacheWriter {
 public:
  CacheWriter(const std::string& path, int frame_size) : path_(path), frame_size_(frame_size) {
    if (!std::filesystem::exists(path)) create_empty(path, frame_size);
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) throw Error("cannot open " + path + " for writing: " + errno_text());
    try {
      open_locked();
    } catch (...) {
      ::close(fd_);
      throw;
    }
  }
  ~CacheWriter() { ::close(fd_); }
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;

  bool has(const std::string& id) const { return ids_.count(id) != 0; }

  void append(const std::string& id, const DecodedVideo& v) {
    const uint64_t frame_bytes = static_cast<uint64_t>(frame_size_) * frame_size_ * 3;
    require(v.frames > 0 && v.bytes.size() == v.frames * frame_bytes,
            "frame cache " + path_ + ": video " + id + " decoded to " + std::to_string(v.bytes.size()) +
                " bytes for " + std::to_string(v.frames) + " frames of " + std::to_string(frame_bytes));
    fc::IndexEntry e;
    e.id = id;
    e.offset = fc::align_up(end_);
    e.frames = static_cast<uint32_t>(v.frames);
    e.crc = fc::crc32_bytes(v.bytes.data(), v.bytes.size());
    write_all(fd_, v.bytes.data(), v.bytes.size(), e.offset, path_);
    end_ = e.offset + v.bytes.size();
    ids_.insert(id);
    entries_.push_back(std::move(e));
    pending_videos_ += 1;
    pending_bytes_ += v.bytes.size();
  }

  bool should_commit() const { return pending_videos_ >= kCommitVideos || pending_bytes_ >= kCommitBytes; }

  // Makes every append so far durable and visible to new readers.
  void commit() {
    if (pending_videos_ == 0) return;
    fc::Slot s;
    s.sequence = next_sequence_;
    s.index_offset = fc::align_up(end_);
    const std::string index = fc::encode_index(entries_);
    s.index_bytes = index.size();
    s.data_end = s.index_offset + s.index_bytes;
    s.video_count = entries_.size();
    s.index_crc = fc::crc32_bytes(reinterpret_cast<const uint8_t*>(index.data()), index.size());
    s.frame_size = static_cast<uint32_t>(frame_size_);
    write_all(fd_, index.data(), index.size(), s.index_offset, path_);
    sync(fd_, path_);  // data and index reach the disk before any slot names them
    const std::string slot = fc::encode_slot(s);
    write_all(fd_, slot.data(), slot.size(), fc::kSlotOffset[next_slot_], path_);
    sync(fd_, path_);
    end_ = s.data_end;
    next_slot_ ^= 1;
    next_sequence_ += 1;
    pending_videos_ = 0;
    pending_bytes_ = 0;
  }

 private:
  void open_locked() {
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      throw Error("frame cache " + path_ + " is being written by another process (cma prepare); "
                  "wait for it to finish");
    }
    struct stat sb {};
    if (::fstat(fd_, &sb) != 0) throw Error("cannot stat " + path_ + ": " + errno_text());
    const uint64_t size = static_cast<uint64_t>(sb.st_size);
    const fc::Commit c = fc::find_commit(path_, size, [&](uint64_t off, uint64_t n) {
      std::string buf(static_cast<size_t>(off >= size ? 0 : std::min(n, size - off)), '\0');
      ssize_t got = buf.empty() ? 0 : ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(off));
      buf.resize(got < 0 ? 0 : static_cast<size_t>(got));
      return buf;
    });
    require(c.frame_size == frame_size_, "frame cache " + path_ + " holds " + std::to_string(c.frame_size) +
                                             "x" + std::to_string(c.frame_size) + " frames, this run makes " +
                                             std::to_string(frame_size_) + "x" + std::to_string(frame_size_) +
                                             "; use another cache file or the matching frame size");
    entries_ = c.entries;
    for (const auto& e : entries_) ids_.insert(e.id);
    end_ = c.slot < 0 ? fc::kHeaderBytes : c.s.data_end;
    next_slot_ = c.slot == 0 ? 1 : 0;
    next_sequence_ = c.next_sequence;
    if (size > end_) {
      log::warn("data", "frame cache {}: discarding {} bytes left by an interrupted prepare", path_, size - end_);
      if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0) {
        throw Error("cannot truncate " + path_ + ": " + errno_text());
      }
    }
  }

  std::string path_;
  int frame_size_;
  int fd_ = -1;
  std::vector<fc::IndexEntry> entries_;
  std::unordered_set<std::string> ids_;
  uint64_t end_ = 0;  // first byte past the last append
  int next_slot_ = 0;
  uint64_t next_sequence_ = 1;
  size_t pending_videos_ = 0;
  uint64_t pending_bytes_ = 0;
};

// Decodes todo[k] on `threads` workers, handing results to `consume` in k order. At most
// `window` videos are decoded ahead of the consumer, which bounds memory.
void decode_in_order(const std::vector<std::string>& todo, int threads, const VideoDecoder& decode,
                     const std::function<void(size_t, DecodedVideo&&)>& consume) {
  if (threads <= 0) {
    for (size_t k = 0; k < todo.size(); ++k) consume(k, decode(todo[k]));
    return;
  }
  struct Result {
    DecodedVideo video;
    std::exception_ptr error;
  };
  const size_t window = 2 * static_cast<size_t>(threads) + 2;
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, Result> done;
  size_t next_claim = 0, consumed = 0;
  bool stop = false;
  auto work = [&] {
    for (;;) {
      size_t k;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next_claim >= todo.size() || next_claim < consumed + window; });
        if (stop || next_claim >= todo.size()) return;
        k = next_claim++;
      }
      Result r;
      try {
        r.video = decode(todo[k]);
      } catch (...) {
        r.error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu);
      done.emplace(k, std::move(r));
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    for (auto& th : pool) th.join();
  };
  try {
    for (size_t k = 0; k < todo.size(); ++k) {
      Result r;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return done.count(k) != 0; });
        r = std::move(done.at(k));
        done.erase(k);
        consumed = k + 1;
      }
      cv.notify_all();
      if (r.error) std::rethrow_exception(r.error);
      consume(k, std::move(r.video));
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
}

}  // namespace

PrepareStats prepare_cache(const std::string& cache_path, const std::vector<std::string>& video_ids,
                           int frame_size, int threads, const VideoDecoder& decode,
                           const PrepareProgress& progress) {
  require(frame_size > 0, "frame size " + std::to_string(frame_size) + " must be positive");
  CacheWriter writer(cache_path, frame_size);
  PrepareStats stats;
  std::vector<std::string> todo;
  std::unordered_set<std::string> seen;
  for (const auto& id : video_ids) {
    if (!seen.insert(id).second) continue;
    if (writer.has(id)) {
      stats.videos_present += 1;
    } else {
      todo.push_back(id);
    }
  }
  const auto total = static_cast<int64_t>(seen.size());
  int64_t done = stats.videos_present;
  if (progress) progress(done, total);
  try {
    decode_in_order(todo, threads, decode, [&](size_t k, DecodedVideo&& v) {
      if (v.frames > 0) {
        writer.append(todo[k], v);
        stats.videos_added += 1;
        stats.frames_written += v.frames;
        if (writer.should_commit()) writer.commit();
      } else {
        stats.videos_skipped += 1;
      }
      if (progress) progress(++done, total);
    });
  } catch (...) {
    writer.commit();  // keep the videos decoded before the failure
    throw;
  }
  writer.commit();
  return stats;
}

PrepareStats prepare_from_folders(const std::string& cache_path, const std::vector<std::string>& video_ids,
                                  const DataOptions& o, int threads, const PrepareProgress& progress) {
  const int size = o.frame_size;
  const size_t frame_bytes = static_cast<size_t>(size) * size * 3;
  auto decode = [&o, size, frame_bytes](const std::string& id) {
    DecodedVideo v;
    const FrameFiles f = find_frame_files(o, id);
    if (f.paths.empty()) {
      log::warn("data", "video {}: no frame images at {}; skipped", id,
                f.where.empty() ? frame_locations(o, id) : f.where);
      return v;
    }
    v.bytes.reserve(f.paths.size() * frame_bytes);
    for (const auto& path : f.paths) {
      try {
        const std::vector<uint8_t> px = clip_resize_crop(decode_image(path), size);
        v.bytes.insert(v.bytes.end(), px.begin(), px.end());
        v.frames += 1;
      } catch (const std::exception& e) {
        log::warn("data", "video {}: skipping unreadable frame: {}", id, e.what());
      }
    }
    if (v.frames == 0) log::warn("data", "video {}: no readable frame in {}; skipped", id, f.where);
    return v;
  };
  return prepare_cache(cache_path, video_ids, size, threads, decode, progress);
}

#if !CMA_WITH_OPENCV
PrepareStats prepare_from_videos(const std::string&, const std::string&, const std::vector<std::string>&, int, int,
                                 const PrepareProgress&) {
  throw Error("cma was built without OpenCV, which decoding video files needs; rebuild with "
              "-DCMA_WITH_OPENCV=ON");
}
#endif

}  // namespace cma::data
