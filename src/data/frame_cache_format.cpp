#include "frame_cache_format.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/frame_cache.h"

namespace cma::data::fc {
namespace {

void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Parses an index written by encode_index; false when it is malformed or points outside the data
// region [kHeaderBytes, index_offset).
bool decode_index(const uint8_t* p, size_t n, uint64_t index_offset, uint64_t frame_bytes,
                  uint64_t count, std::vector<IndexEntry>* out) {
  size_t at = 8;
  if (n < 8 || get32(p) != kIndexMagic || get32(p + 4) != count) return false;
  out->clear();
  out->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (n - at < 4) return false;
    const uint32_t len = get32(p + at);
    at += 4;
    if (len == 0 || n - at < len + 16ull) return false;
    IndexEntry e;
    e.id.assign(reinterpret_cast<const char*>(p + at), len);
    at += len;
    e.offset = get64(p + at);
    e.frames = get32(p + at + 8);
    e.crc = get32(p + at + 12);
    at += 16;
    const bool inside = e.offset >= kHeaderBytes && e.offset % kAlign == 0 && e.frames > 0 &&
                        e.offset <= index_offset &&
                        e.frames <= (index_offset - e.offset) / frame_bytes;
    if (!inside) return false;
    out->push_back(std::move(e));
  }
  return at == n;
}

}  // namespace

uint32_t crc32_bytes(const uint8_t* data, size_t n) {
  return static_cast<uint32_t>(::crc32_z(::crc32_z(0L, Z_NULL, 0), data, n));
}

std::string encode_header(int frame_size) {
  std::string h(kMagic, sizeof(kMagic));
  put32(h, kFrameCacheVersion);
  put32(h, static_cast<uint32_t>(frame_size));
  put32(h, 3);  // channels
  put32(h, static_cast<uint32_t>(kHeaderBytes));
  put32(h, static_cast<uint32_t>(kAlign));
  h.resize(60, '\0');
  put32(h, crc32_bytes(bytes(h), 60));
  h.resize(kHeaderBytes, '\0');
  return h;
}

int decode_header(const uint8_t* p, size_t n, const std::string& path) {
  const std::string fix = "; delete it and re-run cma prepare";
  require(n >= kHeaderBytes && std::memcmp(p, kMagic, sizeof(kMagic)) == 0,
          path + " is not a frame cache (no CMAFRAMES header)");
  require(crc32_bytes(p, 60) == get32(p + 60), path + ": frame cache header is damaged (CRC mismatch)" + fix);
  const uint32_t version = get32(p + 16);
  require(version == kFrameCacheVersion, path + ": frame cache format version " + std::to_string(version) +
                                             ", this build reads version " +
                                             std::to_string(kFrameCacheVersion) + fix);
  const uint32_t size = get32(p + 20);
  require(get32(p + 24) == 3 && get32(p + 28) == kHeaderBytes && get32(p + 32) == kAlign &&
              size > 0 && size <= 65535,
          path + ": frame cache header has unexpected channels/size/alignment fields" + fix);
  return static_cast<int>(size);
}

std::string encode_slot(const Slot& s) {
  std::string out;
  put64(out, s.sequence);
  put64(out, s.index_offset);
  put64(out, s.index_bytes);
  put64(out, s.data_end);
  put64(out, s.video_count);
  put32(out, s.index_crc);
  put32(out, s.frame_size);
  out.resize(60, '\0');
  put32(out, crc32_bytes(bytes(out), 60));
  return out;
}

SlotState decode_slot(const uint8_t* p, Slot* out) {
  if (std::all_of(p, p + kSlotBytes, [](uint8_t b) { return b == 0; })) return SlotState::kEmpty;
  if (crc32_bytes(p, 60) != get32(p + 60)) return SlotState::kTorn;
  out->sequence = get64(p);
  out->index_offset = get64(p + 8);
  out->index_bytes = get64(p + 16);
  out->data_end = get64(p + 24);
  out->video_count = get64(p + 32);
  out->index_crc = get32(p + 40);
  out->frame_size = get32(p + 44);
  return out->sequence == 0 ? SlotState::kTorn : SlotState::kValid;
}

std::string encode_index(const std::vector<IndexEntry>& entries) {
  std::string out;
  put32(out, kIndexMagic);
  put32(out, static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) {
    put32(out, static_cast<uint32_t>(e.id.size()));
    out += e.id;
    put64(out, e.offset);
    put32(out, e.frames);
    put32(out, e.crc);
  }
  return out;
}

Commit find_commit(const std::string& path, uint64_t file_size,
                   const std::function<std::string(uint64_t, uint64_t)>& read) {
  Commit c;
  const std::string header = read(0, kHeaderBytes);
  c.frame_size = decode_header(bytes(header), header.size(), path);
  const uint64_t frame_bytes = static_cast<uint64_t>(c.frame_size) * c.frame_size * 3;

  Slot slots[2];
  SlotState states[2];
  std::vector<int> order;  // valid slots, newest first
  for (int i = 0; i < 2; ++i) {
    states[i] = decode_slot(bytes(header) + kSlotOffset[i], &slots[i]);
    if (states[i] == SlotState::kValid) {
      order.push_back(i);
      c.next_sequence = std::max(c.next_sequence, slots[i].sequence + 1);
    }
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) { return slots[a].sequence > slots[b].sequence; });
  std::string why;  // why newer commits were passed over
  for (int i : order) {
    const Slot& s = slots[i];
    const bool fits = s.frame_size == static_cast<uint32_t>(c.frame_size) && s.index_offset >= kHeaderBytes &&
                      s.index_bytes >= 8 && s.index_offset + s.index_bytes == s.data_end &&
                      s.data_end <= file_size;
    if (!fits) {
      why += " commit " + std::to_string(s.sequence) + " needs " + std::to_string(s.data_end) +
             " bytes, the file has " + std::to_string(file_size) + ";";
      continue;
    }
    const std::string index = read(s.index_offset, s.index_bytes);
    if (index.size() != s.index_bytes || crc32_bytes(bytes(index), index.size()) != s.index_crc ||
        !decode_index(bytes(index), index.size(), s.index_offset, frame_bytes, s.video_count, &c.entries)) {
      why += " commit " + std::to_string(s.sequence) + " has a damaged index;";
      continue;
    }
    c.slot = i;
    c.s = s;
    if (!why.empty()) {
      log::warn("data", "frame cache {}: falling back to commit {} ({} videos):{}", path, s.sequence,
                s.video_count, why);
    }
    return c;
  }
  // Nothing intact. Fine when nothing was ever committed (or only the very first commit was torn:
  // then nothing committed before it either); otherwise data the index promised is gone.
  require(order.empty(), path + ": no intact commit in this frame cache (truncated or damaged file:" + why +
                             "); delete it and re-run cma prepare");
  if (states[0] == SlotState::kTorn || states[1] == SlotState::kTorn) {
    log::warn("data", "frame cache {}: its first commit was interrupted; it reads as empty", path);
  }
  return c;
}

}  // namespace cma::data::fc
