// Fuzzes the frame cache's reader (FrameCacheReader: header, commit slots, index). The first input
// byte is a mode, the rest is the file. Every part of the format carries a CRC32, which random
// mutations almost never keep right, so the mode lets the target recompute them before writing the
// file and the fuzzer reaches the index decoder: bit 0 the header's CRC, bit 1 slot A's index CRC
// and slot CRC, bit 2 the same for slot B (a slot whose first 60 bytes are zero is left empty).
// Mode 0 leaves every byte as the fuzzer made it. An opened cache must list each video once with
// at least one frame, and its frames must be readable and checkable (verify, frames_checked).
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "cma/core/error.h"
#include "cma/data/frame_cache.h"
#include "fuzz_util.h"

namespace {

constexpr size_t kHeaderBytes = 4096;
constexpr size_t kSlotOffset[2] = {512, 1024};

uint32_t crc(const uint8_t* p, size_t n) { return static_cast<uint32_t>(::crc32_z(::crc32_z(0, Z_NULL, 0), p, n)); }
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void fix_slot(std::vector<uint8_t>& f, size_t at) {
  uint8_t* s = f.data() + at;
  bool zero = true;
  for (int i = 0; i < 60; ++i) zero = zero && s[i] == 0;
  if (zero) return;
  const uint64_t index_offset = get64(s + 8), index_bytes = get64(s + 16);
  if (index_offset <= f.size() && index_bytes <= f.size() - index_offset) {
    put32(s + 40, crc(f.data() + index_offset, index_bytes));
  }
  put32(s + 60, crc(s, 60));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cma::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<uint8_t> file(data + 1, data + size);
  if (file.size() >= kHeaderBytes) {
    if (mode & 1) put32(file.data() + 60, crc(file.data(), 60));
    // Slot CRCs cover the index CRC, so the index comes first; the index may lie anywhere.
    if (mode & 2) fix_slot(file, kSlotOffset[0]);
    if (mode & 4) fix_slot(file, kSlotOffset[1]);
  }
  const std::string path = cma::fuzz::write_temp("fuzz.frames", file.data(), file.size());
  try {
    const cma::data::FrameCacheReader r(path);
    CMA_FUZZ_CHECK(r.frame_size() > 0);
    const std::vector<std::string> ids = r.video_ids();
    CMA_FUZZ_CHECK(static_cast<int64_t>(ids.size()) == r.video_count());
    std::unordered_set<std::string> seen;
    for (const std::string& id : ids) {
      CMA_FUZZ_CHECK(r.has(id));
      const int frames = r.frame_count(id);
      CMA_FUZZ_CHECK(frames >= 1);
      CMA_FUZZ_CHECK(static_cast<uint64_t>(frames) * r.frame_bytes() <= file.size());
      if (!seen.insert(id).second) continue;  // a repeated id: lookups answer with its first entry
      const bool good = r.verify(id);
      try {
        CMA_FUZZ_CHECK(r.frames_checked(id) == r.frames(id));
        CMA_FUZZ_CHECK(good);
      } catch (const cma::Error&) {
        CMA_FUZZ_CHECK(!good);
      }
    }
  } catch (const cma::Error&) {
  }
  return 0;
}
