#include "cma/data/image_header.h"

#include <cstring>

#include "cma/core/error.h"

namespace cma::data {
namespace {

int be16(const uint8_t* p) { return (p[0] << 8) | p[1]; }
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

[[noreturn]] void bad(const std::string& name, const std::string& why) {
  throw Error("cannot decode image " + name + ": " + why);
}

void check_sides(int w, int h, const std::string& name) {
  if (w <= 0 || h <= 0) bad(name, "its header gives a size of " + std::to_string(w) + " x " + std::to_string(h));
  if (w > kMaxImageSide || h > kMaxImageSide) {
    bad(name, "its header claims " + std::to_string(w) + " x " + std::to_string(h) + " pixels; frames may be at most " +
                  std::to_string(kMaxImageSide) + " pixels on a side (refused before decoding)");
  }
}

// Start-of-frame markers carry the size: C0-CF except C4 (Huffman tables), C8 (reserved) and
// CC (arithmetic conditioning).
bool is_sof(int marker) { return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC; }

ImageHeader jpeg_header(const uint8_t* d, size_t n, const std::string& name) {
  ImageHeader h;
  h.format = ImageHeader::Format::Jpeg;
  size_t pos = 2;  // after SOI
  bool have_size = false;
  while (true) {
    // A marker is 0xFF (any number of fill bytes) then its code.
    if (pos >= n || d[pos] != 0xFF) bad(name, "malformed JPEG header (no marker at byte " + std::to_string(pos) + ")");
    while (pos < n && d[pos] == 0xFF) ++pos;
    if (pos >= n) bad(name, "the file ends inside its JPEG header (truncated)");
    const int marker = d[pos++];
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // standalone, no length
    if (marker == 0xD9) bad(name, "the JPEG ends before any image data");
    if (pos + 2 > n) bad(name, "the file ends inside its JPEG header (truncated)");
    const size_t len = static_cast<size_t>(be16(d + pos));
    if (len < 2 || pos + len > n) bad(name, "the file ends inside its JPEG header (truncated)");
    if (is_sof(marker)) {
      if (len < 7) bad(name, "malformed JPEG frame header");
      h.height = be16(d + pos + 3);
      h.width = be16(d + pos + 5);
      check_sides(h.width, h.height, name);
      have_size = true;
    }
    pos += len;
    if (marker == 0xDA) break;  // start of scan: entropy-coded data follows
  }
  if (!have_size) bad(name, "the JPEG has no frame header before its image data");
  // Entropy-coded data never holds 0xFF 0xD9 (a data 0xFF is always followed by 0x00 or a restart
  // code), so an end marker after the scan header exists exactly when the file is complete.
  // Searching backwards finds it at once in a complete file.
  for (size_t i = n - 1; i > pos; --i) {
    if (d[i] == 0xD9 && d[i - 1] == 0xFF) return h;
  }
  bad(name, "the JPEG has no end-of-image marker: the file is truncated");
}

ImageHeader png_header(const uint8_t* d, size_t n, const std::string& name) {
  ImageHeader h;
  h.format = ImageHeader::Format::Png;
  // Signature (8), then the IHDR chunk: length (4) "IHDR" (4) width (4) height (4) ...
  if (n < 8 + 8 + 13 + 4 || std::memcmp(d + 12, "IHDR", 4) != 0) bad(name, "malformed PNG header (no IHDR chunk)");
  const uint32_t w = be32(d + 16), hgt = be32(d + 20);
  check_sides(w > 0x7fffffffu ? -1 : static_cast<int>(w), hgt > 0x7fffffffu ? -1 : static_cast<int>(hgt), name);
  h.width = static_cast<int>(w);
  h.height = static_cast<int>(hgt);
  // The last chunk is IEND (length 0, "IEND", CRC); allow a little padding after it.
  const size_t from = n > 64 ? n - 64 : 0;
  for (size_t i = n - 8 + 1; i-- > from;) {
    if (std::memcmp(d + i, "IEND", 4) == 0) return h;
  }
  bad(name, "the PNG has no IEND chunk: the file is truncated");
}

ImageHeader bmp_header(const uint8_t* d, size_t n, const std::string& name) {
  // BITMAPFILEHEADER (14 bytes), then an info header whose first fields are its size, the width
  // and the height, little-endian; a negative height means rows stored top-down.
  if (n < 26) bad(name, "malformed BMP header");
  const auto le32 = [d](size_t at) {
    return static_cast<int32_t>(uint32_t{d[at]} | (uint32_t{d[at + 1]} << 8) | (uint32_t{d[at + 2]} << 16) |
                                (uint32_t{d[at + 3]} << 24));
  };
  const int64_t w = le32(18), h = le32(22);
  const int64_t abs_h = h < 0 ? -h : h;
  check_sides(w > kMaxImageSide ? kMaxImageSide + 1 : static_cast<int>(w),
              abs_h > kMaxImageSide ? kMaxImageSide + 1 : static_cast<int>(abs_h), name);
  ImageHeader out;
  out.format = ImageHeader::Format::Bmp;
  out.width = static_cast<int>(w);
  out.height = static_cast<int>(abs_h);
  return out;
}

}  // namespace

ImageHeader check_image_header(const uint8_t* data, size_t size, const std::string& name) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (data == nullptr || size == 0) bad(name, "the file is empty (0 bytes)");
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return jpeg_header(data, size, name);
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) return png_header(data, size, name);
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return bmp_header(data, size, name);
  if (size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0) {
    ImageHeader h;
    h.format = ImageHeader::Format::Webp;
    return h;
  }
  bad(name, "not a JPEG, PNG, BMP or WebP image (its first bytes match none of them)");
}

}  // namespace cma::data
