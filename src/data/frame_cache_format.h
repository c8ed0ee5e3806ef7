// The frame cache's on-disk layout (see include/cma/data/frame_cache.h), shared by the reader
// (frame_cache.cpp) and the writer (frame_cache_writer.cpp). Private to src/data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cma::data::fc {

inline constexpr char kMagic[16] = "CMAFRAMES";  // zero-padded to 16 bytes
inline constexpr uint64_t kHeaderBytes = 4096;
inline constexpr uint64_t kAlign = 64;                  // every video block and index starts aligned
inline constexpr uint64_t kSlotOffset[2] = {512, 1024};  // commit slots A and B, own sectors
inline constexpr size_t kSlotBytes = 64;
inline constexpr uint32_t kIndexMagic = 0x58494643;  // "CFIX"

inline uint64_t align_up(uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// zlib's CRC32 over any length (crc32_z takes size_t).
uint32_t crc32_bytes(const uint8_t* data, size_t n);

// A commit: which index is live and how much of the file it covers.
struct Slot {
  uint64_t sequence = 0;     // 0: never written
  uint64_t index_offset = 0;
  uint64_t index_bytes = 0;
  uint64_t data_end = 0;     // committed file length (index_offset + index_bytes)
  uint64_t video_count = 0;
  uint32_t index_crc = 0;
  uint32_t frame_size = 0;
};

struct IndexEntry {
  std::string id;
  uint64_t offset = 0;  // of the video's first frame
  uint32_t frames = 0;
  uint32_t crc = 0;     // CRC32 of frames * size*size*3 bytes
};

// The 4096-byte header of a new cache, with both slots empty.
std::string encode_header(int frame_size);
// Checks magic, header CRC, version and channels; returns the frame size. Throws cma::Error naming
// `path` otherwise.
int decode_header(const uint8_t* p, size_t n, const std::string& path);

std::string encode_slot(const Slot& s);
enum class SlotState { kEmpty, kTorn, kValid };  // kEmpty: all zero bytes; kTorn: CRC mismatch
SlotState decode_slot(const uint8_t* p, Slot* out);

std::string encode_index(const std::vector<IndexEntry>& entries);

// The newest intact commit of a cache and its index. `read(offset, n)` returns the file's bytes
// there (shorter past the end).
struct Commit {
  int frame_size = 0;
  int slot = -1;              // which slot holds it; -1: nothing committed yet (empty cache)
  Slot s;                     // its contents (all zero when slot == -1)
  uint64_t next_sequence = 1;  // above every sequence with a valid slot CRC
  std::vector<IndexEntry> entries;
};
// Throws cma::Error naming `path` when the header is bad or a commit was made but none is intact
// (the file was truncated or damaged). Logs a warning when it falls back to an older commit.
Commit find_commit(const std::string& path, uint64_t file_size,
                   const std::function<std::string(uint64_t, uint64_t)>& read);

}  // namespace cma::data::fc
