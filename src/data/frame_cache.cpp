// FrameCacheReader: maps the committed part of a frame cache read-only. The writer never changes
// bytes below a committed length, so the mapping stays valid while `cma prepare` appends.
#include "cma/data/frame_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cma/core/error.h"
#include "frame_cache_format.h"

namespace cma::data {

FrameCacheReader::FrameCacheReader(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error("cannot open frame cache " + path + ": " + std::strerror(errno) +
                " (create it with cma prepare)");
  }
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error("cannot stat " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(sb.st_mode)) {  // mmap of a folder fails with "No such device"
    ::close(fd);
    throw Error("--frames_cache " + path + " is " + (S_ISDIR(sb.st_mode) ? "a folder" : "not a regular file") +
                "; give the cache file cma prepare wrote (its --out)");
  }
  map_size_ = static_cast<size_t>(sb.st_size);
  if (map_size_ < fc::kHeaderBytes) {
    ::close(fd);
    throw Error(path + " is not a frame cache (only " + std::to_string(map_size_) + " bytes)");
  }
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_SHARED, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error("cannot map " + path + ": " + std::strerror(map_errno));
  }
  const auto* base = static_cast<const uint8_t*>(map_);
  const uint64_t size = map_size_;
  fc::Commit commit;
  try {
    commit = fc::find_commit(path, size, [&](uint64_t off, uint64_t n) {
      if (off >= size) return std::string();
      return std::string(reinterpret_cast<const char*>(base + off), std::min(n, size - off));
    });
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
  frame_size_ = commit.frame_size;
  entries_.reserve(commit.entries.size());
  for (auto& e : commit.entries) {
    lookup_.emplace(e.id, entries_.size());
    entries_.push_back(Entry{std::move(e.id), e.offset, static_cast<int>(e.frames), e.crc});
  }
  checked_ = std::make_unique<std::atomic<uint8_t>[]>(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) checked_[i].store(0, std::memory_order_relaxed);
}

FrameCacheReader::~FrameCacheReader() {
  if (map_) ::munmap(map_, map_size_);
}

const FrameCacheReader::Entry& FrameCacheReader::entry(const std::string& video_id) const {
  auto it = lookup_.find(video_id);
  if (it == lookup_.end()) {
    throw Error("video " + video_id + " is not in the frame cache " + path_ +
                " (re-run cma prepare to add it)");
  }
  return entries_[it->second];
}

int FrameCacheReader::frame_count(const std::string& video_id) const { return entry(video_id).frames; }

const uint8_t* FrameCacheReader::frames(const std::string& video_id) const {
  return static_cast<const uint8_t*>(map_) + entry(video_id).offset;
}

uint32_t FrameCacheReader::checksum(const Entry& e) const {
  return fc::crc32_bytes(static_cast<const uint8_t*>(map_) + e.offset, e.frames * frame_bytes());
}

const uint8_t* FrameCacheReader::frames_checked(const std::string& video_id) const {
  const Entry& e = entry(video_id);
  std::atomic<uint8_t>& state = checked_[lookup_.at(video_id)];
  // Two threads may check the same video at once; both get the same answer, so no lock.
  if (state.load(std::memory_order_acquire) == 0) {
    require(checksum(e) == e.crc, "frame cache " + path_ + ": the frames of video " + video_id +
                                      " do not match their checksum (damaged file); delete the cache "
                                      "and re-run cma prepare");
    state.store(1, std::memory_order_release);
  }
  return static_cast<const uint8_t*>(map_) + e.offset;
}

std::vector<std::string> FrameCacheReader::video_ids() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.id);
  return out;
}

bool FrameCacheReader::verify(const std::string& video_id) const {
  auto it = lookup_.find(video_id);
  return it != lookup_.end() && checksum(entries_[it->second]) == entries_[it->second].crc;
}

}  // namespace cma::data
